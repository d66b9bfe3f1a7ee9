"""Build the teaching kit of every chapter in both editions: slides, quizzes, handouts and PDFs.

    python scripts/make_kit.py                      # into _build/html/kit: the built site serves it
    python scripts/make_kit.py --out /tmp/kit --chapters 01_parameters --editions zh
    make kit                                        # the book, this script, then the browser check

Every chapter is found by glob (notebooks/<edition>/NN_name.ipynb), so adding a chapter adds its
kit. Nothing is executed: the kit is made from the notebooks' committed outputs, offline. What it
writes, with OUT = --out (default _build/html/kit, i.e. <site>/kit/ of the built book):

  OUT/index.html                              the kit of every chapter, both editions, one page
  OUT/slides/<ed>/<NN_name>.html              reveal.js slides of the chapter
  OUT/quizzes/<ed>/<NN_name>.html             the chapter's quiz (jupyterquiz), no kernel needed;
                                              the same quiz closes the chapter page in the book
  OUT/handouts/<ed>/<NN_name>-worksheet.pdf   the chapter without its solutions, and the quiz
                                              without answers
  OUT/handouts/<ed>/<NN_name>-answers.pdf     answer key: the quiz's answers with their feedback,
                                              the answers folded in the chapter's questions, and
                                              the exercises with their solutions
  OUT/handouts/<ed>/course.pdf                the whole edition: every chapter, without solutions
  OUT/vendor/                                 reveal.js 6.0.2 and KaTeX 0.19.1 (MIT, from npm,
                                              vendored in kit/vendor with their licenses)

Slides are chosen by tags, so they never drift from the chapter: cell 0 (the title), the learning
objectives and the exercises' heading cell are always on slides, and every cell tagged `slide`
(markdown: the cell; code: its source and outputs) is one slide, in notebook order. A cell tagged
both `slide` and `solution` is an error. Quizzes: kit/quizzes/<ed>/<NN_name>.json (format and
checks: scripts/quizzes.py); a chapter without one gets no quiz page and says so.

PDFs are printed by the system Chromium through Playwright (the browser check's; no browser
download), with KaTeX for the math and the CJK font WenQuanYi Micro Hei (Debian fonts-wqy-microhei,
installed by scripts/ensure_chromium.sh as root) for the zh edition. Checks on what was written,
each failing the run: the quizzes are valid and the editions' quizzes agree; no line of a solution
cell and no quiz feedback is in a worksheet's text (pdftotext), while every solution line is in
the answer key (so the check can fail); every zh PDF embeds a CJK font (pdffonts). Both tools are
Debian's poppler-utils (scripts/ensure_chromium.sh installs it as root).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quizzes  # noqa: E402
from book_common import EDITIONS, NOTEBOOKS, ROOT, chapter_notebooks, colab_url, repository  # noqa: E402
from check_parity import strip_comments  # noqa: E402

VENDOR = ROOT / "kit" / "vendor"
SLIDE_TAG = "slide"
OBJECTIVES = re.compile(r"^##\s+(What you will learn|Learning objectives|学习目标|本章目标)\s*$", re.MULTILINE)
EXERCISES = re.compile(r"^##\s+(Exercises|练习)\s*$", re.MULTILINE)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CJK_FONT = re.compile(
    r"WenQuanYi|wqy|Noto\s*Sans\s*CJK|NotoSansCJK|Source\s*Han|SourceHan|Droid\s*Sans\s*Fallback", re.IGNORECASE
)

WORDS = {
    "en": {
        "slides": "Slides",
        "quiz": "Quiz",
        "worksheet": "Worksheet (PDF)",
        "answers": "Answer key (PDF)",
        "course": "The whole edition (PDF)",
        "chapter": "Chapter page",
        "colab": "Open in Colab",
        "ws_note": "Worksheet: the chapter without its solutions.",
        "ak_note": "Answer key: the quiz, the chapter's questions and the exercises, with their answers.",
        "questions": "Questions in the chapter",
        "widget": "(an interactive widget: run the notebook to use it)",
        "no_quiz": "no quiz yet",
        "kit": "Teaching kit",
        "edition": "English edition",
        "colab_quiz": "In Colab or Jupyter, this quiz runs in one cell:",
        "exercises": "Exercises, with solutions",
        "end": "Exercises and the quiz close the chapter.",
    },
    "zh": {
        "slides": "幻灯片",
        "quiz": "小测验",
        "worksheet": "练习讲义（PDF）",
        "answers": "答案（PDF）",
        "course": "整本中文版（PDF）",
        "chapter": "本章网页",
        "colab": "在 Colab 中打开",
        "ws_note": "练习讲义：去掉了解答的本章内容。",
        "ak_note": "答案：小测验、章内问题和练习，附答案。",
        "questions": "章内的问题",
        "widget": "（交互控件：运行笔记本即可使用）",
        "no_quiz": "暂无小测验",
        "kit": "教学资料",
        "edition": "中文版",
        "colab_quiz": "在 Colab 或 Jupyter 中，一个单元格就能做这份小测验：",
        "exercises": "练习与解答",
        "end": "本章最后是练习和小测验。",
    },
}


# ----------------------------------------------------------------------------- rendering
def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    def math(content, info):
        tex = html.escape(content)
        return f'<div class="math">\\[{tex}\\]</div>' if info.get("display_mode") else f"\\({tex}\\)"

    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    dollarmath_plugin(md, double_inline=True, renderer=math)
    return md


MD = _markdown()
LINK = re.compile(r'href="(?!https?:|mailto:|#)([^"]+?)\.(ipynb|md)(#[^"]*)?"')


class Renderer:
    """Cells to HTML for one chapter; `site` is the relative URL of the book's root from the page
    being written, so links between chapters point at the book's pages."""

    def __init__(self, edition: str, site: str):
        self.edition, self.site = edition, site.rstrip("/") + "/"

    def markdown(self, src: str, open_details: bool = False) -> str:
        text = "\n".join(line for line in src.splitlines() if "colab-badge.svg" not in line)
        out = MD.render(text)

        def link(m):
            target = os.path.normpath(os.path.join("notebooks", self.edition, m.group(1))).replace(os.sep, "/")
            return f'href="{self.site}{target}.html{m.group(3) or ""}"'

        out = LINK.sub(link, out)
        if open_details:
            out = out.replace("<details>", "<details open>")
        return out

    @staticmethod
    def code(src: str) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        return highlight(src, PythonLexer(), HtmlFormatter(cssclass="highlight"))

    def outputs(self, cell) -> str:
        parts = []
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "stream":
                parts.append(f'<pre class="output {o.get("name", "")}">{html.escape(o.get("text", ""))}</pre>')
            elif kind == "error":
                parts.append(
                    f'<pre class="output error">{html.escape(o.get("ename", ""))}: '
                    f"{html.escape(o.get('evalue', ''))}</pre>"
                )
            elif kind in ("display_data", "execute_result"):
                data = o.get("data", {})
                if WIDGET_MIME in data:
                    parts.append(f'<p class="widget-note">{WORDS[self.edition]["widget"]}</p>')
                elif "image/png" in data:
                    raw = data["image/png"]
                    raw = raw if isinstance(raw, str) else "".join(raw)
                    parts.append(f'<img class="output" alt="figure" src="data:image/png;base64,{raw.strip()}">')
                elif "image/svg+xml" in data:
                    parts.append(f'<div class="output">{"".join(data["image/svg+xml"])}</div>')
                elif "text/html" in data:
                    parts.append(f'<div class="output html">{"".join(data["text/html"])}</div>')
                elif "text/plain" in data:
                    parts.append(f'<pre class="output">{html.escape("".join(data["text/plain"]))}</pre>')
        return "".join(parts)

    def cell(self, cell, open_details: bool = False) -> str:
        if cell.cell_type == "markdown":
            return f'<div class="md">{self.markdown(cell.source, open_details)}</div>'
        if cell.cell_type == "code":
            return f'<div class="code">{self.code(cell.source)}{self.outputs(cell)}</div>'
        return ""


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def is_solution(cell) -> bool:
    return "solution" in tags(cell)


