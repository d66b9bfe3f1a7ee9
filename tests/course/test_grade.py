"""The grader (coursebook grade) on the fixture chapter's student notebook: full marks for every
solution filled in, zero for the untouched starters, partial marks for one exercise done, and a
row with a reason for a notebook that raises, one past the time limit, one that deletes a file
outside its folder (which survives), one that prints megabytes, and files that are not notebooks.
Also `coursebook check-student` on the untouched and on a solved student notebook."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from coursebook import student
from coursebook.cells import is_solution, tags
from coursebook.grade import sandbox

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHAPTER = "99_fixture.ipynb"


@pytest.fixture(scope="module", autouse=True)
def sandbox_here():
    if problem := sandbox.available():
        pytest.fail(f"the grader's tests need its sandbox: {problem}")


def coursebook(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursebook", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The fixture chapter's student edition (student/en/99_fixture.ipynb) and its master."""
    tmp = tmp_path_factory.mktemp("student")
    args = ["--notebooks", FIXTURES / "notebooks", "--out", tmp / "student", "--solutions", tmp / "solutions.json"]
    assert student.main([str(a) for a in args]) == 0
    return tmp / "student" / "en", nbformat.read(FIXTURES / "notebooks" / "en" / CHAPTER, as_version=4)


def submission(reference, solved=(), extra_cells=(), wrong_mean=False, last_cells=()):
    """The student notebook with the starters of exercises `solved` replaced by the chapter's
    solution, code cells `extra_cells` added after the setup cell and `last_cells` at the end."""
    folder, master = reference
    nb = nbformat.read(folder / CHAPTER, as_version=4)
    solutions = [c.source for c in master.cells if is_solution(c) and c.cell_type == "code"]
    starters = [c for c in nb.cells if "starter" in tags(c)]
    for number in solved:
        starters[number - 1].source = solutions[number - 1]
    if wrong_mean:
        starters[1].source = "def mean(xs):\n    return sum(xs)"
    nb.cells[2:2] = [nbformat.v4.new_code_cell(source) for source in extra_cells]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in last_cells]
    return nb


@pytest.fixture(scope="module")
def graded(reference, tmp_path_factory):
    """One grading run over a folder of every kind of submission; (scores by learner, out folder, canary)."""
    tmp = tmp_path_factory.mktemp("grade")
    subs = tmp / "submissions"
    (subs / "dana").mkdir(parents=True)  # an LMS export: one folder per learner
    canary = ROOT / "_build" / f"grade-canary-{uuid.uuid4().hex}"  # outside /tmp: the sandbox's /tmp is its own
    canary.parent.mkdir(exist_ok=True)
    canary.write_text("the course\n")
    notebooks = {
        "full": submission(reference, solved=(1, 2)),
        "untouched": submission(reference),
        "partial": submission(reference, solved=(1,)),
        "wrong": submission(reference, solved=(1,), wrong_mean=True),
        "raises": submission(reference, solved=(1, 2), extra_cells=['raise RuntimeError("a learner\'s bug")']),
        "deletes": submission(
            reference, solved=(1, 2), extra_cells=[f"import os\nos.remove({str(canary)!r})", "import os\nos.getcwd()"]
        ),
        "prints": submission(reference, extra_cells=['print("x" * 3_000_000)']),
        "dana/99_fixture": submission(reference, solved=(2,)),
        "forger": submission(
            reference, last_cells=['from minigpt.exercises import Result, _record\n_record(Result(99, 1, "correct"))']
        ),
    }
    for name, nb in notebooks.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "notes.txt").write_text("my answers are in the notebook\n")
    (subs / "broken.ipynb").write_text('{"cells": [')
    out = tmp / "out"
    proc = coursebook(
        "grade", subs, "--out", out, "--reference", reference[0], "--files", FIXTURES / "ch99.py", "--jobs", "2"
    )
    try:
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(out / "scores.csv", newline="", encoding="utf-8") as f:
            rows = {row["learner"]: row for row in csv.DictReader(f)}
        yield rows, out, canary
    finally:
        survived = canary.read_text() if canary.exists() else None
        canary.unlink(missing_ok=True)
        assert survived == "the course\n"


def scores(row) -> tuple[str, str, str]:
    return row["ch99.ex1"], row["ch99.ex2"], row["total"]


def test_one_row_per_learner_one_column_per_exercise(graded):
    rows, out, _ = graded
    header = next(csv.reader(open(out / "scores.csv", encoding="utf-8")))
    assert header == ["learner", "notebooks", "ch99.ex1", "ch99.ex2", "total", "out_of", "reason"]
    names = [
        "broken",
        "dana",
        "deletes",
        "forger",
        "full",
        "notes",
        "partial",
        "prints",
        "raises",
        "untouched",
        "wrong",
    ]
    assert sorted(rows) == names
    assert {row["out_of"] for row in rows.values()} == {"2"}


