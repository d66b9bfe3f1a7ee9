"""Readable section anchors on the zh pages: a Sphinx extension, loaded by name through
_config.yml's sphinx.extra_extensions (coursebook.sphinx.zh_anchors).

docutils makes a section's id from its title in ASCII letters, so a Chinese heading gets `#id1`,
`#id2`, ... Every zh page has an en twin with the same sections in the same order (the parity
check keeps the chapters in lockstep), so a zh section takes the id its en twin's section gets:
`notebooks/zh/06_rope.html#without-a-position-signal-attention-is-blind-to-order`, the same
anchor as on the en page. The en headings are read from the twin's source (markdown cells of the
notebook, or the .md page) and turned into ids as docutils does (nodes.make_id); a title that
repeats gets -2, -3, ... When the two pages do not have the same number of sections, the zh page
keeps docutils' ids, and `coursebook browser-check` lists the page.

Runs before Sphinx's table-of-contents collector, so the page's contents and the sidebars link
the new ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

AUTO_ID = re.compile(r"^id\d+$")
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def _twin_source(app, docname: str) -> Path | None:
    parts = docname.split("/")
    if len(parts) < 3 or parts[0] not in ("notebooks", "book") or parts[1] != "zh":
        return None
    twin = "/".join([parts[0], "en", *parts[2:]])
    for suffix in (".ipynb", ".md"):
        path = Path(app.srcdir) / (twin + suffix)
        if path.exists():
            return path
    return None


def _markdown_texts(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return [FRONT_MATTER.sub("", path.read_text(encoding="utf-8"))]


def heading_texts(path: Path) -> list[str]:
    """The plain text of every heading in a markdown page or a notebook's markdown cells, in order
    (what docutils' title.astext() gives: code and math as written, markup dropped)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark").use(dollarmath_plugin)
    titles = []
    for text in _markdown_texts(path):
        tokens = md.parse(text)
        for i, token in enumerate(tokens):
            if token.type != "heading_open":
                continue
            inline = tokens[i + 1]
            parts = [
                child.content
                for child in inline.children or []
                if child.type in ("text", "code_inline", "math_inline", "softbreak")
            ]
            titles.append(" ".join("".join(parts).split()))
    return titles


def section_ids(titles: list[str]) -> list[str]:
    """An id per title, as docutils makes it, a repeated one numbered: question, question-2, ..."""
    ids, seen = [], {}
    for title in titles:
        base = nodes.make_id(title) or "section"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _rename(doctree, section, old: str, new: str) -> None:
    section["ids"] = [new if i == old else i for i in section["ids"]]
    doctree.ids.pop(old, None)
    doctree.ids[new] = section
    for name, target in list(doctree.nameids.items()):
        if target == old:
            doctree.nameids[name] = new
    for node in doctree.findall(nodes.Element):
        if node.get("refid") == old:
            node["refid"] = new


def _readable_anchors(app, doctree):
    source = _twin_source(app, app.env.docname)
    if source is None:
        return
    app.env.note_dependency(str(source))
    # the sections the author wrote (the quiz section that coursebook.sphinx.kit adds has its own id)
    sections = [s for s in doctree.findall(nodes.section) if "chapter-quiz" not in s["ids"]]
    titles = heading_texts(source)
    if len(titles) != len(sections):
        logger.info(
            f"zh_anchors: {app.env.docname} has {len(sections)} sections, its twin {len(titles)}: ids left as they are"
        )
        return
    taken = set(doctree.ids)
    for section, new in zip(sections, section_ids(titles), strict=True):
        auto = [i for i in section["ids"] if AUTO_ID.match(i) or i == nodes.make_id(section[0].astext())]
        if not auto or new in section["ids"]:
            continue
        if new in taken:
            continue  # an explicit label of the page already has it
        _rename(doctree, section, auto[0], new)
        taken.add(new)


def setup(app):
    # After coursebook.sphinx.kit (400, the quiz section), before the TOC collector (500).
    app.connect("doctree-read", _readable_anchors, priority=450)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