def find(nb, pattern: re.Pattern) -> int | None:
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and pattern.search(c.source):
            return i
    return None


def title_of(nb) -> str:
    first = nb.cells[0].source.strip().splitlines()[0] if nb.cells else ""
    return first.lstrip("#").strip()


def slide_indices(nb, where: str) -> list[int]:
    chosen = {0}
    for pattern in (OBJECTIVES, EXERCISES):
        i = find(nb, pattern)
        if i is not None:
            chosen.add(i)
    for i, c in enumerate(nb.cells):
        if SLIDE_TAG in tags(c):
            if is_solution(c):
                raise SystemExit(
                    f"{where}: cell {i} is tagged both `slide` and `solution`; a solution never goes "
                    "on a slide: remove the `slide` tag"
                )
            chosen.add(i)
    return sorted(i for i in chosen if not is_solution(nb.cells[i]))


def vendor(out: Path) -> None:
    if not (VENDOR / "reveal.js" / "reveal.js").exists():
        raise SystemExit(f"{VENDOR} is incomplete: kit/vendor/reveal.js and kit/vendor/katex come with the repository")
    shutil.copytree(VENDOR, out / "vendor", dirs_exist_ok=True)


KATEX = """<link rel="stylesheet" href="{v}/katex/katex.min.css">
<script defer src="{v}/katex/katex.min.js"></script>
<script defer src="{v}/katex/contrib/auto-render.min.js"></script>"""
KATEX_RUN = """renderMathInElement(document.body, {delimiters: [{left: "\\\\[", right: "\\\\]", display: true},
  {left: "\\\\(", right: "\\\\)", display: false}], throwOnError: false});"""