def test_full_zero_and_partial_marks(graded):
    rows, out, _ = graded
    assert scores(rows["full"]) == ("1", "1", "2") and rows["full"]["reason"] == ""
    assert scores(rows["untouched"]) == ("0", "0", "0") and rows["untouched"]["reason"] == ""
    assert scores(rows["partial"]) == ("1", "0", "1")
    assert scores(rows["dana"]) == ("0", "1", "1") and rows["dana"]["notebooks"] == "99_fixture.ipynb"
    feedback = (out / "feedback" / "partial.md").read_text(encoding="utf-8")
    assert "| ch99.ex1 | correct |" in feedback and "| ch99.ex2 | not attempted |" in feedback


def test_a_wrong_answer_gets_the_checks_words(graded):
    rows, out, _ = graded
    assert scores(rows["wrong"]) == ("1", "0", "1")
    feedback = (out / "feedback" / "wrong.md").read_text(encoding="utf-8")
    assert "| ch99.ex2 | not yet | mean(xs) returned the sum: divide by the number of values |" in feedback


def test_a_cell_that_raises_is_the_reason_and_the_later_checks_still_count(graded):
    rows, _, _ = graded
    assert scores(rows["raises"]) == ("1", "1", "2")
    assert (
        "cell 3 (`raise RuntimeError(\"a learner's bug\")`) raised RuntimeError: a learner's bug"
        in rows["raises"]["reason"]
    )


def test_a_delete_outside_its_folder_fails_and_the_file_survives(graded):
    rows, _, canary = graded
    assert canary.read_text() == "the course\n"
    assert "raised OSError: [Errno 30] Read-only file system" in rows["deletes"]["reason"]
    assert scores(rows["deletes"]) == ("1", "1", "2")


def test_a_notebook_that_writes_a_verdict_itself_is_named_in_the_reason(graded):
    rows, _, _ = graded
    # A check cannot tell a forged verdict from a real one; the grader says where to look.
    assert rows["forger"]["ch99.ex1"] == "1"
    assert rows["forger"]["reason"] == "the notebook touches the exercise log or the checks' records: read it"


def test_megabytes_of_output_are_cut_and_said(graded):
    rows, _, _ = graded
    assert "printed more than 2 MB; the rest of its output was dropped" in rows["prints"]["reason"]
    assert scores(rows["prints"]) == ("0", "0", "0")


def test_files_that_are_not_notebooks_get_a_row_with_the_reason(graded):
    rows, out, _ = graded
    assert rows["notes"]["reason"].startswith("not a notebook (notes.txt): hand in the .ipynb file")
    assert rows["broken"]["reason"].startswith("not a notebook: broken.ipynb could not be read as one")
    assert scores(rows["notes"]) == ("", "", "0")
    assert "Not graded: not a notebook" in (out / "feedback" / "broken.md").read_text(encoding="utf-8")


def test_a_notebook_past_the_time_limit_is_stopped_with_a_reason(reference, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    nb = submission(reference, solved=(1, 2))
    nb.cells.insert(2, nbformat.v4.new_code_cell("import time\n\ntime.sleep(600)"))
    nbformat.write(nb, subs / "sleeper.ipynb")
    proc = coursebook("grade", subs, "--out", tmp_path / "out", "--reference", reference[0], "--time-limit", "6.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "out" / "scores.csv", newline="", encoding="utf-8") as f:
        (row,) = csv.DictReader(f)
    assert row["learner"] == "sleeper" and "stopped at the time limit (6.5 s)" in row["reason"]
    assert row["total"] == "0"
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    assert not [line for line in left if "grade.runner" in line and "--cell-timeout 6.5 " in line]  # died whole


def test_check_student_passes_the_untouched_notebook_and_fails_a_solved_one(reference, tmp_path):
    folder, _ = reference
    untouched = coursebook("check-student", folder / CHAPTER, "--files", FIXTURES / "ch99.py")
    assert untouched.returncode == 0, untouched.stderr[-3000:]
    assert "ok" in untouched.stdout
    solved = tmp_path / CHAPTER
    nbformat.write(submission(reference, solved=(1,)), solved)
    shutil.copy(FIXTURES / "ch99.py", tmp_path / "ch99.py")
    proc = coursebook("check-student", solved, "--files", tmp_path / "ch99.py")
    assert proc.returncode == 1
    assert "ch99.ex1 says 'correct', not 'not attempted'" in proc.stderr


def test_a_clone_under_tmp_is_bound_back_into_the_sandbox(tmp_path, monkeypatch):
    # The sandbox empties /tmp; a CI runner's clone and virtual environment may live there.
    venv = Path("/tmp") / f"grader-venv-{os.getpid()}"
    (venv / "lib").mkdir(parents=True, exist_ok=True)
    try:
        here = sandbox.interpreter_paths()
        monkeypatch.setattr(sandbox, "interpreter_paths", lambda: here | {str(venv), str(venv / "lib"), "/tmp"})
        bound = sandbox.hidden_by_private_tmp()
        assert str(venv) in bound and str(venv / "lib") not in bound  # the folder once, with what is inside
        assert "/tmp" not in bound  # the private /tmp itself stays private
        args = sandbox.command(tmp_path / "x.ipynb", [], sandbox.Limits(), 10, 3)
        assert args.index(str(venv)) > args.index("/tmp")  # bound after the tmpfs that would hide it
    finally:
        shutil.rmtree(venv, ignore_errors=True)
