"""The student edition (coursebook student): solutions out, starters and checks in place and
cleared, everything else as in the chapter; solutions.json; --check; zh/en parity; and no line or
output of any solution in any student notebook, for the fixture chapter and for every chapter."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from coursebook import student
from coursebook.book import NOTEBOOKS, colab_url
from coursebook.cells import is_solution, tags
from coursebook.parity import student_parity

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHAPTER = "99_fixture.ipynb"
TRIVIAL = re.compile(r"[\s()\[\]{},:;]*")  # a blank line or a lone bracket says nothing of a solution


def output_lines(cell) -> set[str]:
    """The lines of a cell's text outputs, and each image as one "line" (its data)."""
    lines = set()
    for out in cell.get("outputs", []):
        texts = [out.get("text", "")] if out.get("output_type") == "stream" else []
        for mime, value in out.get("data", {}).items():
            texts.append(value if mime.startswith("text/") else f"{mime}:{value}")
        lines |= {line.strip() for text in texts for line in "".join(text).splitlines()}
    return lines


def solution_leaks(chapter, student_nb) -> list[str]:
    """Lines of the chapter's solution cells (source or output) found in the student notebook, except
    trivial lines and lines that also occur outside the solutions in the chapter."""
    solution = [c for c in chapter.cells if is_solution(c)]
    others = [c for c in chapter.cells if not is_solution(c)]
    other_source = {line.strip() for c in others for line in c.source.splitlines()}
    other_output = set().union(*(output_lines(c) for c in others))
    wanted_source = {line.strip() for c in solution for line in c.source.splitlines()} - other_source
    wanted_output = set().union(*(output_lines(c) for c in solution)) - other_output
    seen_source = {line.strip() for c in student_nb.cells for line in c.source.splitlines()}
    seen_output = set().union(*(output_lines(c) for c in student_nb.cells))
    leaks = [f"source: {line}" for line in wanted_source & seen_source if not TRIVIAL.fullmatch(line)]
    return leaks + [f"output: {line[:80]}" for line in wanted_output & seen_output if not TRIVIAL.fullmatch(line)]


