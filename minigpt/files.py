"""Writing files that survive a crash and a full disk: folders replaced whole, fsync, clear errors.

    replace_folder(path, write, replaces=[...])   write(new_folder), then the new folder takes path's place
    fsync_tree(folder)                            the files' bytes on the disk before a rename publishes them
    raise_if_disk_full(error, target)             every library's way of saying "disk full", as one OSError

Used by minigpt.hf_format (save_pretrained) and minigpt.checkpoint (training checkpoints).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def replace_folder(path: Path, write: Callable[[Path], None], replaces: set[str]) -> None:
    """Make `path` the folder `write(folder)` fills, in one step: written into a new sibling,
    which takes the old folder's place only when `write` returned. Files of the old folder whose
    names are not in `replaces` are carried over, as hard links where the disk allows (no copy
    of the bytes). A crash leaves the old folder, and at most a hidden sibling."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a folder; nothing was changed. Choose a folder path.")
    target = path.resolve()  # through a symlink: the folder it names is replaced, the link kept
    if target == Path.cwd().resolve() or target in Path.cwd().resolve().parents:
        raise ValueError(
            f"{path} is the current working folder (or contains it), which writing it whole would replace: "
            f"write into a folder of its own, e.g. {path / 'model'}."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    new, old = (target.parent / f".{target.name}.{kind}-{os.getpid()}" for kind in ("saving", "replaced"))
    shutil.rmtree(new, ignore_errors=True)  # left by a crash of this same pid number: nobody else's
    os.mkdir(new)
    try:
        if target.is_dir():
            _carry_over(target, new, skip=replaces)
        write(new)
        fsync_tree(new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if target.exists():
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


def _carry_over(old: Path, new: Path, skip: set[str]) -> None:
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:  # a file system without hard links: copy
            shutil.copy2(src, dst)

    for entry in old.iterdir():
        if entry.name in skip:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, new / entry.name, symlinks=True, copy_function=link)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), new / entry.name)
        else:
            link(entry, new / entry.name)


def fsync_tree(folder: Path) -> None:
    """Flush a folder's files to disk before a rename publishes them (a power cut cannot publish
    a folder whose contents are still only in memory)."""
    for f in folder.iterdir():
        if f.is_file() and not f.is_symlink():
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def raise_if_disk_full(error: BaseException, target) -> None:
    """Re-raise a failed write as `OSError(ENOSPC, "disk full while writing <target>")` when the
    disk is full. Libraries word it differently: OSError errno 28; safetensors' error carries
    the OS message; torch.save reports only its own position check ("unexpected pos", "write
    failed"), so then the disk is asked how much room is left. Anything else is left to the
    caller to re-raise."""
    message = str(error)
    full = getattr(error, "errno", None) == errno.ENOSPC or "No space left" in message
    if not full and isinstance(error, RuntimeError) and ("unexpected pos" in message or "write failed" in message):
        full = _free_bytes(Path(target)) < 1 << 20
    if full:
        raise OSError(
            errno.ENOSPC,
            f"disk full while writing {target}. Nothing was replaced: files written before are intact. "
            f"Free some space (or point --out / out_dir to a disk with room) and run again.",
        ) from error


def _free_bytes(path: Path) -> int:
    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0
