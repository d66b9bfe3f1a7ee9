"""The parity check's box order: a chapter's fact-check boxes are numbered FC-NN-1, FC-NN-2, ... in reading
order, in both editions (issue: boxes numbered FC-01-5 before FC-01-1)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursebook.book import EDITIONS, NOTEBOOKS
from coursebook.parity import box_order


def chapter(*boxes: str, heading: str = "Fact check") -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Chapter 3")]
    for box in boxes:
        box_text = f"Some prose.\n\n> **{heading} {box}**\n>\n> **Claim** ..."
        cells += [new_code_cell("x = 1"), new_markdown_cell(box_text)]
    return new_notebook(cells=cells)


def test_boxes_in_reading_order_pass():
    assert box_order(chapter("FC-03-1", "FC-03-2", "FC-03-3"), "03") == []
    assert box_order(chapter("FC-03-1", "FC-03-2", heading="核查"), "03") == []
    assert box_order(chapter(), "03") == []


@pytest.mark.parametrize(
    "boxes",
    [
        ("FC-03-2", "FC-03-1"),  # swapped
        ("FC-03-1", "FC-03-3"),  # a gap
        ("FC-03-2",),  # does not start at 1
        ("FC-03-1", "FC-03-1"),  # a repeat
        ("FC-04-1", "FC-04-2"),  # another chapter's ids
    ],
)
def test_boxes_out_of_order_fail_and_say_what_is_expected(boxes):
    (problem,) = box_order(chapter(*boxes), "03")
    assert str(list(boxes)) in problem
    assert "FC-03-1" in problem and "renumber" in problem


def test_an_id_mentioned_in_prose_is_not_a_box():
    nb = chapter("FC-03-1")
    nb.cells.insert(1, new_markdown_cell("As FC-03-2 below shows, and **Fact check FC-03-9** inline."))
    assert box_order(nb, "03") == []


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_chapters_boxes_are_in_reading_order(edition):
    for path in sorted((NOTEBOOKS / edition).glob("*.ipynb")):
        assert box_order(nbformat.read(path, as_version=4), path.name[:2]) == [], path