def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


FONTS = {
    "en": '"DejaVu Sans", "Liberation Sans", Helvetica, Arial, "WenQuanYi Micro Hei", sans-serif',
    "zh": '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", sans-serif',
}
MONO = '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, "WenQuanYi Micro Hei Mono", monospace'


def lang(edition: str) -> str:
    return "zh-CN" if edition == "zh" else "en"


SLIDES_CSS = """
.reveal { font-family: %(font)s; font-size: 30px; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; font-family: %(font)s; }
.reveal h1 { font-size: 1.6em; } .reveal h2 { font-size: 1.25em; } .reveal h3 { font-size: 1.05em; }
.reveal .slides section { text-align: left; height: 100%%; overflow-y: auto; }
.reveal .slides section.dense { font-size: 0.8em; }
.reveal .slides section.title-slide { text-align: center; }
.reveal p, .reveal li { line-height: 1.35; }
.reveal ul, .reveal ol { display: block; }
.reveal pre { width: 100%%; font-size: 0.6em; box-shadow: none; margin: 0.4em 0; font-family: %(mono)s; }
.reveal .highlight pre { background: #f6f8fa; padding: 0.5em; max-height: 14em; overflow: auto; }
.reveal pre.output { max-height: 12em; overflow: auto; background: #fff; border-left: 3px solid #ccc;
  padding: 0.3em 0.6em; white-space: pre-wrap; }
.reveal img.output { max-height: 52vh; margin: 0.2em auto; display: block; }
.reveal .output.html table { font-size: 0.55em; }
.reveal blockquote { width: 95%%; font-style: normal; background: #f4f6fa; font-size: 0.85em; padding: 0.4em 0.8em; }
.reveal details summary { cursor: pointer; color: #2a76dd; }
.reveal .kit-links { font-size: 0.7em; } .reveal .kit-links a { margin: 0 0.4em; }
.reveal .widget-note { color: #666; font-style: italic; font-size: 0.7em; }
"""

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


def slides_page(nb, edition: str, name: str, links: dict) -> str:
    r = Renderer(edition, links["site"])
    where = f"notebooks/{edition}/{name}.ipynb"
    sections = []
    for i in slide_indices(nb, where):
        cell = nb.cells[i]
        body = r.cell(cell)
        classes = []
        if i == 0:
            classes.append("title-slide")
            w = WORDS[edition]
            items = [f'<a href="{links["chapter"]}">{w["chapter"]}</a>']
            if links.get("quiz"):
                items.append(f'<a href="{links["quiz"]}">{w["quiz"]}</a>')
            items.append(f'<a href="{links["colab"]}">{w["colab"]}</a>')
            body += f'<p class="kit-links">{" · ".join(items)}</p>'
        elif len(cell.source) > 900 or (cell.cell_type == "code" and len(cell.source) > 500):
            classes.append("dense")
        sections.append(f'<section class="{" ".join(classes)}" data-cell="{i}">{body}</section>')
    v = links["vendor"]
    css = SLIDES_CSS % {"font": FONTS[edition], "mono": MONO}
    return f"""<!doctype html>
<html lang="{lang(edition)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title_of(nb))} · {WORDS[edition]["slides"]}</title>
<link rel="stylesheet" href="{v}/reveal.js/reset.css">
<link rel="stylesheet" href="{v}/reveal.js/reveal.css">
<link rel="stylesheet" href="{v}/reveal.js/theme/white.css">
{KATEX.format(v=v)}
<style>{pygments_css()}{css}</style>
</head><body>
<div class="reveal"><div class="slides">
{chr(10).join(sections)}
</div></div>
<script src="{v}/reveal.js/reveal.js"></script>
<script>
Reveal.initialize({{hash: true, center: false, width: 1280, height: 760, margin: 0.04, slideNumber: "c/t",
  transition: "none"}});
window.addEventListener("load", () => {{ {KATEX_RUN} }});
</script>
</body></html>
"""


