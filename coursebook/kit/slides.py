"""A chapter's lecture slides: its deck (kit/slides/<edition>/NN_name.md, read by kit.deck) as a
reveal.js page at 1280x720.

The title slide comes from the deck's front matter (the chapter title, the question the lecture
answers). Each content slide is its heading, its text, and its one figure, code or output block,
laid out so the figure takes most of the slide: beside the text when the figure is tall enough
that a column gives it more room, under the text otherwise. Code is set at 24 px, printed output
at the largest size from 28 px down to 20 px at which its longest line fits the slide's width
(longer lines wrap). The notes go into reveal.js's speaker notes (`S` opens the speaker view; its
plugin is vendored with reveal.js). Math is typeset by the vendored KaTeX on the slides; in the
notes it stays as written, `$...$`, since the speaker view has no KaTeX.
"""

from __future__ import annotations

import html
import math

from markdown_it import MarkdownIt

from .deck import Cells, Deck, Figure
from .render import KATEX, KATEX_RUN, Renderer, pygments_css
from .words import FONTS, MONO, WORDS, lang

SLIDE_W, SLIDE_H = 1280, 720
PAD_X, PAD_TOP, PAD_BOTTOM = 40, 26, 34
INNER_W = SLIDE_W - 2 * PAD_X
CODE_PX = 24
OUTPUT_PX = (20, 28)  # output blocks: the largest size in this range at which the longest line fits
MONO_EM = 0.602  # the advance of DejaVu Sans Mono, in em
TEXT_PX = 32
SIDE_TEXT_W = 0.36  # the text column's share of the width when a figure stands beside it

SLIDES_CSS = """
.reveal { font-family: %(font)s; font-size: %(text)dpx; color: #1d1d1f; }
.reveal .slides > section { height: 100%%; box-sizing: border-box; padding: %(top)dpx %(x)dpx %(bottom)dpx;
  text-align: left; }
.reveal .slide { display: flex; flex-direction: column; height: 100%%; }
.reveal h1, .reveal h2 { font-family: %(font)s; text-transform: none; letter-spacing: 0; color: #1d1d1f; }
.reveal h2 { font-size: 44px; font-weight: 700; line-height: 1.15; margin: 0 0 18px 0; flex: none;
  border-bottom: 3px solid #2c5d8a; padding-bottom: 8px; }
.reveal .body { display: flex; gap: 28px; flex: 1 1 auto; min-height: 0; }
.reveal .body.stack { flex-direction: column; gap: 12px; }
.reveal .body.side { flex-direction: row; align-items: stretch; }
.reveal .text { flex: 1 1 auto; min-width: 0; }
.reveal .body.stack .text { flex: none; }
.reveal .body.side .text { flex: none; width: %(side)d%%; align-self: center; }
.reveal .body.text-only .text { font-size: 36px; }
.reveal .text p, .reveal .text li { line-height: 1.3; margin: 0 0 0.35em 0; }
.reveal .text ul, .reveal .text ol { display: block; margin: 0 0 0 1.1em; padding: 0; }
.reveal .text li { margin-bottom: 0.3em; }
.reveal .text .math { margin: 0.3em 0; }
.reveal code { font-family: %(mono)s; font-size: 0.9em; }
.reveal .media { flex: 1 1 auto; min-height: 0; min-width: 0; display: flex; align-items: center;
  justify-content: center; }
.reveal .media.figure img { width: 100%%; height: 100%%; max-width: none; max-height: none; object-fit: contain;
  margin: 0; }
.reveal .media.block { align-items: flex-start; justify-content: flex-start; }
.reveal .media pre { font-size: inherit; }
.reveal pre { width: 100%%; box-sizing: border-box; margin: 0; box-shadow: none; font-family: %(mono)s;
  line-height: 1.25; text-align: left; max-height: none; overflow: visible; }
.reveal pre code { font-size: inherit; padding: 0; max-height: none; overflow: visible; }
.reveal .media pre.code { background: #f6f8fa; padding: 12px 16px; border-radius: 6px; white-space: pre; }
.reveal .media pre.output { background: #fff; border-left: 4px solid #7a9cc6; padding: 6px 10px;
  white-space: pre; }
.reveal .media pre.output.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
.reveal .highlight { width: 100%%; }
.reveal .highlight pre { background: #f6f8fa; padding: 12px 16px; border-radius: 6px; }
.reveal table { font-size: 26px; border-collapse: collapse; margin: 0.2em 0; }
.reveal table th, .reveal table td { border-bottom: 1px solid #ccc; padding: 4px 12px; }
.reveal .title { display: flex; flex-direction: column; justify-content: center; height: 100%%; }
.reveal .title h1 { font-size: 60px; line-height: 1.15; margin: 0 0 36px 0; }
.reveal .title .question { font-size: 38px; line-height: 1.35; color: #2c5d8a; margin: 0 0 48px 0; }
.reveal .title .kit-links { font-size: 22px; color: #555; }
.reveal .title .kit-links a { color: #2c5d8a; }
"""

