"""Grade submitted student notebooks: each runs in a sandbox, then scores.csv and one feedback file each.

    coursebook grade SUBMISSIONS --out OUT          # make grade SUBMISSIONS=folder [GRADES=_build/grades]
    coursebook grade SUBMISSIONS --out OUT --time-limit 600 --jobs 2

SUBMISSIONS holds the learners' notebooks, either flat (`alice.ipynb`, `bob_05_heads.ipynb`: the
learner is the file name without .ipynb) or one folder per learner, as LMS exports do
(`Alice Smith_123/05_heads.ipynb`: the learner is the folder's name). Every file gets a row: a file
that is not a notebook gets a row with the reason.

Each notebook runs top to bottom in a fresh kernel inside the sandbox (coursebook.grade.sandbox:
read-only file system, private /tmp, no network), with a time limit per notebook, a memory limit
and a cap on its output, MINIGPT_EXERCISE_LOG set. A cell that raises does not stop the run (the
other exercises still count); a notebook over the time limit is stopped and keeps the checks it ran.

The chapter of a notebook is read from its check cells (`ch05.ex2.check(...)`), else from its file
name (`05_...`). The chapter's exercises are those of its student notebook in --reference (default
student/en), so every learner gets a column for every checked exercise, even one whose check cell
they deleted; a check cell that is missing or changed is named in the reason.

OUT/scores.csv   learner, notebooks, one column per exercise (`ch05.ex1`: 1 correct, 0 not; empty
                 when no notebook of that chapter came), total (exercises correct), out_of, reason
OUT/feedback/<learner>.md   each exercise's verdict and message, and what else happened
"""

from __future__ import annotations

import argparse
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..book import ROOT
from ..cells import strip_comments
from ..student import CHECK_CALL, checked_exercises
from . import report, sandbox
from .run import Run, run_notebook

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook grade", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("submissions", type=Path, help="folder of submitted notebooks (flat, or one folder per learner)")
    ap.add_argument("--out", type=Path, required=True, help="where scores.csv and feedback/ go")
    ap.add_argument("--time-limit", type=float, default=300, help="seconds per notebook, kernel start included (300)")
    ap.add_argument("--memory", type=float, default=6, help="GiB of address space per process (6)")
    ap.add_argument("--output", type=float, default=2, help="MB of output kept per notebook; the rest dropped (2)")
    ap.add_argument("--reference", type=Path, default=ROOT / "student" / "en", help="student notebooks (student/en)")
    ap.add_argument("--files", type=Path, nargs="*", default=[], help="files copied beside every notebook")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at once (1)")
    ap.add_argument(
        "--no-sandbox", action="store_true", help="run WITHOUT the sandbox: only for notebooks you trust (not Linux)"
    )
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"coursebook grade: {args.submissions} is not a folder of submissions", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"coursebook grade: --files not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.no_sandbox:
        print("coursebook grade: WARNING: --no-sandbox: the notebooks can read, change and delete your files")
    elif problem := sandbox.available():
        print(f"coursebook grade: {problem}", file=sys.stderr)
        return 1
    args.limits = sandbox.Limits(
        seconds=args.time_limit, memory_bytes=int(args.memory * 2**30), output_bytes=int(args.output * 1e6)
    )
    subs = submissions(args.submissions)
    if not subs:
        print(f"coursebook grade: no files in {args.submissions}", file=sys.stderr)
        return 1
    refs: dict[str, Reference | None] = {}
    runnable = [sub for sub in subs if inspect(sub, args.reference, refs) is not None]

    def execute(sub: Submission) -> None:
        sub.run = run_notebook(sub.path, args.limits, args.files, sandboxed=not args.no_sandbox)
        sub.notes += report.run_notes(sub.run, sub.cells, args.limits)
        print(report.progress_line(sub), flush=True)

    for sub in subs:
        if sub not in runnable:
            print(report.progress_line(sub), flush=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(execute, runnable))
    graded = subs
    report.write(graded, refs, args.out)
    print(f"wrote {args.out / 'scores.csv'} ({len({s.learner for s in graded})} learners) and {args.out / 'feedback'}/")
    return 0
