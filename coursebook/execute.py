"""Re-execute chapter notebooks in place (`make notebooks`) and print a time table.

Each notebook runs top to bottom in a fresh python3 kernel of the interpreter running this command,
with the notebook's folder as working directory. Cells tagged `skip-execution` (the Colab setup
cell) are not run. Outputs and widget state are saved into the notebook; cell timing metadata
is not (it would change every run), and widget model ids are made
deterministic (see stabilize_widget_ids). A notebook over the budget is flagged; exit 1 if a
notebook fails or takes longer than --ceiling budgets (a shared machine can be slow for a while).

    coursebook execute                     # every notebook, both editions
    coursebook execute notebooks/en/01_parameters.ipynb --budget 90
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .book import chapter_notebooks, rel
from .cells import merge_streams
from .patient_client import PatientClient

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stabilize_widget_ids(nb, path: Path):
    """Replace the random widget model ids by ids derived from the notebook's file name and the
    widget's position, so that re-executing a notebook with widgets does not rewrite every id
    (and both editions get the same ids)."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    text = json.dumps(nb)
    for i, old in enumerate(list(state)):
        new = uuid.uuid5(uuid.NAMESPACE_URL, f"minigpt-course/{path.name}#{i}").hex
        text = text.replace(old, new)
    return nbformat.from_dict(json.loads(text))


def execute(path: Path, cell_timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = PatientClient(  # goes on when a cell's reply is lost (ipykernel 7 with widgets)
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=True,
        allow_errors=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(stabilize_widget_ids(nb, path), path)
    return seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook execute", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/zh/*.ipynb notebooks/en/*.ipynb")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds a notebook is meant to take (default 60)")
    ap.add_argument("--ceiling", type=float, default=3.0, help="fail above this many budgets (default 3)")
    ap.add_argument("--cell-timeout", type=int, default=600, help="seconds one cell may take (default 600)")
    args = ap.parse_args(argv)

    # Same hash seed as `coursebook nbval`, so set/dict orders printed by a cell agree.
    os.environ.setdefault("PYTHONHASHSEED", "0")
    paths = [p.resolve() for p in args.notebooks] or chapter_notebooks()
    rows, failed = [], []
    for path in paths:
        print(f"executing {rel(path)} ...", flush=True)
        try:
            seconds = execute(path, args.cell_timeout)
            if seconds > args.budget * args.ceiling:
                status = f"OVER CEILING ({args.budget * args.ceiling:g} s)"
            else:
                status = "ok" if seconds <= args.budget else f"over budget ({args.budget:g} s)"
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            seconds, status = float("nan"), "FAILED"
            failed.append(rel(path))
            print(str(exc)[-3000:], file=sys.stderr)
        if status.startswith("OVER CEILING"):
            failed.append(rel(path))
        rows.append((rel(path), seconds, status))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':{width}s}  {'seconds':>8s}  status")
    for name, seconds, status in rows:
        shown = f"{seconds:8.1f}" if seconds == seconds else f"{'-':>8s}"
        print(f"{name:{width}s}  {shown}  {status}")
    total = sum(s for _, s, _ in rows if s == s)
    print(f"{'total':{width}s}  {total:8.1f}")
    if failed:
        print(f"\nFAILED or over budget: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
