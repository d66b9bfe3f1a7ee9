"""Run every student notebook untouched, as a learner first opens it: nothing raises, every check
says "not attempted".

    coursebook check-student                     # student/en and student/zh, each in a fresh kernel
    coursebook check-student --plain-cpu student/en/05_heads.ipynb
    coursebook check-student --jobs 1            # one notebook at a time (default: two at once)

Each notebook runs top to bottom in a fresh kernel, in the grader's sandbox with its limits
(coursebook.grade.sandbox), so this also proves that the grader can run every chapter. It fails
when a cell raises (a later cell needs a name only a solution defined, a starter raises outside
its check), when the run is stopped by a limit, or when the checks logged (MINIGPT_EXERCISE_LOG)
are not exactly the notebook's check cells, each "not attempted". A time table follows (wall
seconds, and the CPU seconds of the kernel and the runner, which a busy machine hardly changes).
With --jobs N (default 2) N notebooks run at once, each kernel on cores/N threads (OMP_NUM_THREADS,
unless set): a kernel's torch threads spin while they wait, so two kernels of two threads each on
two cores run four times slower, not twice.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

from ..book import ROOT, rel
from ..nbval_runs import PLAIN_CPU
from ..student import checked_exercises
from . import sandbox
from .run import Run, run_notebook


def problems(path: Path, limits: sandbox.Limits, files: list[Path], sandboxed: bool) -> tuple[list[str], Run]:
    nb = nbformat.read(path, as_version=4)
    expected = {(int(c), n) for c, n in checked_exercises(nb)}
    run = run_notebook(path, limits, files, sandboxed=sandboxed)
    found = []
    if run.timed_out:
        found.append(f"stopped at the time limit ({limits.seconds:g} s), cell index {run.last_cell}")
    if run.dead:
        found.append(f"the run stopped at cell index {run.last_cell}: {run.dead}")
    if not (run.done or run.timed_out or run.dead):
        found.append(f"could not be run: {run.stderr.strip()[-500:]}")
    for error in run.errors:
        found.append(f"cell index {error.get('cell')} raised {error.get('ename')}: {error.get('evalue')}")
    if set(run.checks) != expected:
        found.append(f"checks logged {sorted(run.checks)}, the check cells call {sorted(expected)}")
    for (chapter, number), check in sorted(run.checks.items()):
        if check.get("status") != "not attempted":
            found.append(f"ch{chapter:02d}.ex{number} says {check.get('status')!r}, not 'not attempted'")
    return found, run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook check-student", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("paths", nargs="*", type=Path, help="student notebooks or folders (default: student/en student/zh)")
    ap.add_argument("--plain-cpu", action="store_true", help="on the plainer CPU of `coursebook nbval --plain-cpu`")
    ap.add_argument("--time-limit", type=float, default=300, help="seconds per notebook (300)")
    ap.add_argument("--files", type=Path, nargs="*", default=[], help="files copied beside every notebook")
    ap.add_argument("--no-sandbox", action="store_true", help="run without the grader's sandbox (not Linux)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks run at once (2)")
    args = ap.parse_args(argv)
    paths = []
    for p in args.paths or [ROOT / "student" / "en", ROOT / "student" / "zh"]:
        paths += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    if not paths:
        print("coursebook check-student: no student notebooks (run `coursebook student`)", file=sys.stderr)
        return 1
    if not args.no_sandbox and (problem := sandbox.available()):
        print(f"coursebook check-student: {problem}", file=sys.stderr)
        return 1
    if args.plain_cpu:
        os.environ.update(PLAIN_CPU)  # the sandbox passes these through
        print("student notebooks on a plainer CPU: " + " ".join(f"{k}={v}" for k, v in PLAIN_CPU.items()))
    if args.jobs < 1:
        ap.error(f"--jobs {args.jobs}: run at least one notebook at a time (--jobs 1)")
    jobs = min(args.jobs, len(paths))
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        os.environ.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)  # the sandbox passes these through
    limits = sandbox.Limits(seconds=args.time_limit)
    done: dict[Path, tuple] = {}
    # Worker processes, not threads: the runner starts each kernel with a preexec_fn, which is
    # unsafe in a process that has other threads. A fresh interpreter per worker (spawn).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(problems, path, limits, args.files, not args.no_sandbox): path
            for path in sorted(paths, key=lambda p: -p.stat().st_size)  # the longest chapters first
        }
        for future in as_completed(futures):
            path = futures[future]
            found, run = future.result()
            done[path] = (found, run)
            status = "ok" if not found else "FAILED"
            print(f"{rel(path)}: {run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), {status}", flush=True)
            for problem in found:
                print(f"  {rel(path)}: {problem}", file=sys.stderr)
            for cell in run.lost_replies:  # the runner went on without it (coursebook.grade.runner)
                print(f"  {rel(path)}: the kernel never answered cell index {cell}; went on after it said idle")
    rows, failed = [], 0
    for path in paths:
        found, run = done[path]
        slowest = run.slowest_cell()
        where = f"cell {slowest[0] + 1} {slowest[1]:.1f} s" if slowest else "-"
        rows.append((rel(path), run.seconds, run.cpu_seconds, where, "ok" if not found else "FAILED"))
        failed += bool(found)
    width = max(len(row[0]) for row in rows)
    print(f"\n{'student notebook':{width}s}  {'seconds':>8s}  {'CPU s':>8s}  {'slowest cell':>18s}  status")
    for name, seconds, cpu, where, status in rows:
        print(f"{name:{width}s}  {seconds:8.1f}  {cpu:8.1f}  {where:>18s}  {status}")
    print(f"{'total':{width}s}  {sum(r[1] for r in rows):8.1f}  {sum(r[2] for r in rows):8.1f}")
    if failed:
        print(f"\ncheck-student FAILED: {failed} of {len(rows)} notebooks", file=sys.stderr)
        return 1
    return 0
