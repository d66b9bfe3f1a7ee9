"""The lecture slides and worksheets from their sources: every deck's figures and outputs resolve
in its notebook; a reference that does not resolve fails with the fix; a zh deck may name the en
cells; the browser check of the slide limits fails on a slide that breaks them; the worksheet
takes the questions without their folded answers and the exercise statements only."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import nbformat
import pytest

from coursebook.book import chapter_names
from coursebook.kit import deck as decks
from coursebook.kit import worksheet

ROOT = Path(__file__).resolve().parents[2]
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def png(width: int, height: int) -> str:
    """A real PNG of this size (one grey pixel per row would do; this one is all grey)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


def chapter(folder: Path, edition: str, ids: list[str], comment: str = "") -> None:
    """notebooks/<edition>/99_test.ipynb: a figure cell and a printing cell, with these ids."""
    nb = nbformat.v4.new_notebook()
    fig = code(f"plot()  {comment}")
    fig.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png(60, 40)})]
    fig.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": png(30, 40)}))
    printed = code("report()")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="one\ntwo\nthree\n")]
    nb.cells = [md("# Chapter 99 · Test"), fig, printed]
    for cell, ident in zip(nb.cells, ids, strict=True):
        cell.id = ident
    (folder / edition).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / edition / "99_test.ipynb")


DECK = """---
title: Chapter 99 · Test
question: Does it work?
summary: It does.
---

## A figure

- one line

![the figure]({figure})

Note:
What to say.

---

## Some output

```output cell={output}{lines}
```

Note:
More to say.
"""


def deck_text(figure="cell:f1", output="p1", lines=""):
    return DECK.format(figure=figure, output=output, lines=lines)


def test_every_deck_resolves_in_its_notebook():
    problems = []
    for ed in ("en", "zh"):
        for name in chapter_names():
            deck = decks.load(ed, name)
            problems += decks.check(deck, decks.Cells(ed, name))
            assert 12 <= len(deck.slides) <= 20, f"{ed}/{name}: {len(deck.slides)} content slides"
    assert problems == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"figure": "cell:gone"}, "no cell with id 'gone'"),
        ({"figure": "cell:p1"}, "cell p1 has no image output"),
        ({"figure": "cell:f1#3"}, "has 2 image output(s); #3 asks for image 3"),
        ({"output": "f1"}, "cell f1 prints no text"),
        ({"lines": " lines=2-5"}, "lines=2-5 is out of range: cell p1 prints 3 lines"),
    ],
)
def test_a_reference_that_does_not_resolve_fails_with_the_fix(tmp_path, kwargs, message):
    chapter(tmp_path, "en", ["t", "f1", "p1"])
    deck = decks.parse(deck_text(**kwargs), "en", "99_test", tmp_path / "99_test.md")
    problems = decks.check(deck, decks.Cells("en", "99_test", notebooks=tmp_path))
    assert len(problems) == 1 and message in problems[0], problems
    assert "slide" in problems[0]


def test_a_deck_that_resolves_gives_the_figure_and_the_lines(tmp_path):
    chapter(tmp_path, "en", ["t", "f1", "p1"])
    cells = decks.Cells("en", "99_test", notebooks=tmp_path)
    deck = decks.parse(deck_text(figure="cell:f1#2", lines=" lines=2-3"), "en", "99_test", tmp_path / "d.md")
    assert decks.check(deck, cells) == []
    assert (cells.figure("f1", 2).width, cells.figure("f1", 2).height) == (30, 40)
    assert cells.text("p1", (2, 3)) == "two\nthree"
    assert [s.notes for s in deck.slides] == ["What to say.", "More to say."]


def test_a_zh_deck_names_the_en_cells_by_position(tmp_path):
    chapter(tmp_path, "en", ["t", "f1", "p1"])
    chapter(tmp_path, "zh", ["zt", "zf", "zp"], comment="# 画图")  # other ids, a comment translated
    cells = decks.Cells("zh", "99_test", notebooks=tmp_path)
    assert cells.cell("f1") is cells.nb.cells[1] and cells.text("p1") == "one\ntwo\nthree"
    chapter(tmp_path, "zh", ["zt", "zf", "zp"], comment="; other()")  # the code itself differs
    with pytest.raises(LookupError, match="holds other code"):
        decks.Cells("zh", "99_test", notebooks=tmp_path).cell("f1")


