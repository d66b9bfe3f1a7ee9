"""nbval over the chapters: on this CPU, on a plainer CPU, and timed for the instructor guide.

    coursebook nbval notebooks/en                    # nbval strict, with a time table per notebook
    coursebook nbval --plain-cpu notebooks/en        # the same on a plainer CPU (PLAIN_CPU below)
    coursebook timings                               # both, timed into book/_data/timings.json, then the tables
    coursebook timings notebooks/en/09_scale.ipynb   # re-measure one chapter, keep the others

nbval compares every cell's printed output with the committed one (nbval_sanitize.cfg masks what
may vary); the pytest plugin coursebook.nbval_times adds the time table, the budget and the
ceiling (see its docstring). Options this command does not know go to pytest (e.g. -x, -k 05).

The plainer CPU is ATen's portable kernels, oneDNN and MKL limited to AVX2 (no AVX-512, no bf16
units), one thread: a printed value that depends on the CPU's kernels, the thread count or the
order of float additions fails there. `timings` runs both, niced, and a failing or slow notebook
does not stop the measurement (the JSON records whether nbval passed, and the guide says so).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .book import ROOT

PLAIN_CPU = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
TIMINGS_JSON = ROOT / "book" / "_data" / "timings.json"


def run_nbval(paths: list[Path], budget: float, ceiling: float, plain_cpu: bool, pytest_args: list[str]) -> int:
    """pytest --nbval over paths, from the repository root, with the time-table plugin."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # set and dict orders printed by a cell are the committed ones
    if plain_cpu:
        env.update(PLAIN_CPU)
        print("nbval on a plainer CPU: " + " ".join(f"{k}={v}" for k, v in PLAIN_CPU.items()), flush=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "coursebook.nbval_times",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        str(ROOT / "nbval_sanitize.cfg"),
        "--notebook-budget",
        f"{budget:g}",
        "--notebook-ceiling",
        f"{ceiling:g}",
        *pytest_args,
        *(str(p.resolve()) for p in paths),
    ]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def _parser(name: str, doc: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=f"coursebook {name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: notebooks/en)")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds a notebook is meant to take (default 60)")
    ap.add_argument("--ceiling", type=float, default=3.0, help="fail above this many budgets (default 3; 0: never)")
    return ap


def main(argv=None) -> int:
    """coursebook nbval"""
    ap = _parser("nbval", __doc__ or "")
    ap.add_argument("--plain-cpu", action="store_true", help="run on the plainer CPU (portable kernels, one thread)")
    args, pytest_args = ap.parse_known_args(argv)
    paths = args.paths or [ROOT / "notebooks" / "en"]
    return run_nbval(paths, args.budget, args.ceiling, args.plain_cpu, pytest_args)


def timings(argv=None) -> int:
    """coursebook timings"""
    from .render import main as render

    ap = _parser("timings", __doc__ or "")
    ap.add_argument("--times-json", type=Path, default=TIMINGS_JSON, help="default: book/_data/timings.json")
    args, pytest_args = ap.parse_known_args(argv)
    paths = args.paths or [ROOT / "notebooks" / "en"]
    os.nice(10)  # a long measurement yields the CPU to interactive work, as `nice -n 10` did
    for label, plain in (("this-cpu", False), ("plain-cpu", True)):
        times = ["--times-json", str(args.times_json.resolve()), "--times-label", label]
        run_nbval(paths, args.budget, args.ceiling, plain, times + pytest_args)
    return render(["instructor"])
