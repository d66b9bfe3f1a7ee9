"""pytest plugin: a per-notebook time table for nbval runs, and a time budget per notebook.

    PYTHONPATH=scripts pytest -p nbval_times --nbval ... --notebook-budget 60 notebooks/en

Sums the setup, call and teardown durations of every nbval cell item of a notebook (kernel start
included), prints one row per notebook at the end of the run, and fails the run when a notebook
exceeds --notebook-budget seconds (default 60; 0 turns the budget off).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

_times: dict[str, float] = defaultdict(float)


def pytest_addoption(parser):
    parser.addoption(
        "--notebook-budget",
        type=float,
        default=60.0,
        help="seconds one notebook may take under nbval (default 60; 0: no budget)",
    )


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def _over(config) -> list[str]:
    budget = config.getoption("--notebook-budget")
    return [p for p, s in _times.items() if budget and s > budget]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _times:
        return
    budget = config.getoption("--notebook-budget")
    tr = terminalreporter
    tr.section("time per notebook (nbval)")
    width = max(len(p) for p in _times)
    tr.write_line(f"{'notebook':{width}s}  {'seconds':>8s}  budget {budget:g} s")
    for path in sorted(_times):
        seconds = _times[path]
        flag = "OVER BUDGET" if budget and seconds > budget else "ok"
        tr.write_line(f"{path:{width}s}  {seconds:8.1f}  {flag}")
    tr.write_line(f"{'total':{width}s}  {sum(_times.values()):8.1f}")
    over = _over(config)
    if over:
        tr.write_line(f"FAILED: over the notebook time budget: {', '.join(sorted(over))}", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    over = _over(session.config)
    if over and session.exitstatus == 0:
        session.exitstatus = 1
