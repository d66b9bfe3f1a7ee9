"""How the book's pages read, from the Sphinx side: chapter cells (coursebook.sphinx.chapter_cells:
setup cells folded, solutions named, no Colab title line, wide cells widened), zh anchors from
the en twin (coursebook.sphinx.zh_anchors), the stamped install cell, and instructor pages whose
titles are not their chapters'. The browser check measures the built pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from coursebook.sphinx import chapter_cells, zh_anchors
from coursebook.stamp import setup_source

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb"))


def code_cell(source: str, tags=(), output: str | None = None, hide: bool = False) -> nodes.container:
    """A code cell as myst-nb puts it in the doctree."""
    cell = nodes.container(nb_element="cell_code", classes=["cell"] + [f"tag_{t}" for t in tags])
    if hide:
        cell["hide_mode"] = "all"
        cell["prompt_show"], cell["prompt_hide"] = "Show code cell {type}", "Hide code cell {type}"
    cell += nodes.container("", nodes.literal_block(source, source), nb_element="cell_code_source")
    if output is not None:
        cell += nodes.container("", nodes.literal_block(output, output), nb_element="cell_code_output")
    return cell


def chapter_doctree(*cells_before, first_section="What you will learn"):
    document = new_document("test", get_default_settings(Parser))
    top = nodes.section(ids=["chapter"])
    top += nodes.title("", "Chapter 9 · Test")
    for cell in cells_before:
        top += cell
    first = nodes.section(ids=["what"])
    first += nodes.title("", first_section)
    first += nodes.paragraph("", "objectives")
    top += first
    document += top
    return document


def test_setup_cells_fold_under_the_objectives():
    install, device = code_cell('if "google.colab" in sys.modules: ...'), code_cell("device = setup(0)")
    doctree = chapter_doctree(install, device)
    chapter_cells._fold_setup(doctree, "en")
    top = doctree[0]
    assert not any(chapter_cells._is_code_cell(c) for c in top.children)  # nothing before the objectives
    fold = top.children[-1][-1]
    assert isinstance(fold, chapter_cells.setup_fold) and list(fold.children) == [install, device]
    assert fold["summary"].startswith("Setup")


def test_a_solution_is_named_and_its_colab_title_line_dropped():
    cell = code_cell("#@title 练习 3 的解答\nx = 1\n", tags=["solution", "hide-cell"], hide=True)
    title = chapter_cells._drop_colab_title(cell)
    chapter_cells._label_solution(cell, "zh", title)
    assert cell["prompt_show"] == "练习 3 参考答案" and cell["prompt_hide"] == "收起参考答案"
    assert chapter_cells._source_block(cell).astext() == "x = 1\n"
    assert chapter_cells._source_block(cell).rawsource == "x = 1\n"  # highlighted as code, not as parsed text
    plain = code_cell("x = 1", hide=True)
    chapter_cells._label_solution(plain, "en", chapter_cells._drop_colab_title(plain))
    assert plain["prompt_show"] == "Show code cell {type}"  # not a solution: myst-nb's words


def test_a_cell_wider_than_the_column_widens():
    narrow = code_cell("x" * chapter_cells.COLUMN, output="y" * chapter_cells.COLUMN)
    wide_output = code_cell("x = 1", output="y" * (chapter_cells.COLUMN + 1))
    wide_chinese = code_cell("# " + "中" * (chapter_cells.COLUMN // 2))  # a Chinese character takes two columns
    for cell in (narrow, wide_output, wide_chinese):
        chapter_cells._mark_wide(cell)
    assert "full-width" not in narrow["classes"]
    assert "full-width" in wide_output["classes"] and "full-width" in wide_chinese["classes"]


def test_the_install_cell_fits_the_column_and_says_nothing_about_the_build():
    for edition in ("en", "zh"):
        source = setup_source(edition)
        assert max(chapter_cells.display_width(line) for line in source.splitlines()) <= chapter_cells.COLUMN
        assert chapter_cells.COLAB_TITLE.match(source), "Colab shows the install cell as its title line"
        assert not re.search(r"\bCI\b|the book|在线书|edit the script", source)


def test_zh_ids_come_from_the_en_headings(tmp_path):
    page = tmp_path / "en.md"
    page.write_text(
        "---\ntitle: x\n---\n# Chapter 6 · RoPE\n\n## 1. The `rotate_half` layout\n\n"
        "```{note}\n## not a section\n```\n\n## Question\n\n## Question\n\n### $q^T k$, by hand\n",
        encoding="utf-8",
    )
    titles = zh_anchors.heading_texts(page)
    assert titles == ["Chapter 6 · RoPE", "1. The rotate_half layout", "Question", "Question", "q^T k, by hand"]
    assert zh_anchors.section_ids(titles) == [
        "chapter-6-rope",
        "the-rotate-half-layout",
        "question",
        "question-2",
        "q-t-k-by-hand",
    ]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_zh_chapter_has_the_sections_of_its_twin(chapter):
    """zh_anchors maps sections by position: the two editions must have as many headings."""
    en = zh_anchors.heading_texts(ROOT / "notebooks" / "en" / f"{chapter}.ipynb")
    zh = zh_anchors.heading_texts(ROOT / "notebooks" / "zh" / f"{chapter}.ipynb")
    assert len(en) == len(zh), f"{chapter}: {len(en)} en headings, {len(zh)} zh headings"


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_instructor_pages_are_titled_apart_from_their_chapters(edition):
    for chapter in CHAPTERS:
        nb = json.loads((ROOT / "notebooks" / edition / f"{chapter}.ipynb").read_text(encoding="utf-8"))
        chapter_title = "".join(nb["cells"][0]["source"]).splitlines()[0].lstrip("# ").strip()
        page = ROOT / "book" / edition / "instructor" / f"{chapter}.md"
        title = page.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        number = str(int(chapter[:2]))
        assert title != chapter_title, f"{page.name}: the guide page has the chapter's own title"
        want = f"Teaching chapter {number} · " if edition == "en" else f"教学指南 · 第 {number} 章 "
        assert title.startswith(want), f"{edition}/instructor/{page.name}: {title!r} should start {want!r}"
