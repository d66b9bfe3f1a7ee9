"""Run one notebook in the sandbox and collect what happened (host side of coursebook.grade.runner).

`run_notebook` stages a copy of the notebook in a temporary folder, starts the runner in the
sandbox with the limits, reads the runner's events from a pipe (at most EVENT_BYTES of them), kills
the whole sandbox at the time limit, and returns a `Run`: every check's last verdict, the cells that
raised, where it stopped and why. Nothing the notebook does reaches the caller except those events.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import sandbox

EVENT_BYTES = 4 << 20  # of events read from one run; a notebook that logs checks in a loop is cut here
STDERR_BYTES = 8 << 10  # of the sandbox's stderr kept, to say why a run could not start


@dataclass
class Run:
    """What one notebook did. `checks` maps (chapter, exercise) to the last verdict logged for it."""

    checks: dict[tuple[int, int], dict] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    last_cell: int | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of the runner and its kernel, when the run finished
    done: bool = False
    timed_out: bool = False
    truncated: bool = False
    dead: str = ""
    lost_replies: list[int] = field(default_factory=list)  # cells whose reply never came (runner)
    stderr: str = ""
    starts: list[tuple[int, float]] = field(default_factory=list)  # (cell index, seconds into the run)
    end: float | None = None  # seconds into the run when the last cell finished

    def event(self, event: dict) -> None:
        if "cell" in event and isinstance(event["cell"], int):
            self.last_cell = event["cell"]
            if isinstance(event.get("at"), (int, float)):
                self.starts.append((event["cell"], float(event["at"])))
        elif isinstance(event.get("check"), dict):
            check = event["check"]
            try:
                key = (int(check["chapter"]), int(check["exercise"]))
            except (KeyError, TypeError, ValueError):
                return
            self.checks[key] = check
        elif isinstance(event.get("error"), dict):
            self.errors.append(event["error"])
        elif "truncated" in event:
            self.truncated = True
        elif "lost_reply" in event:
            if isinstance(event["lost_reply"], int):
                self.lost_replies.append(event["lost_reply"])
        elif "dead" in event:
            self.dead = str(event["dead"])
        elif "done" in event:
            self.done = True
            self.cpu_seconds = float(event.get("cpu") or 0.0)
            self.end = float(event["done"]) if isinstance(event["done"], (int, float)) else None

    def slowest_cell(self) -> tuple[int, float] | None:
        """(cell index, seconds) of the cell that took longest, when the run finished."""
        if self.end is None or not self.starts:
            return None
        bounds = [at for _, at in self.starts[1:]] + [self.end]
        return max(((i, stop - at) for (i, at), stop in zip(self.starts, bounds, strict=True)), key=lambda t: t[1])


def _read_events(fd: int, run: Run) -> None:
    taken = 0
    with os.fdopen(fd, "rb") as f:
        for line in f:  # read to the end even past the cap, so the writer never blocks
            taken += len(line)
            if taken > EVENT_BYTES:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                run.event(event)


def _read_tail(stream, keep: list[bytes]) -> None:
    for chunk in iter(lambda: stream.read(4096), b""):
        keep.append(chunk)
        while sum(map(len, keep)) > STDERR_BYTES and len(keep) > 1:
            keep.pop(0)


def run_notebook(
    notebook: Path, limits: sandbox.Limits, extra_files: Sequence[Path] = (), sandboxed: bool = True
) -> Run:
    """Run `notebook` top to bottom in a fresh kernel (in the sandbox unless sandboxed=False) and
    return what happened. The notebook must be readable by nbformat (the caller checks)."""
    run = Run()
    with tempfile.TemporaryDirectory(prefix="coursebook-grade-") as tmp:
        staged = Path(tmp) / "notebook.ipynb"  # a plain name: the learner's file name is not trusted
        nbformat.write(nbformat.read(notebook, as_version=4), staged)
        read_end, write_end = os.pipe()
        if sandboxed:
            command = sandbox.command(staged, list(extra_files), limits, limits.seconds, write_end)
            env = None
        else:  # our own notebooks only (coursebook check-student --no-sandbox): no protection at all
            work = Path(tmp) / "work"
            work.mkdir()
            for path in [staged, *extra_files]:
                (work / path.name).write_bytes(Path(path).read_bytes())
            command = [
                sys.executable, "-m", "coursebook.grade.runner", str(work / staged.name),
                "--events-fd", str(write_end), "--cell-timeout", f"{limits.seconds:g}",
                "--output-bytes", str(limits.output_bytes),
            ]  # fmt: skip
            env = {**os.environ, **sandbox.environment(str(work), str(Path(tmp) / "log" / "checks.jsonl"))}
            env["HOME"] = env["MPLCONFIGDIR"] = env["IPYTHONDIR"] = env["JUPYTER_RUNTIME_DIR"] = str(Path(tmp) / "home")
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=sandbox.set_limits(limits),
            start_new_session=True,  # one process group to kill at the time limit
            cwd=tmp,
            env=env,
        )
        os.close(write_end)
        stderr: list[bytes] = []
        readers = [
            threading.Thread(target=_read_events, args=(read_end, run), daemon=True),
            threading.Thread(target=_read_tail, args=(proc.stderr, stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            proc.wait(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # bwrap, and with it every process in the sandbox
            proc.wait()
        for reader in readers:
            reader.join(timeout=10)
        run.seconds = time.perf_counter() - start
        run.stderr = b"".join(stderr).decode("utf-8", "replace")
    return run
