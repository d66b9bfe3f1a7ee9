"""Run one notebook top to bottom in a fresh kernel and report what happened, as JSON lines.

    python -m coursebook.grade.runner NOTEBOOK --events-fd 3

This runs inside the sandbox (coursebook.grade.sandbox), which is its only protection: it trusts
nothing in the notebook and reports to the grader only through the events descriptor, one JSON
object per line:

    {"cell": i, "at": seconds}                    cell i (notebook index) starts
    {"error": {"cell": i, "ename", "evalue"}}     cell i raised; the run goes on (allow_errors)
    {"check": {"chapter", "exercise", "status", "message"}}   a line of MINIGPT_EXERCISE_LOG
    {"truncated": bytes}                          outputs passed the cap; the rest were dropped
    {"dead": "..."}                               the kernel died (out of memory, os._exit, ...)
    {"lost_reply": i}                             cell i finished but its reply never came (below)
    {"done": seconds, "cpu": seconds}             the last cell finished; CPU time of runner and kernel

The run continues past a cell that raises, so a learner with one broken cell keeps the marks of
the exercises whose checks still pass. The check lines are read from the log after every cell, so
a notebook stopped by the time limit keeps the checks it ran.

A cell the kernel ran but never answered (ipykernel 7 with widgets: coursebook.patient_client)
is given up on after its idle status and reported in a `lost_reply` event; the run goes on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..patient_client import PatientClient

MESSAGE_CHARS = 500  # of an error's text or a check's message, in an event


class Events:
    def __init__(self, fd: int):
        self.out = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def send(self, **event) -> None:
        self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.out.flush()


class CappedClient(PatientClient):
    """nbclient's client keeping at most `output_bytes` of outputs: a notebook that prints megabytes
    costs the time it takes, not the grader's memory. A cell whose reply is lost (PatientClient) is
    reported in a `lost_reply` event."""

    def __init__(self, nb, events: Events, output_bytes: int, **kw):
        super().__init__(nb, **kw)
        self.events, self.output_bytes, self.kept, self.dropped = events, output_bytes, 0, False

    def lost_reply(self, cell_index: int | None) -> None:
        self.events.send(lost_reply=cell_index)

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), ensure_ascii=False))
        if self.kept + size > self.output_bytes:
            if not self.dropped:
                self.dropped = True
                self.events.send(truncated=self.output_bytes)
            return None
        self.kept += size
        return super().output(outs, msg, display_id, cell_index)


def run(path: Path, events: Events, cell_timeout: float, output_bytes: int) -> None:
    log = Path(os.environ.get("MINIGPT_EXERCISE_LOG", "exercise-log.jsonl"))
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    offset = 0

    def forward_checks(**_) -> None:
        nonlocal offset
        with open(log, "rb") as f:
            f.seek(offset)
            data = f.read(1 << 20)
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next call
        offset += len(complete)
        for line in complete.splitlines():
            if not line.strip():
                continue
            try:
                check = json.loads(line)
                check["message"] = str(check.get("message", ""))[:MESSAGE_CHARS]
            except (ValueError, AttributeError):
                continue
            events.send(check=check)

    def started(cell, cell_index, **_) -> None:
        events.send(cell=cell_index, at=round(time.perf_counter() - start, 2))

    def raised(cell, cell_index, execute_reply, **_) -> None:
        content = execute_reply.get("content", {})
        events.send(
            error={
                "cell": cell_index,
                "ename": str(content.get("ename", "error"))[:100],
                "evalue": str(content.get("evalue", ""))[:MESSAGE_CHARS],
            }
        )

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    client = CappedClient(
        nb,
        events,
        output_bytes,
        timeout=math.ceil(cell_timeout),  # nbclient takes whole seconds
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=True,
        record_timing=False,
        shutdown_kernel="immediate",
        on_cell_start=started,
        on_cell_executed=forward_checks,
        on_cell_error=raised,
    )
    try:
        client.execute()
    except CellTimeoutError as error:
        events.send(dead=f"a cell ran past {cell_timeout:g} s: {str(error)[:MESSAGE_CHARS]}")
    except DeadKernelError as error:
        events.send(dead=f"the kernel died: {str(error)[:MESSAGE_CHARS]}")
    finally:
        forward_checks()
    own, kernel = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kernel.ru_utime + kernel.ru_stime  # the kernel is reaped by now
    events.send(done=round(time.perf_counter() - start, 2), cpu=round(cpu, 2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m coursebook.grade.runner", description=__doc__)
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--events-fd", type=int, required=True)
    ap.add_argument("--cell-timeout", type=float, default=300.0)
    ap.add_argument("--output-bytes", type=int, default=2 << 20)
    args = ap.parse_args(argv)
    events = Events(args.events_fd)
    try:
        run(args.notebook, events, args.cell_timeout, args.output_bytes)
    except Exception as error:  # the notebook could not be run at all: say why, to the grader
        events.send(dead=f"{type(error).__name__}: {str(error)[:MESSAGE_CHARS]}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
