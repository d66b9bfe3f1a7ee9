"""The printed pages' frame (print_page: A4, fonts, KaTeX) and a chapter's answer key (the quiz's
answers with their feedback, the folded answers of the chapter's questions, the exercises with
their solutions). The worksheet is kit/worksheet.py, the whole edition kit/course.py; Chromium
prints them all to PDF (kit/pdf.py)."""

from __future__ import annotations

import html

from .. import quizzes
from ..cells import EXERCISES, find, is_solution
from .render import KATEX, KATEX_RUN, Renderer, pygments_css
from .words import FONTS, MONO, WORDS, lang

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
body { font-family: %(font)s; font-size: 10.5pt; line-height: 1.45; color: #111; }
h1 { font-size: 19pt; margin: 0 0 4pt 0; } h2 { font-size: 14pt; margin-top: 14pt; } h3 { font-size: 12pt; }
.chapter + .chapter, .page-break { break-before: page; }
.note { color: #555; font-style: italic; margin-bottom: 10pt; }
pre, code { font-family: %(mono)s; font-size: 8.3pt; }
pre { white-space: pre-wrap; word-break: break-word; margin: 3pt 0; }
.highlight pre { background: #f6f8fa; padding: 5pt; border-radius: 3pt; }
pre.output { border-left: 2pt solid #bbb; padding: 2pt 6pt; }
img.output { max-width: 100%%; max-height: 120mm; display: block; margin: 4pt 0; }
.code, .md { break-inside: auto; } img, .highlight { break-inside: avoid; }
table { border-collapse: collapse; font-size: 9pt; } td, th { border: 0.5pt solid #bbb; padding: 2pt 5pt; }
blockquote { margin: 6pt 0; padding: 4pt 10pt; background: #f4f6fa; border-left: 3pt solid #7a9cc6; }
details > summary { font-weight: bold; }
.quiz-print .q { font-weight: bold; margin-bottom: 2pt; } .quiz-print li { margin-bottom: 8pt; break-inside: avoid; }
.quiz-print ul.choices { list-style: none; padding-left: 8pt; margin: 2pt 0; }
.quiz-print .mark { display: inline-block; width: 14pt; } .quiz-print .fb { color: #444; font-size: 9.5pt; }
.quiz-print .see { color: #555; font-size: 9pt; margin: 0; } .quiz-print .answer { margin: 2pt 0; }
.widget-note { color: #666; font-style: italic; }
"""


def print_page(edition: str, title: str, chapters: list[str], links_site: str, extra_css: str = "") -> str:
    css = PRINT_CSS % {"font": FONTS[edition], "mono": MONO} + extra_css
    v = links_site
    return f"""<!doctype html>
<html lang="{lang(edition)}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
{KATEX.format(v=v)}
<style>{pygments_css()}{css}</style>
</head><body>
{"".join(chapters)}
<script>window.addEventListener("load", () => {{ {KATEX_RUN} document.body.dataset.ready = "1"; }});</script>
</body></html>
"""


def answers_body(nb, edition: str, site: str, quiz) -> str:
    r = Renderer(edition, site)
    w = WORDS[edition]
    parts = [r.cell(nb.cells[0]), f'<p class="note">{w["ak_note"]}</p>']
    if quiz:
        parts.append(f"<h2>{w['quiz']}</h2>{quizzes.printable(quiz, with_answers=True)}")
    start = find(nb, EXERCISES)
    folded = [
        c
        for c in nb.cells[: start if start is not None else len(nb.cells)]
        if c.cell_type == "markdown" and "<details" in c.source and not is_solution(c)
    ]
    if folded:
        parts.append(f"<h2>{w['questions']}</h2>")
        parts += [r.cell(c, open_details=True) for c in folded]
    # The exercises section, and any solution (with the cell before it, its prompt) found elsewhere.
    shown = set(range(start, len(nb.cells))) if start is not None else set()
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) and i not in shown:
            shown |= {i - 1, i} if i > 0 and not is_solution(nb.cells[i - 1]) else {i}
    if shown:
        parts.append(f'<h2 class="page-break">{w["exercises"]}</h2>')
        for cell in (nb.cells[i] for i in sorted(shown)):
            text = r.cell(cell, open_details=True)
            if cell.cell_type == "markdown":
                text = text.replace("<h2>", "<h3>").replace("</h2>", "</h3>")
            parts.append(text)
    return f'<section class="chapter">{"".join(parts)}</section>'
