"""A chapter's reveal.js slides, chosen by tags so they never drift from the chapter.

Cell 0 (the title), the learning objectives and the exercises' heading cell are always on slides,
and every cell tagged `slide` (markdown: the cell; code: its source and outputs) is one slide, in
notebook order. A cell tagged both `slide` and `solution` is an error."""

from __future__ import annotations

import html

from ..cells import EXERCISES, OBJECTIVES, find, is_solution, tags, title_of
from .render import KATEX, KATEX_RUN, Renderer, pygments_css
from .words import FONTS, MONO, WORDS, lang

SLIDE_TAG = "slide"


def slide_indices(nb, where: str) -> list[int]:
    """The cells on slides: cell 0, the objectives, the exercises' heading, every cell tagged `slide`."""
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