def print_page(edition: str, title: str, chapters: list[str], links_site: str) -> str:
    css = PRINT_CSS % {"font": FONTS[edition], "mono": MONO}
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


def worksheet_body(nb, edition: str, site: str, quiz, note: bool = True, open_details: bool = False) -> str:
    r = Renderer(edition, site)
    w = WORDS[edition]
    parts = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) or (cell.cell_type == "code" and "skip-execution" in tags(cell) and i <= 1):
            continue  # solutions; the Colab install cell
        parts.append(r.cell(cell, open_details=open_details))
        if i == 0 and note:
            parts.append(f'<p class="note">{w["ws_note"]}</p>')
    if quiz:
        parts.append(f"<h2>{w['quiz']}</h2>{quizzes.printable(quiz, with_answers=False)}")
    return f'<section class="chapter">{"".join(parts)}</section>'


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


def quiz_page(edition: str, name: str, title: str, quiz, links: dict) -> str:
    w = WORDS[edition]
    url, branch = repository()
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/")
    raw += f"/{branch}/kit/quizzes/{edition}/{name}.json"
    snippet = f'%pip install -q jupyterquiz\nfrom jupyterquiz import display_quiz\ndisplay_quiz("{raw}")'
    return f"""<!doctype html>
<html lang="{lang(edition)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)} · {w["quiz"]}</title>
<style>body {{ font-family: {FONTS[edition]}; max-width: 760px; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
pre {{ background: #f6f8fa; padding: 0.6em; overflow-x: auto; font-family: {MONO}; }}</style>
</head><body>
<h1>{html.escape(title)} · {w["quiz"]}</h1>
<p><a href="{links["chapter"]}">{w["chapter"]}</a> · <a href="{links["slides"]}">{w["slides"]}</a></p>
{quizzes.render(quiz, "kitquiz", edition=edition)}
<p>{w["colab_quiz"]}</p>
<pre>{html.escape(snippet)}</pre>
</body></html>
"""