def test_a_deck_without_front_matter_or_headings_is_refused(tmp_path):
    with pytest.raises(decks.DeckError, match="front matter"):
        decks.parse("## A slide\n", "en", "x", tmp_path / "x.md")
    text = deck_text().replace("## Some output", "Some output")
    with pytest.raises(decks.DeckError, match="slide 2: must open with a `## heading`"):
        decks.parse(text, "en", "x", tmp_path / "x.md")
    with pytest.raises(decks.DeckError, match="needs `summary`"):
        decks.parse(deck_text().replace("summary: It does.\n", ""), "en", "x", tmp_path / "x.md")


def test_worksheet_takes_questions_without_answers_and_statements_only():
    nb = nbformat.v4.new_notebook()
    solution = md("<details>\n<summary>Solution to exercise 1</summary>\n\nx = 42\n\n</details>")
    solution.metadata["tags"] = ["solution"]
    starter = code("def f():\n    raise NotImplementedError")
    starter.metadata["tags"] = ["starter"]
    nb.cells = [
        md(
            "# Chapter 99\n\n## Questions\n\n### Question\n\nWhy?\n\n**Follow-up.** And then?\n\n"
            "<details>\n<summary>Answer</summary>\n\nBecause of the secret.\n\n</details>\n\n"
            "### Question\n\nHow much?\n\n<details>\n<summary>Answer</summary>\n\nLots.\n\n</details>"
        ),
        md("## Exercises\n\n**Exercise 1.** Write `f`."),
        starter,
        solution,
        md("**Exercise 2.** Explain it.\n\nA good answer:\n- names the cause"),
    ]
    qs = worksheet.questions(nb)
    assert qs == ["Why?\n\n**Follow-up.** And then?", "How much?"]
    assert worksheet.exercises(nb) == [(1, "Write `f`."), (2, "Explain it.\n\nA good answer:\n- names the cause")]
    assert worksheet.check(nb, "nb") == []
    assert worksheet.internal_names(nb) == []
    nb.cells[0].source += "\n\n### Question\n\nSeed 004 says so (FC-08-1). Does it?"
    assert worksheet.internal_names(nb) == ["FC-08-1", "Seed 004"]
    nb.cells[4].source = "**Exercise 3.** Skipped a number."
    assert "numbered [1, 3]" in worksheet.check(nb, "nb")[0]


def test_the_slide_limits_fail_on_slides_that_break_them(tmp_path):
    """A deck with a colon, too many words and a code line too wide: the browser check names each."""
    from coursebook.browser.chromium import find_chromium

    if not find_chromium():
        pytest.skip("no Chromium (coursebook ensure-chromium)")
    from playwright.sync_api import sync_playwright

    from coursebook.browser.chromium import launch
    from coursebook.browser.slide_limits import check_slides
    from coursebook.kit.slides import slides_page

    chapter(tmp_path / "nb", "en", ["t", "f1", "p1"])
    many = " ".join(["word"] * 50)
    wide = "x = " + "1 + " * 60 + "1"
    text = (
        deck_text()
        + f"\n---\n\n## Look at this\n\n- the figure shows:\n\nNote:\nn\n\n---\n\n## Long\n\n{many}\n\nNote:\nn\n"
    )
    text += f"\n---\n\n## Wide\n\n```python\n{wide}\n```\n\nNote:\nn\n\n---\n\n## Fine\n\n- short\n\nNote:\nn\n"
    deck = decks.parse(text, "en", "99_test", tmp_path / "d.md")
    cells = decks.Cells("en", "99_test", notebooks=tmp_path / "nb")
    links = {"site": ".", "vendor": str(ROOT / "kit" / "vendor"), "chapter": "#", "colab": "#", "quiz": None}
    page_file = tmp_path / "deck.html"
    page_file.write_text(slides_page(deck, cells, links), encoding="utf-8")
    with sync_playwright() as p:
        browser, _ = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(page_file.as_uri())
        page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()")
        problems, info = check_slides(page)
        browser.close()
    assert any("slide 4 ('Look at this')" in p and "colon" in p for p in problems), problems
    assert any("slide 5 ('Long')" in p and "50 words" in p for p in problems), problems
    assert any("slide 6 ('Wide')" in p and "wider than its box" in p for p in problems), problems
    assert not any("slide 2 " in p or "slide 3 " in p or "slide 7 " in p for p in problems), problems
    assert info["figures"] == 1 and info["slides"] == 6 and info["code_px_min"] >= 20