@pytest.fixture()
def edition(tmp_path):
    """The fixture chapter's student edition and solutions.json, written into tmp_path."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(FIXTURES / "notebooks", notebooks)
    out, solutions = tmp_path / "student", tmp_path / "solutions.json"
    args = ["--notebooks", str(notebooks), "--out", str(out), "--solutions", str(solutions)]
    assert student.main(args) == 0
    return notebooks, out, solutions, args


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_solutions_go_starters_and_checks_stay_cleared_the_rest_keeps_its_outputs(edition):
    notebooks, out, _, _ = edition
    chapter, learner = read(notebooks / "en" / CHAPTER), read(out / "en" / CHAPTER)
    assert not [c for c in learner.cells if is_solution(c)]
    assert len(learner.cells) == len(chapter.cells) - 3  # two code solutions, one written one
    by_tag = {t: [c for c in learner.cells if t in tags(c)] for t in ("starter", "check")}
    assert len(by_tag["starter"]) == len(by_tag["check"]) == 2
    for cell in by_tag["starter"] + by_tag["check"]:
        assert cell.outputs == [] and cell.execution_count is None
    assert "raise NotImplementedError" in by_tag["starter"][0].source
    assert by_tag["check"][1].source == "import ch99\n\nch99.ex2.check(mean)"
    kept = [c for c in learner.cells if c.cell_type == "code" and c.outputs]  # the chapter's own cells
    assert [o.text for c in kept for o in c.outputs] == ["[1, 2, 3]\n", "[]\n", "end of the chapter\n"]
    question = next(c for c in learner.cells if "<details>" in c.source)
    assert "Answer (open it after you have a guess)" in question.source  # predict, then run: kept
    assert [c.source for c in learner.cells[1:]] == [c.source for c in chapter.cells[1:] if not is_solution(c)]


def test_cell_0_opens_the_student_notebook_and_links_the_chapter(edition):
    _, out, _, _ = edition
    en, zh = read(out / "en" / CHAPTER).cells[0].source, read(out / "zh" / CHAPTER).cells[0].source
    assert en.startswith("# Chapter 99 · A fixture\n\n[![Open In Colab]")
    assert f"({colab_url('student/en/' + CHAPTER)})" in en
    assert f"[The chapter with its solutions]({colab_url('notebooks/en/' + CHAPTER)})" in en
    assert f"简体中文版：[第 99 章 · 测试用章节](../zh/{CHAPTER})" in en
    assert "`ch99.ex1.hint()`" in en and "`ch99.ex1.solution()`" in en
    assert f"({colab_url('student/zh/' + CHAPTER)})" in zh and '`ch99.ex1.solution("zh")`' in zh


def test_solutions_json_holds_each_exercises_solution_cells_as_the_chapter_has_them(edition):
    notebooks, _, solutions, _ = edition
    data = json.loads(solutions.read_text(encoding="utf-8"))
    assert sorted(data) == ["en", "zh"] and sorted(data["en"]["99"]) == ["1", "2", "3"]
    for ed in ("en", "zh"):
        sources = [c.source for c in read(notebooks / ed / CHAPTER).cells if is_solution(c)]
        assert [data[ed]["99"][n] for n in ("1", "2", "3")] == sources
    assert data["zh"]["99"]["1"].startswith("#@title 练习 1 的解答\ndef add(a, b):")
    assert data["en"]["99"]["3"].startswith("<details>\n<summary>Solution to exercise 3</summary>")


def test_check_fails_when_the_chapter_changes_and_passes_when_regenerated(edition, capsys):
    notebooks, out, solutions, args = edition
    assert student.main(["--check", *args]) == 0
    chapter = read(notebooks / "en" / CHAPTER)
    next(c for c in chapter.cells if is_solution(c)).source += "\n# a better solution"
    nbformat.write(chapter, notebooks / "en" / CHAPTER)
    before = (out / "en" / CHAPTER).read_text(encoding="utf-8")
    assert student.main(["--check", *args]) == 1
    assert "solutions.json" in capsys.readouterr().err  # the solution's text changed, not the notebook
    assert (out / "en" / CHAPTER).read_text(encoding="utf-8") == before  # --check wrote nothing
    assert student.main(args) == 0 and student.main(["--check", *args]) == 0
    assert json.loads(solutions.read_text(encoding="utf-8"))["en"]["99"]["1"].endswith("# a better solution")


def test_the_parity_check_covers_the_student_edition(edition):
    _, out, _, _ = edition
    assert student_parity(out, str, "hash") == []
    zh = read(out / "zh" / CHAPTER)
    starter = next(c for c in zh.cells if "starter" in tags(c))
    starter.source = starter.source.replace("raise NotImplementedError", "return 0")
    nbformat.write(zh, out / "zh" / CHAPTER)
    (failure,) = student_parity(out, str, "hash")
    assert "student 99_fixture.ipynb: code cells or tags differ" in failure and "return 0" in failure


def test_the_leak_check_finds_a_solution_line_and_a_solution_output(edition):
    notebooks, out, _, _ = edition
    chapter, learner = read(notebooks / "en" / CHAPTER), read(out / "en" / CHAPTER)
    assert solution_leaks(chapter, learner) == []
    learner.cells[-1].source += "\n    total_of_values = sum(xs)"  # a line only the solution has
    learner.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="mean of 1, 2, 6: 3.0000\n")]
    assert sorted(solution_leaks(chapter, learner)) == [
        "output: mean of 1, 2, 6: 3.0000",
        "source: total_of_values = sum(xs)",
    ]


def test_a_chapter_with_solution_cells_only_is_recognised_by_their_titles():
    # Before a chapter is converted: the statements in one cell, three titled solution cells, no starter.
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# Chapter 98 · Old style"),
        md("## Exercises\n\n**Exercise 1.** One.\n\n**Exercise 2.** Two.\n\n**Exercise 3.** Three."),
        code("#@title Solution to exercise 1\nx = 1", metadata={"tags": ["solution", "hide-cell"]}),
        code("#@title 练习 2 的解答\ny = 2", metadata={"tags": ["solution", "hide-cell"]}),
        md("<details>\n<summary>练习 3 参考答案</summary>\n\nz.\n\n</details>", metadata={"tags": ["solution"]}),
        code("# Your code here."),
    ]
    assert student.solution_texts(nb) == {"1": nb.cells[2].source, "2": nb.cells[3].source, "3": nb.cells[4].source}
    learner = student.student_notebook(nb, Path("notebooks/en/98_old.ipynb"), "第 98 章")
    assert [c.source for c in learner.cells[1:]] == [nb.cells[1].source, "# Your code here."]
    assert "`ch98.ex1.hint()`" not in learner.cells[0].source  # no checks: the plain line


def test_a_starter_without_a_statement_above_is_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# T"),
        nbformat.v4.new_code_cell("def f(): ...", metadata={"tags": ["starter"]}),
    ]
    with pytest.raises(ValueError, match=r"cell 1 is tagged starter but no exercise statement"):
        student.exercise_cells(nb)


@pytest.mark.parametrize("edition_name", ["en", "zh"])
def test_no_chapter_leaks_a_solution_into_its_student_edition(edition_name):
    for path in sorted((NOTEBOOKS / edition_name).glob("*.ipynb")):
        chapter = read(path)
        twin = NOTEBOOKS / ("zh" if edition_name == "en" else "en") / path.name
        made = student.student_notebook(chapter, path, read(twin).cells[0].source.split("\n")[0][2:])
        assert not [c for c in made.cells if is_solution(c)], path.name
        assert solution_leaks(chapter, made) == [], path.name
        committed = ROOT / "student" / edition_name / path.name
        if committed.exists():  # `coursebook student --check` (make test) says whether it is current
            assert solution_leaks(chapter, read(committed)) == [], committed
