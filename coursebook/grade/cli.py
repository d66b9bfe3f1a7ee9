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
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..book import ROOT
from . import report, sandbox
from .run import run_notebook
from .submissions import Reference, Submission, inspect, submissions


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
