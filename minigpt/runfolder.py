"""A training run's folder: what may be in it, and one writer at a time.

    runs/course/
        run_config.json  run_summary.json   the command line's record of the run (minigpt/cli/train.py)
        metrics.jsonl                       one JSON line per step and per evaluation (the Trainer)
        tokenizer.json   data/              the tokenizer and the token files (minigpt.data.prepare)
        checkpoints/step-0000500/ ...       complete checkpoints (minigpt.checkpoint)
        .lock  .lock.json                   the lock of the process writing the folder; who that is

Two rules keep a run from destroying files:

- A folder that holds anything a run does not write (an exported model's config.json and
  model.safetensors, a notebook, ...) is not a run folder, and training into it is refused: the
  run would overwrite its tokenizer.json and run_summary.json. Hidden files (.DS_Store,
  .ipynb_checkpoints) do not count.
- One process at a time writes a run folder. It holds an operating-system lock on `.lock`
  (the `filelock` package) for as long as it writes, and says in `.lock.json` who it is, so a
  second run is refused with a message that names the first. The system releases the lock of a
  process that dies, so a run killed with SIGKILL leaves no lock, only its `.lock.json`: the
  next run takes the folder over and says so.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from .checkpoint import CHECKPOINTS, list_checkpoints

LOCK_NAME = ".lock"
HOLDER_NAME = ".lock.json"
METRICS_NAME = "metrics.jsonl"
RUN_NAMES = {
    "run_config.json",
    "run_summary.json",
    "run_summary.json.tmp",
    METRICS_NAME,
    "tokenizer.json",
    "data",
    CHECKPOINTS,
}


class NotARunFolderError(FileExistsError):
    """The path a run would write into is a file, or a folder with other things in it."""


class RunInUseError(RuntimeError):
    """Another process is writing this run folder."""


def check_run_folder(folder) -> None:
    """Refuse a run folder that is a file, or a folder holding what a run does not write.
    A missing or empty folder is fine; nothing is created or changed."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise NotARunFolderError(f"{folder} is a file, not a folder; nothing was changed. Choose a folder path.")
    others = sorted(p.name for p in folder.iterdir() if p.name not in RUN_NAMES and not p.name.startswith("."))
    if others:
        shown = ", ".join(others[:4]) + (f" and {len(others) - 4} more" if len(others) > 4 else "")
        kind = " (an exported model)" if {"config.json", "model.safetensors"} & set(others) else ""
        raise NotARunFolderError(
            f"{folder} is not a training run's folder: it holds {shown}{kind}, which a run would not write; "
            f"nothing was changed. Move them out, or train into a new or empty folder."
        )


def check_fresh_start(folder, overwrite: bool) -> None:
    """A fresh run (step 0) into `folder`: refuse one that already holds checkpoints unless
    `overwrite`, which deletes them (the caller holds the folder's lock)."""
    root = Path(folder) / CHECKPOINTS
    found = list_checkpoints(root)
    if found and not overwrite:
        raise FileExistsError(
            f"{folder} already holds a run (checkpoints up to {found[-1].name}). Resume it (Trainer.resume() / "
            f"--resume), choose another out_dir, or set overwrite=True (--overwrite) to start over and delete them."
        )
    if found:
        import shutil

        shutil.rmtree(root)


def check_writable(folder) -> None:
    """Refuse a folder that cannot be written (a read-only disk, no permission), before anything is made."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():  # a file on the way: no folder can be made under it
        where = f"{folder} is a file" if existing == folder else f"{folder} cannot be made: {existing} is a file"
        raise NotARunFolderError(f"{where}, not a folder; nothing was changed. Choose a folder path.")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{folder} cannot be written: {existing} is read-only (a read-only disk, or no permission); "
            f"nothing was changed. Choose a folder on a writable disk."
        )


_HELD: dict[Path, list] = {}  # folder -> [FileLock, depth]: the folders this process holds


@contextlib.contextmanager
def hold_run_folder(folder) -> Iterator[Path]:
    """Hold `folder` (made if missing) for as long as the block runs: refuse if another process
    holds it, take it over (with a note on stderr) from one that died holding it. Nested holds
    of one folder in one process (the CLI, then its Trainer) are one hold."""
    folder = Path(folder).resolve()
    if folder in _HELD:
        _HELD[folder][1] += 1
        try:
            yield folder
        finally:
            _HELD[folder][1] -= 1
        return
    check_run_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunInUseError(
            f"{folder} is being written by another run ({_describe(_holder(folder))}); nothing was changed. "
            f"Wait for it to finish or stop it, or choose another --out / out_dir."
        ) from None
    try:
        left = _holder(folder)
        if left is not None:
            print(
                f"note: {folder} was left by a run that stopped without finishing ({_describe(left)}, no longer "
                f"running); this run takes the folder over.",
                file=sys.stderr,
            )
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable), *sys.argv])[:300],
        }
        (folder / HOLDER_NAME).write_text(json.dumps(me), encoding="utf-8")
        _HELD[folder] = [lock, 1]
        yield folder
    finally:
        _HELD.pop(folder, None)
        with contextlib.suppress(OSError):
            (folder / HOLDER_NAME).unlink(missing_ok=True)
        lock.release()


def _holder(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(holder: dict | None) -> str:
    if not holder:
        return "a process that has not said which"
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}: {holder.get('command')}"


def open_metrics_log(folder, history: list[dict]):
    """metrics.jsonl, rewritten from the in-memory history: after a resume it holds exactly the
    steps up to the checkpoint, even if the killed run had logged further. Append a line per
    step; flush, so a crash keeps every line written so far."""
    path = Path(folder) / METRICS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "w", encoding="utf-8")
    log.writelines(json.dumps(m) + "\n" for m in history)
    return log