# ----------------------------------------------------------------------------- PDF and checks
def print_pdfs(jobs: list[tuple[Path, Path]]) -> None:
    """Print each (html, pdf) with the system Chromium (the browser check's launcher)."""
    from browser_check import launch
    from playwright.sync_api import sync_playwright

    footer = (
        '<div style="font-size:8px;width:100%;text-align:center;color:#777">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    )
    with sync_playwright() as p:
        browser, _ = launch(p)
        page = browser.new_page()
        for src, pdf in jobs:
            page.goto(src.resolve().as_uri(), wait_until="load", timeout=120_000)
            page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
            page.evaluate("document.fonts.ready.then(() => true)")
            page.pdf(
                path=str(pdf),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        browser.close()


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SystemExit(
            f"{name} is missing: install Debian's poppler-utils (apt-get install poppler-utils; "
            "scripts/ensure_chromium.sh does it as root), or pass --no-pdf to skip the PDFs"
        )
    return path


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        [tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def squash(text: str) -> str:
    """Text without whitespace and hyphens, to compare code with what pdftotext extracts: a line
    wrapped in print comes back in pieces, and a hyphen at a line's end is dropped."""
    return re.sub(r"[\s\-\u00ad]+", "", text)


def solution_lines(nb) -> list[str]:
    """Distinctive lines of the solution cells (code, and the prose of written solutions): at least
    12 characters, and not also in a cell the reader is meant to see."""
    shown = squash("\n".join(c.source for c in nb.cells if not is_solution(c)))
    lines = []
    for c in nb.cells:
        if not is_solution(c):
            continue
        # Code without its comments: print sets a comment apart, and pdftotext may read it elsewhere.
        source = strip_comments(c.source) if c.cell_type == "code" else c.source.splitlines()
        for line in source:
            line = line.strip()
            if c.cell_type == "markdown":
                line = re.sub(r"<[^>]+>|[*`_#>]", "", line).strip()
            if len(squash(line)) >= 12 and not line.startswith("#") and squash(line) not in shown:
                lines.append(line)
    return lines


def check_handouts(nb, quiz, worksheet: Path, answers: Path, where: str) -> list[str]:
    problems = []
    ws, ak = squash(pdf_text(worksheet)), squash(pdf_text(answers))
    code = squash("\n".join(c.source for c in nb.cells if is_solution(c) and c.cell_type == "code"))
    code_lines = [line for line in solution_lines(nb) if squash(line) in code]
    for line in solution_lines(nb):
        if squash(line) in ws:
            problems.append(f"{where}: the worksheet shows a solution line: {line!r}")
    for line in code_lines:
        if squash(line) not in ak:
            problems.append(f"{where}: the answer key lacks a solution line: {line!r}")
    for q in quiz or []:
        for a in q["answers"]:
            feedback = squash(re.sub(r"[`*_]", "", a["feedback"]))
            if len(feedback) >= 12 and feedback in ws:
                problems.append(f"{where}: the worksheet shows a quiz feedback: {a['feedback'][:60]!r}")
    return problems


def cjk_fonts(pdf: Path) -> list[str]:
    out = subprocess.run([tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        if cols and CJK_FONT.search(cols[0]) and "yes" in cols[-5:-2]:
            found.append(cols[0])
    return found


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--html",
        type=Path,
        default=ROOT / "_build" / "html",
        help="the built book (links from the kit to the chapters point into it)",
    )
    ap.add_argument("--out", type=Path, help="default: HTML/kit")
    ap.add_argument("--editions", nargs="+", choices=EDITIONS, default=list(EDITIONS))
    ap.add_argument("--chapters", nargs="+", metavar="NN_name", help="default: every chapter (by glob)")
    ap.add_argument("--no-pdf", action="store_true", help="slides and quizzes only (no Chromium, no poppler)")
    args = ap.parse_args(argv)
    out = (args.out or args.html / "kit").resolve()
    html_root = args.html.resolve()

    start = time.perf_counter()
    timings: dict[str, float] = {}
    names = sorted({p.stem for p in chapter_notebooks()})
    if args.chapters:
        unknown = sorted(set(args.chapters) - set(names))
        if unknown:
            raise SystemExit(f"no such chapter: {', '.join(unknown)} (chapters: {', '.join(names)})")
        names = args.chapters
    problems: list[str] = []

    # Quizzes: valid, their sections exist, zh and en agree.
    loaded: dict[tuple[str, str], list | None] = {}
    for name in names:
        for ed in EDITIONS:
            path = NOTEBOOKS / ed / f"{name}.ipynb"
            try:
                loaded[ed, name] = quizzes.load(ed, name)
            except ValueError as exc:
                problems.append(str(exc))
                loaded[ed, name] = None
                continue
            if loaded[ed, name] is not None:
                titles = quizzes.headings(nbformat.read(path, as_version=4))
                problems += quizzes.validate(loaded[ed, name], f"kit/quizzes/{ed}/{name}.json", titles)
        problems += quizzes.parity(loaded["zh", name], loaded["en", name], name)
    if problems:
        print("kit: quiz problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1

    out.mkdir(parents=True, exist_ok=True)
    vendor(out)
    jobs: list[tuple[Path, Path]] = []
    checks: list[tuple] = []
    built: dict[str, list[tuple[str, str, bool]]] = {ed: [] for ed in args.editions}
    t = time.perf_counter()
    for ed in args.editions:
        course_parts = []
        for name in names:
            nb = nbformat.read(NOTEBOOKS / ed / f"{name}.ipynb", as_version=4)
            quiz = loaded[ed, name]
            title = title_of(nb)
            for sub in ("slides", "quizzes", "handouts"):
                (out / sub / ed).mkdir(parents=True, exist_ok=True)
            site = os.path.relpath(html_root, out / "slides" / ed).replace(os.sep, "/")
            links = {
                "site": site,
                "vendor": "../../vendor",
                "chapter": f"{site}/notebooks/{ed}/{name}.html",
                "colab": colab_url(f"notebooks/{ed}/{name}.ipynb"),
                "quiz": f"../../quizzes/{ed}/{name}.html" if quiz else None,
                "slides": f"../../slides/{ed}/{name}.html",
            }
            (out / "slides" / ed / f"{name}.html").write_text(slides_page(nb, ed, name, links), encoding="utf-8")
            if quiz:
                (out / "quizzes" / ed / f"{name}.html").write_text(
                    quiz_page(ed, name, title, quiz, links), encoding="utf-8"
                )
            built[ed].append((name, title, bool(quiz)))
            if args.no_pdf:
                continue
            hdir = out / "handouts" / ed
            for kind, body in (
                ("worksheet", worksheet_body(nb, ed, site, quiz)),
                ("answers", answers_body(nb, ed, site, quiz)),
            ):
                page = hdir / f".{name}-{kind}.html"
                page.write_text(print_page(ed, f"{title} · {kind}", [body], "../../vendor"), encoding="utf-8")
                jobs.append((page, hdir / f"{name}-{kind}.pdf"))
            checks.append((nb, quiz, hdir / f"{name}-worksheet.pdf", hdir / f"{name}-answers.pdf", f"{ed}/{name}"))
            course_parts.append(worksheet_body(nb, ed, site, None, note=False, open_details=True))
        if not args.no_pdf and course_parts:
            page = out / "handouts" / ed / ".course.html"
            page.write_text(print_page(ed, "course", course_parts, "../../vendor"), encoding="utf-8")
            jobs.append((page, out / "handouts" / ed / "course.pdf"))
    timings["slides, quizzes, print pages"] = time.perf_counter() - t

    if jobs:
        t = time.perf_counter()
        print_pdfs(jobs)
        timings[f"{len(jobs)} PDFs (Chromium)"] = time.perf_counter() - t
        t = time.perf_counter()
        for args_ in checks:
            problems += check_handouts(*args_)
        for _, pdf in jobs:
            if "/zh/" in pdf.as_posix():
                if not cjk_fonts(pdf):
                    problems.append(
                        f"{pdf}: no embedded CJK font (pdffonts): Chinese would print as boxes; "
                        "install fonts-wqy-microhei"
                    )
        for page, _ in jobs:
            page.unlink()
        timings["checks (pdftotext, pdffonts)"] = time.perf_counter() - t

    write_index(out, built, html_root, no_pdf=args.no_pdf)
    total = time.perf_counter() - start
    n = sum(len(v) for v in built.values())
    print(f"kit: {n} chapter kits ({', '.join(args.editions)}) in {out}, {total:.1f} s")
    for what, seconds in timings.items():
        print(f"  {what}: {seconds:.1f} s")
    missing = [f"{ed}/{name}" for ed, items in built.items() for name, _, has in items if not has]
    if missing:
        print(f"  no quiz yet (kit/quizzes/<ed>/<name>.json): {', '.join(missing)}")
    if problems:
        print("kit check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if jobs:
        print(
            f"  checks passed: no solution line or quiz feedback in {len(checks)} worksheets, every solution line "
            f"in the answer keys, a CJK font embedded in every zh PDF"
        )
    return 0


def write_index(out: Path, built: dict, html_root: Path, no_pdf: bool) -> None:
    site = os.path.relpath(html_root, out).replace(os.sep, "/")
    rows = []
    for ed, items in built.items():
        w = WORDS[ed]
        rows.append(f'<h2 lang="{lang(ed)}">{w["edition"]}</h2><ul lang="{lang(ed)}">')
        for name, title, has_quiz in items:
            links = [
                f'<a href="{site}/notebooks/{ed}/{name}.html">{w["chapter"]}</a>',
                f'<a href="slides/{ed}/{name}.html">{w["slides"]}</a>',
                f'<a href="quizzes/{ed}/{name}.html">{w["quiz"]}</a>' if has_quiz else w["no_quiz"],
            ]
            if not no_pdf:
                links += [
                    f'<a href="handouts/{ed}/{name}-worksheet.pdf">{w["worksheet"]}</a>',
                    f'<a href="handouts/{ed}/{name}-answers.pdf">{w["answers"]}</a>',
                ]
            rows.append(f"<li>{html.escape(title)}: {' · '.join(links)}</li>")
        rows.append("</ul>")
        if not no_pdf:
            rows.append(f'<p><a href="handouts/{ed}/course.pdf">{w["course"]}</a></p>')
    (out / "index.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teaching kit · 教学资料</title>
<style>body {{ font-family: {FONTS["zh"]}; max-width: 900px; margin: 2em auto; padding: 0 1em; line-height: 1.6; }}
</style>
</head><body><h1>Teaching kit · 教学资料</h1>
<p>Built by <code>make kit</code> (scripts/make_kit.py) from the chapters' committed outputs.</p>
{"".join(rows)}
</body></html>
""",
        encoding="utf-8",
    )
    (out / "kit.json").write_text(
        json.dumps({ed: [n for n, _, _ in items] for ed, items in built.items()}, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    sys.exit(main())
