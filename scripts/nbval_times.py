"""pytest plugin: a per-notebook time table for nbval runs, where the time goes, and a ceiling.

    PYTHONPATH=scripts pytest -p nbval_times --nbval ... --notebook-budget 60 --notebook-ceiling 3 notebooks/en

Sums the setup, call and teardown durations of every nbval cell item of a notebook (kernel start
included) and prints one row per notebook at the end of the run, with its three slowest cells.

The budget (--notebook-budget, default 60 s on a 2-core CPU) is the goal each chapter is written
to; a notebook over it is flagged OVER BUDGET but does not fail the run, because a shared machine
can be several times slower for a while. The run fails only when a notebook takes longer than
--notebook-ceiling times the budget (default 3; 0 turns the ceiling off).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

_times: dict[str, float] = defaultdict(float)
_cells: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))


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


def pytest_runtest_logreport(report):
    path, _, cell = report.nodeid.partition("::")
    if path.endswith(".ipynb"):
        _times[path] += report.duration
        _cells[path][cell] += report.duration


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
    tr.write_line(f"{'notebook':{width}s}  {'seconds':>8s}  budget {budget:g} s, fails above {ceiling:g} s  slowest cells")
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if _over_ceiling(session.config) and session.exitstatus == 0:
        session.exitstatus = 1
