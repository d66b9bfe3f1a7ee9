"""What a submission is before it runs: the learner, the notebook read without validation, its chapter,
and what the run cannot show (a file that is not a notebook, check cells missing or changed, a notebook
that writes verdicts itself)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..cells import strip_comments
from ..student import CHECK_CALL, checked_exercises
from .run import Run

FILE_CHAPTER = re.compile(r"(?<!\d)(\d{2})_[A-Za-z]")  # "05_heads.ipynb", "Copy of 05_heads (1).ipynb"
# Writing verdicts instead of earning them: the log, or minigpt.exercises' own records.
TAMPERING = re.compile(r"MINIGPT_EXERCISE_LOG|\b_record\b|\b_RESULTS\b|\bResult\(")


@dataclass
class Submission:
    """One file of one learner, and what grading it found."""

    learner: str
    path: Path
    chapter: str = ""
    run: Run | None = None
    notes: list[str] = field(default_factory=list)  # why the row needs a look: not a notebook, errors, ...
    cells: list[str] = field(default_factory=list)  # the notebook's cells' first lines, to name a cell


def submissions(folder: Path) -> list[Submission]:
    """Every file under `folder` (hidden ones aside), with its learner."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue  # .DS_Store, .ipynb_checkpoints/
        learner = parts[0] if len(parts) > 1 else path.stem
        found.append(Submission(learner, path))
    return found


def code_lines(source: str) -> list[str]:
    """A code cell's lines without comments, indentation and blank lines: a check cell "as given"."""
    return [line.strip() for line in strip_comments(source)]


@dataclass
class Reference:
    """A chapter's checked exercises and their check cells, from its student notebook."""

    exercises: list[int]
    check_cells: dict[int, list[str]]


def reference(folder: Path, chapter: str) -> Reference | None:
    paths = sorted(folder.glob(f"{chapter}_*.ipynb"))
    if not paths:
        return None
    nb = nbformat.read(paths[0], as_version=4)
    cells = {}
    for cell in nb.cells:
        for m in CHECK_CALL.finditer(cell.source) if cell.cell_type == "code" else ():
            cells[int(m.group(2))] = code_lines(cell.source)
    return Reference(sorted({n for c, n in checked_exercises(nb) if c == chapter}), cells)


def chapter_of(nb, path: Path) -> str:
    calls = [m.group(1) for c in nb.cells if c.cell_type == "code" for m in CHECK_CALL.finditer(c.source)]
    if calls:
        return max(sorted(set(calls)), key=calls.count)
    named = FILE_CHAPTER.search(path.name)
    return named.group(1) if named else ""


def inspect(sub: Submission, reference_folder: Path, refs: dict[str, Reference | None]):
    """Read the notebook, find its chapter and note what the run cannot show; None if it cannot be run."""
    if sub.path.suffix.lower() != ".ipynb":
        sub.notes.append(f"not a notebook ({sub.path.name}): hand in the .ipynb file (Colab: File > Download > .ipynb)")
        return None
    try:  # a notebook Colab or another tool saved with odd metadata still runs: read, do not validate
        nb = nbformat.read(sub.path, as_version=4)
        cells = nb.get("cells")
        if not isinstance(cells, list) or not all(isinstance(c.get("source"), str) for c in cells):
            raise ValueError("it has no list of cells, each with its source")
    except Exception as error:  # JSON, encoding, structure: all mean the same to the learner
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        sub.notes.append(f"not a notebook: {sub.path.name} could not be read as one ({first})")
        return None
    sub.cells = [(c.source.strip().splitlines() or [""])[0][:60] for c in nb.cells]
    sub.chapter = chapter_of(nb, sub.path)
    if not sub.chapter:
        sub.notes.append("cannot tell the chapter: no check cell (chNN.exN.check) and no NN_ in the file name")
        return None
    if sub.chapter not in refs:
        refs[sub.chapter] = reference(reference_folder, sub.chapter)
    ref = refs[sub.chapter]
    if ref:
        present = [code_lines(c.source) for c in nb.cells if c.cell_type == "code"]
        changed = [n for n, lines in sorted(ref.check_cells.items()) if lines not in present]
        if changed:
            sub.notes.append("check cell missing or changed: " + ", ".join(f"ch{sub.chapter}.ex{n}" for n in changed))
    if any(TAMPERING.search(c.source) for c in nb.cells if c.cell_type == "code"):
        sub.notes.append("the notebook touches the exercise log or the checks' records: read it")
    return nb
