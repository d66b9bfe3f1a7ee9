"""pytest plugin: a per-notebook time table for nbval runs, where the time goes, and a ceiling.

    coursebook nbval notebooks/en     # runs: pytest -p coursebook.nbval_times --nbval ... notebooks/en

Sums the setup, call and teardown durations of every nbval cell item of a notebook (kernel start
included) and prints one row per notebook at the end of the run, with its three slowest cells.

The budget (--notebook-budget, default 60 s on a 2-core CPU) is the goal each chapter is written
to; a notebook over it is flagged OVER BUDGET but does not fail the run, because a shared machine
can be several times slower for a while. The run fails only when a notebook takes longer than
--notebook-ceiling times the budget (default 3; 0 turns the ceiling off).

With --times-json PATH (and --times-label NAME, e.g. this-cpu or plain-cpu) the run also records,
per notebook, its seconds, whether every cell passed, and every code cell's seconds (wall time,
and the CPU seconds of nbval's kernel, which a busy machine hardly changes) with the
notebook cell index and the section heading it sits under, plus the machine (CPU model, cores,
torch, ATen kernels, the environment variables that choose kernels and threads, load average).
The file is merged: only the notebooks of this run are replaced under NAME, so one chapter can be
re-measured alone. `coursebook timings` (make timings) writes book/_data/timings.json this way,
and `coursebook render` turns it into the instructor guide's time tables.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from .cells import code_cell_sections

_times: dict[str, float] = defaultdict(float)
_cells: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_failed: set[str] = set()
_cpu: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_load_before: dict[str, list[float]] = {}

# Environment variables that choose CPU kernels and thread counts (coursebook.nbval_runs.PLAIN_CPU).
KERNEL_ENV = (
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_ENABLE_INSTRUCTIONS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)


ABOUT = (
    "Seconds per chapter notebook and per code cell under nbval (kernel start counted in the first "
    "cell), written by the pytest plugin coursebook.nbval_times (make timings: coursebook timings). "
    "Chapters are keyed by file name; the zh edition runs the same code cells."
)


def pytest_addoption(parser):
    parser.addoption(
        "--notebook-budget",
        type=float,
        default=60.0,
        help="seconds a notebook is meant to take (default 60; flagged above, fails above the ceiling)",
    )
    parser.addoption(
        "--notebook-ceiling",
        type=float,
        default=3.0,
        help="fail a notebook that takes longer than this many budgets (default 3; 0: never fail on time)",
    )
    parser.addoption(
        "--times-json",
        type=Path,
        default=None,
        help="also merge the per-notebook and per-cell seconds of this run into this JSON file",
    )
    parser.addoption(
        "--times-label",
        default="this-cpu",
        help="name of this run's environment in --times-json (default this-cpu; e.g. plain-cpu)",
    )


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's child processes (nbval's kernel), read from
    /proc: unlike the wall time, it hardly changes when other programs share the CPU."""
    me, total = os.getpid(), 0.0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields[1] is the parent pid (field 4 of proc(5))
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    measure = item.config.getoption("--times-json") is not None and item.nodeid.partition("::")[0].endswith(".ipynb")
    before = _children_cpu_seconds() if measure else 0.0
    yield
    if measure:
        path, _, cell = item.nodeid.partition("::")
        # a kernel that exits (end of a notebook) takes its CPU time with it: clamp at zero
        _cpu[path][cell] += max(0.0, _children_cpu_seconds() - before)


def pytest_runtest_logreport(report):
    path, _, cell = report.nodeid.partition("::")
    if path.endswith(".ipynb"):
        if path not in _load_before:
            _load_before[path] = _loadavg()
        _times[path] += report.duration
        _cells[path][cell] += report.duration
        if report.failed:
            _failed.add(path)


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine() -> dict:
    import torch  # the notebooks' torch, for its version and the ATen kernels it picks here

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "env": {k: os.environ[k] for k in KERNEL_ENV if k in os.environ},
    }


def _commit(root: Path) -> str:
    """The commit measured: TIMINGS_COMMIT if set (a run in an exported tree), else git's HEAD,
    marked "+changes" when the working tree differs from it."""
    if os.environ.get("TIMINGS_COMMIT"):
        return os.environ["TIMINGS_COMMIT"]
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"


def _write_times_json(config) -> None:
    target = config.getoption("--times-json")
    label = config.getoption("--times-label")
    data = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    data["about"] = ABOUT
    run = data.setdefault("runs", {}).setdefault(label, {"notebooks": {}})
    run["command"] = shlex.join(["pytest", *sys.argv[1:]]) if sys.argv else "pytest"
    machine = _machine()
    root = Path(str(config.rootpath))
    commit = _commit(root)
    for path in sorted(_times):
        cells = []
        for name, seconds in _cells[path].items():
            num = int(name.removeprefix("Cell "))
            cells.append((num, seconds, _cpu[path].get(name, 0.0)))
        layout = code_cell_sections(nbformat.read(root / path, as_version=4))
        run["notebooks"][Path(path).stem] = {
            "path": path,
            "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": commit,
            "machine": machine,
            "load_average_at_start": _load_before.get(path, []),
            "passed": path not in _failed,
            "seconds": round(_times[path], 2),
            "cpu_seconds": round(sum(_cpu[path].values()), 2),
            "cells": [
                {
                    "code_cell": num,
                    "cell": layout[num][0],
                    "section": layout[num][1],
                    "seconds": round(sec, 2),
                    "cpu_seconds": round(cpu, 2),
                }
                for num, sec, cpu in sorted(cells)
            ],
        }
    run["notebooks"] = dict(sorted(run["notebooks"].items()))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _limits(config) -> tuple[float, float]:
    budget = config.getoption("--notebook-budget")
    return budget, budget * config.getoption("--notebook-ceiling")


def _over_ceiling(config) -> list[str]:
    _, ceiling = _limits(config)
    return [p for p, s in _times.items() if ceiling and s > ceiling]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _times:
        return
    budget, ceiling = _limits(config)
    tr = terminalreporter
    tr.section("time per notebook (nbval)")
    width = max(len(p) for p in _times)
    limits = f"budget {budget:g} s, fails above {ceiling:g} s"
    tr.write_line(f"{'notebook':{width}s}  {'seconds':>8s}  {limits}  slowest cells")
    for path in sorted(_times):
        seconds = _times[path]
        if ceiling and seconds > ceiling:
            flag = "OVER CEILING"
        elif budget and seconds > budget:
            flag = "over budget"
        else:
            flag = "ok"
        slowest = sorted(_cells[path].items(), key=lambda kv: -kv[1])[:3]
        where = ", ".join(f"{cell.replace('Cell ', '#')} {s:.1f}" for cell, s in slowest)
        tr.write_line(f"{path:{width}s}  {seconds:8.1f}  {flag:12s}  {where}")
    tr.write_line(f"{'total':{width}s}  {sum(_times.values()):8.1f}")
    over = _over_ceiling(config)
    if over:
        tr.write_line(f"FAILED: over the notebook time ceiling: {', '.join(sorted(over))}", red=True)
    if config.getoption("--times-json"):
        _write_times_json(config)
        tr.write_line(f"times written to {config.getoption('--times-json')} ({config.getoption('--times-label')})")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if _over_ceiling(session.config) and session.exitstatus == 0:
        session.exitstatus = 1