NOTES_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


def _blocks(tokens) -> list[list]:
    """The top-level blocks of a parsed Markdown text, each a list of tokens."""
    blocks, depth = [], 0
    for tok in tokens:
        if depth == 0:
            blocks.append([])
        blocks[-1].append(tok)
        depth += tok.nesting
    return blocks


def _is_figure(block) -> bool:
    """A paragraph that holds one image and nothing else."""
    if len(block) != 3 or block[0].type != "paragraph_open":
        return False
    children = [c for c in block[1].children or [] if not (c.type in ("text", "softbreak") and not c.content.strip())]
    return len(children) == 1 and children[0].type == "image"


def _text_lines(text_tokens, width: float, px: float) -> float:
    """About how many lines of `px` type the text blocks take in `width` pixels (CJK is 1 em a
    character, Latin about half)."""
    lines = 0.0
    for tok in text_tokens:
        if tok.type == "inline":
            ems = sum(1.0 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 0.52 for ch in tok.content)
            lines += max(1, math.ceil(ems * px / width)) + 0.3
        elif tok.type == "math_block":
            lines += 2.0
    return lines


def output_px(text: str, width: float = INNER_W - 26) -> tuple[int, bool]:
    """(font size, wrap): the largest size in OUTPUT_PX at which the longest line fits `width`; at
    the smallest size, lines that still do not fit wrap."""
    longest = max((len(line) for line in text.splitlines()), default=1)
    px = math.floor(width / (MONO_EM * max(longest, 1)))
    lo, hi = OUTPUT_PX
    return max(lo, min(hi, px)), px < lo


