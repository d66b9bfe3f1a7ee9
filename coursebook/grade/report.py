"""What the grader writes: scores.csv (one row per learner) and feedback/<learner>.md, from the runs.

A learner's exercise scores 1 when the last verdict its check logged was "correct", else 0; the
total is the number of exercises correct. The reason column says what needs a look (not a
notebook, a cell that raised, the time limit, a changed check cell); empty means a clean run.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .run import Run
from .sandbox import Limits

if TYPE_CHECKING:
    from .submissions import Reference, Submission

VERDICT = {"correct": "correct", "incorrect": "not yet", "not attempted": "not attempted"}


def cell_name(index: int | None, cells: list[str]) -> str:
    """'cell 12 (`time.sleep(100)`)': cells counted from 1 at the top of the notebook."""
    if not isinstance(index, int):
        return "a cell"
    first = cells[index] if 0 <= index < len(cells) else ""
    return f"cell {index + 1}" + (f" (`{first}`)" if first else "")


def where(index: int | None, cells: list[str]) -> str:
    return "while the kernel started" if index is None else f"in {cell_name(index, cells)}"


def error_lines(run: Run, cells: list[str]) -> list[str]:
    return [f"{cell_name(e.get('cell'), cells)} raised {e.get('ename')}: {e.get('evalue')}" for e in run.errors]


def run_notes(run: Run, cells: list[str], limits: Limits) -> list[str]:
    """Short notes for the reason column: why a run needs a look."""
    notes = []
    if run.timed_out:
        notes.append(
            f"stopped at the time limit ({limits.seconds:g} s) {where(run.last_cell, cells)}; "
            "the checks run before it count"
        )
    if run.dead:
        notes.append(f"the run stopped {where(run.last_cell, cells)}: {run.dead}")
    if run.errors:
        first = error_lines(run, cells)[0]
        more = f"{len(run.errors)} cells raised, the first: " if len(run.errors) > 1 else ""
        notes.append(more + first)
    if run.truncated:
        notes.append(f"printed more than {limits.output_bytes / 1e6:g} MB; the rest of its output was dropped")
    if not (run.done or run.timed_out or run.dead):
        tail = run.stderr.strip().splitlines()[-1:] or ["no message"]
        notes.append(f"the notebook could not be run ({tail[0][:300]})")
    return notes


def progress_line(sub: Submission) -> str:
    if sub.run is None:
        return f"{sub.learner}: {sub.path.name}: not graded: {'; '.join(sub.notes)}"
    correct = sum(c.get("status") == "correct" for c in sub.run.checks.values())
    reason = f"; {'; '.join(sub.notes)}" if sub.notes else ""
    return f"{sub.learner}: {sub.path.name}: chapter {sub.chapter}, {correct} correct, {sub.run.seconds:.1f} s{reason}"


def columns(graded: list[Submission], refs: dict[str, Reference | None]) -> list[tuple[str, int]]:
    """(chapter, exercise) of every column: the reference's exercises, else every one seen."""
    out: set[tuple[str, int]] = set()
    for sub in graded:
        if not sub.chapter or sub.run is None:
            continue
        ref = refs.get(sub.chapter)
        if ref:
            out |= {(sub.chapter, n) for n in ref.exercises}
        else:
            out |= {(f"{c:02d}", n) for c, n in sub.run.checks if f"{c:02d}" == sub.chapter}
    return sorted(out)


def score(sub: Submission, chapter: str, exercise: int) -> int:
    assert sub.run is not None
    return int(sub.run.checks.get((int(chapter), exercise), {}).get("status") == "correct")


def best(subs: list[Submission], chapter: str, cols: list[tuple[str, int]]) -> Submission | None:
    """The learner's notebook of `chapter` with most exercises correct (first by name on a tie)."""
    ran = [s for s in subs if s.chapter == chapter and s.run is not None]
    return max(ran, key=lambda s: sum(score(s, c, n) for c, n in cols if c == chapter), default=None)


def safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "learner"


def write(graded: list[Submission], refs: dict[str, Reference | None], out: Path) -> None:
    cols = columns(graded, refs)
    chapters = sorted({c for c, _ in cols})
    learners: dict[str, list[Submission]] = {}
    for sub in graded:
        learners.setdefault(sub.learner, []).append(sub)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    with open(out / "scores.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["learner", "notebooks", *(f"ch{c}.ex{n}" for c, n in cols), "total", "out_of", "reason"])
        for learner in sorted(learners):
            subs = learners[learner]
            counted = {c: best(subs, c, cols) for c in chapters}
            row = [(score(counted[c], c, n) if counted[c] else "") for c, n in cols]
            reasons = []
            for sub in subs:
                notes = list(sub.notes)
                if sub.chapter in counted and sub.run is not None and counted[sub.chapter] is not sub:
                    notes.append(f"another notebook of chapter {sub.chapter} counted")
                if sub.run is not None and not sub.run.checks and any(c == sub.chapter for c, _ in cols):
                    notes.append("no check ran")
                prefix = f"{sub.path.name}: " if len(subs) > 1 else ""
                reasons += [prefix + note for note in notes]
            total = sum(v for v in row if v != "")
            writer.writerow([learner, " ".join(s.path.name for s in subs), *row, total, len(cols), "; ".join(reasons)])
            name = safe_name(learner)
            while name in names:
                name += "_"
            names.add(name)
            (out / "feedback" / f"{name}.md").write_text(feedback(learner, subs, cols), encoding="utf-8")


def cell_text(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def feedback(learner: str, subs: list[Submission], cols: list[tuple[str, int]]) -> str:
    lines = [f"# {learner}", ""]
    for sub in subs:
        if sub.run is None:
            lines += [f"## `{sub.path.name}`", "", "Not graded: " + "; ".join(sub.notes), ""]
            continue
        mine = [(c, n) for c, n in cols if c == sub.chapter]
        correct = sum(score(sub, c, n) for c, n in mine)
        lines += [f"## Chapter {sub.chapter} · `{sub.path.name}` · {correct} of {len(mine)} exercises correct", ""]
        if mine:
            lines += ["| Exercise | Verdict | What the check said |", "|---|---|---|"]
            for c, n in mine:
                check = sub.run.checks.get((int(c), n))
                if check is None:
                    verdict, message = "not run", "its check cell did not run (deleted, or the run stopped before it)"
                else:
                    verdict = VERDICT.get(str(check.get("status")), str(check.get("status")))
                    message = check.get("message") or ""
                lines.append(f"| ch{c}.ex{n} | {verdict} | {cell_text(message)} |")
            lines.append("")
        other = sub.notes + [line for line in error_lines(sub.run, sub.cells)[1:20]]
        if other:
            lines += ["What else happened:", ""] + [f"- {cell_text(note)}" for note in other] + [""]
        lines.append(f"Run time: {sub.run.seconds:.0f} s.")
        lines.append("")
    return "\n".join(lines)
