"""Notebook cells to HTML for the kit's pages: markdown with math (KaTeX in the page), highlighted
code, and the committed outputs (text, images, HTML tables; a widget becomes a note)."""

from __future__ import annotations

import html
import os
import re

from .words import WORDS

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


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

    def links(self, out: str) -> str:
        """Links to the chapters (NN_name.ipynb, page.md) pointed at the book's pages."""

        def link(m):
            target = os.path.normpath(os.path.join("notebooks", self.edition, m.group(1))).replace(os.sep, "/")
            return f'href="{self.site}{target}.html{m.group(3) or ""}"'

        return LINK.sub(link, out)

    @staticmethod
    def md_parser():
        return MD

    def render_tokens(self, tokens) -> str:
        return self.links(MD.renderer.render(tokens, MD.options, {}))

    def inline(self, text: str) -> str:
        return self.links(MD.renderInline(text))

    def markdown(self, src: str, open_details: bool = False) -> str:
        text = "\n".join(line for line in src.splitlines() if "colab-badge.svg" not in line)
        out = self.links(MD.render(text))
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


KATEX = """<link rel="stylesheet" href="{v}/katex/katex.min.css">
<script defer src="{v}/katex/katex.min.js"></script>
<script defer src="{v}/katex/contrib/auto-render.min.js"></script>"""
KATEX_RUN = """renderMathInElement(document.body, {delimiters: [{left: "\\\\[", right: "\\\\]", display: true},
  {left: "\\\\(", right: "\\\\)", display: false}], throwOnError: false});"""


def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")