class SlideRenderer:
    """One deck's slides as HTML sections; the figures and outputs come from `cells`."""

    def __init__(self, deck: Deck, cells: Cells, site: str):
        self.deck, self.cells = deck, cells
        self.md = Renderer(deck.edition, site)

    def figure(self, ref: str, alt: str) -> tuple[str, Figure]:
        cell_id, _, number = ref.removeprefix("cell:").partition("#")
        fig = self.cells.figure(cell_id, int(number or 1))
        if fig.mime == "image/svg+xml":
            src = "data:image/svg+xml;charset=utf-8," + html.escape(fig.data.replace("\n", " "), quote=True)
        else:
            src = f"data:{fig.mime};base64,{fig.data}"
        return f'<img alt="{html.escape(alt, quote=True)}" src="{src}">', fig

    def block(self, tok) -> str:
        """A fenced block: an output reference or code written in the deck."""
        info = tok.info.strip()
        if info.startswith("output"):
            fields = dict(part.split("=", 1) for part in info.split()[1:] if "=" in part)
            span = tuple(int(x) for x in fields["lines"].split("-")) if "lines" in fields else None
            text = self.cells.text(fields["cell"], span)  # type: ignore[arg-type]
            px, wrap = output_px(text)
            cls = "output wrap" if wrap else "output"
            return f'<pre class="{cls}" style="font-size:{px}px">{html.escape(text)}</pre>'
        code = self.md.code(tok.content.rstrip("\n"))
        return f'<div class="code-block" style="font-size:{CODE_PX}px">{code}</div>'

    def slide(self, body_md: str) -> str:
        tokens = self.md.md_parser().parse(body_md)
        heading, text_tokens, media, layout_hint = "", [], [], None
        for block in _blocks(tokens):
            first = block[0]
            if first.type == "heading_open" and not heading:
                heading = block[1].content
            elif _is_figure(block):
                img = next(c for c in block[1].children if c.type == "image")
                tag, fig = self.figure(img.attrGet("src") or "", img.content)
                media.append(("figure", tag))
                layout_hint = fig
            elif first.type == "fence":
                media.append(("block", self.block(first)))
            else:
                text_tokens += block
        text_html = self.md.render_tokens(text_tokens) if text_tokens else ""
        title = self.md.inline(heading)
        if not media:
            body = f'<div class="body text-only"><div class="text">{text_html}</div></div>'
            return f'<div class="slide"><h2>{title}</h2>{body}</div>'
        layout = "stack"
        if isinstance(layout_hint, Figure) and layout_hint.width and len(media) == 1 and text_tokens:
            layout = self.figure_layout(layout_hint, text_tokens)
        parts = [f'<div class="text">{text_html}</div>'] if text_html else []
        parts += [f'<div class="media {kind}">{tag}</div>' for kind, tag in media]
        return f'<div class="slide"><h2>{title}</h2><div class="body {layout}">{"".join(parts)}</div></div>'

    @staticmethod
    def figure_layout(fig: Figure, text_tokens) -> str:
        """'side' when a figure beside the text column shows larger than one under the text."""
        aspect = fig.width / fig.height
        avail_h = SLIDE_H - PAD_TOP - PAD_BOTTOM - 80  # the heading
        stack_h = avail_h - _text_lines(text_tokens, INNER_W, TEXT_PX) * TEXT_PX * 1.3 - 12
        stack_w = min(INNER_W, max(stack_h, 0) * aspect)
        side_w = min(INNER_W * (1 - SIDE_TEXT_W) - 28, avail_h * aspect)
        side_lines = _text_lines(text_tokens, INNER_W * SIDE_TEXT_W, TEXT_PX)
        if side_lines * TEXT_PX * 1.3 > avail_h:
            return "stack"  # the text would not fit in a column
        return "side" if side_w > stack_w * 1.05 else "stack"

    def sections(self, links: dict) -> list[str]:
        d, w = self.deck, WORDS[self.deck.edition]
        items = [f'<a href="{links["chapter"]}">{w["chapter"]}</a>']
        if links.get("quiz"):
            items.append(f'<a href="{links["quiz"]}">{w["quiz"]}</a>')
        items.append(f'<a href="{links["colab"]}">{w["colab"]}</a>')
        title = (
            f'<section class="title-slide"><div class="title"><h1>{self.md.inline(d.title)}</h1>'
            f'<p class="question">{self.md.inline(d.question)}</p>'
            f'<p class="kit-links">{" · ".join(items)}</p></div></section>'
        )
        out = [title]
        for s in d.slides:
            notes = NOTES_MD.render(s.notes) if s.notes else ""
            aside = f'<aside class="notes">{notes}</aside>' if notes else ""
            out.append(f'<section data-slide="{s.number}">{self.slide(s.body)}{aside}</section>')
        return out


def slides_page(deck: Deck, cells: Cells, links: dict) -> str:
    ed = deck.edition
    r = SlideRenderer(deck, cells, links["site"])
    sections = r.sections(links)
    v = links["vendor"]
    css = SLIDES_CSS % {
        "font": FONTS[ed],
        "mono": MONO,
        "text": TEXT_PX,
        "top": PAD_TOP,
        "bottom": PAD_BOTTOM,
        "x": PAD_X,
        "side": round(SIDE_TEXT_W * 100),
    }
    # KaTeX typesets the slides, not the speaker notes (the speaker view has no KaTeX stylesheet).
    katex_run = KATEX_RUN.replace("throwOnError: false", 'throwOnError: false, ignoredClasses: ["notes"]')
    return f"""<!doctype html>
<html lang="{lang(ed)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(deck.title)} · {WORDS[ed]["slides"]}</title>
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
<script src="{v}/reveal.js/plugin/notes.js"></script>
<script>
window.addEventListener("load", () => {{
  {katex_run}
  Reveal.initialize({{hash: true, center: false, width: {SLIDE_W}, height: {SLIDE_H}, margin: 0,
    minScale: 0.2, maxScale: 2.0, slideNumber: "c/t", controls: false, transition: "none", plugins: [RevealNotes]}});
}});
</script>
</body></html>
"""
