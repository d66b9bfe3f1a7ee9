"""How a chapter's code cells read on its page: a Sphinx extension, loaded by name through
_config.yml's sphinx.extra_extensions (coursebook.sphinx.chapter_cells). Nothing here changes a
notebook; Colab and Jupyter show the cells as they are.

1. The setup cells fold away. The code cells between the title and the first section (the Colab
   install cell and the device cell) move to the end of the first section ("What you will learn")
   inside one folded block, "Setup: ...": a chapter page opens with its title, the line of links
   and what the reader will learn.

2. A solution's toggle names it: a code cell tagged `solution` (folded by its `hide-cell` tag)
   opens with "Solution to exercise N" / "练习 N 参考答案" instead of myst-nb's "Show code cell
   content", N taken from the cell's Colab title line.

3. No Colab title line on the page: a first line `#@title ...` (what Colab shows as a form's
   title) is dropped from the code shown; the notebook keeps it.

4. Wide cells widen: a cell whose code or printed output is wider than the text column at
   1280 px (more than COLUMN monospace characters; a Chinese character counts two) gets the class
   `full-width`, which sphinx-book-theme draws over the table of contents (the contents fold to
   their title while such a block is on screen); book/_static/course.css sets the widths.
   `coursebook browser-check` measures the result.
"""

from __future__ import annotations

import re
import unicodedata

from docutils import nodes

# Monospace characters that fit in the text column at 1280 px (code at 13 px, measured 86 with
# DejaVu Sans Mono; two to spare for other fonts).
COLUMN = 84
COLAB_TITLE = re.compile(r"^[ \t]*#[ \t]*@title\b(?P<title>.*)(\n|$)")

WORDS = {
    "en": {
        "setup": "Setup: install minigpt (in Colab only), pick the device, fix the seeds",
        "solution": "Solution to exercise {n}",
        "solution_plain": "Solution",
        "hide_solution": "Hide the solution",
    },
    "zh": {
        "setup": "准备工作：安装 minigpt（仅在 Colab 中）、选择设备、固定随机种子",
        "solution": "练习 {n} 参考答案",
        "solution_plain": "参考答案",
        "hide_solution": "收起参考答案",
    },
}


class setup_fold(nodes.General, nodes.Element):
    """The folded block that holds a chapter's setup cells (HTML <details>)."""


def visit_setup_fold(self, node):
    self.body.append('<details class="setup-cells">\n')
    self.body.append(f"<summary>{self.encode(node['summary'])}</summary>\n")


def depart_setup_fold(self, node):
    self.body.append("</details>\n")


def _edition(docname: str) -> str | None:
    parts = docname.split("/")
    if len(parts) == 3 and parts[0] == "notebooks" and parts[1] in WORDS:
        return parts[1]
    return None


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def _source_block(cell) -> nodes.literal_block | None:
    for child in cell.children:
        if isinstance(child, nodes.container) and child.get("nb_element") == "cell_code_source":
            return next(iter(child.findall(nodes.literal_block)), None)
    return None


def display_width(line: str) -> int:
    """Columns a line takes in a monospace font: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _drop_colab_title(cell) -> str | None:
    """Remove a `#@title` first line from the cell's shown code; return the title's text."""
    block = _source_block(cell)
    if block is None:
        return None
    text = block.astext()
    match = COLAB_TITLE.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    block.rawsource = rest
    block.children = [nodes.Text(rest)]
    return match.group("title").strip()


def _fold_setup(doctree, edition: str) -> None:
    top = doctree.next_node(nodes.section)
    if top is None:
        return
    first = next((c for c in top.children if isinstance(c, nodes.section)), None)
    if first is None:
        return
    setup = [c for c in top.children[: top.index(first)] if _is_code_cell(c)]
    if not setup:
        return
    fold = setup_fold(summary=WORDS[edition]["setup"])
    for cell in setup:
        top.remove(cell)
        fold += cell
    first += fold


def _label_solution(cell, edition: str, title: str | None) -> None:
    if "tag_solution" not in cell.get("classes", []) or not cell.get("hide_mode"):
        return
    words = WORDS[edition]
    number = re.search(r"\d+", title or "")
    cell["prompt_show"] = words["solution"].format(n=number.group()) if number else words["solution_plain"]
    cell["prompt_hide"] = words["hide_solution"]


def _mark_wide(cell) -> None:
    widest = max(
        (display_width(line) for block in cell.findall(nodes.literal_block) for line in block.astext().splitlines()),
        default=0,
    )
    if widest > COLUMN and "full-width" not in cell["classes"]:
        cell["classes"].append("full-width")


def _chapter_cells(app, doctree):
    edition = _edition(app.env.docname)
    if edition is None:
        return
    for cell in list(doctree.findall(_is_code_cell)):
        title = _drop_colab_title(cell)
        _label_solution(cell, edition, title)
        _mark_wide(cell)
    _fold_setup(doctree, edition)


def setup(app):
    app.add_node(setup_fold, html=(visit_setup_fold, depart_setup_fold))
    app.connect("doctree-read", _chapter_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
