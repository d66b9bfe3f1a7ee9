"""Training checkpoints: safe to kill mid-save, loaded without unpickling arbitrary objects.

A checkpoint is a folder `checkpoints/step-0000500/` holding

    config.json, model.safetensors   the weights (fp32) as a Hugging Face folder: from_pretrained loads it
    trainer_state.json               step, data position, configs, metrics history (plain JSON)
    optimizer.pt                     AdamW moments, grad-scaler state, RNG states: tensors, dicts,
                                     lists and numbers only, read back with torch.load(weights_only=True)
    tokenizer.json (+ its config)    when the run has one, so a checkpoint is self-contained; its
                                     sha256 is recorded in config.json and trainer_state.json

`export_checkpoint` turns one into the folder a user shares (weights in bf16, say, the tokenizer
with its tokenizer_config.json): what `python -m minigpt export` does.

Crash safety: everything is written into `.tmp-step-0000500/` first and the folder is renamed
when complete. A rename is atomic, so a folder named `step-*` is always whole. A save that fails
(a full disk) removes its `.tmp-*` folder and raises; a run killed while saving leaves one, which
the loader ignores and the next save removes.
"""

from __future__ import annotations

import errno
import json
import pickle
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from .files import fsync_dir, fsync_tree, raise_if_disk_full
from .hf_config import weight_dtype
from .hf_format import WEIGHTS_NAME, check_tokenizer_sha256, load_state_dict, pretrained_files, save_pretrained
from .model import MiniGPT
from .tokenizer import Tokenizer

STATE_NAME = "trainer_state.json"
TENSORS_NAME = "optimizer.pt"
TOKENIZER_NAME = "tokenizer.json"
CHECKPOINTS = "checkpoints"
_NAME = re.compile(r"^step-(\d+)$")


def save_checkpoint(root, step: int, model, state: dict, tensors: dict, tokenizer=None, keep: int = 2) -> Path:
    """Write checkpoint `root/step-{step}` atomically; keep the newest `keep` (<= 0: all)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a run killed while saving
        shutil.rmtree(stale, ignore_errors=True)
    final = root / f"step-{step:07d}"
    tmp = root / f".tmp-step-{step:07d}"
    tmp.mkdir()
    try:
        _write_files(tmp, model, state, tensors, tokenizer)
        fsync_tree(tmp)
    except BaseException:  # free what the torn checkpoint took (a full disk); the older ones are untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():  # the same step saved again (e.g. a resumed run saving at its start)
        old = root / f".tmp-old-step-{step:07d}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)
    fsync_dir(root)
    if keep > 0:
        for old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _write_files(folder: Path, model, state: dict, tensors: dict, tokenizer) -> None:
    # weights, config.json and the tokenizer; says "disk full while writing ..." itself
    pretrained_files(model, torch.float32, tokenizer).write(folder)
    writes: list[tuple[Path, Callable[[], object]]] = [
        (folder / TENSORS_NAME, lambda: torch.save(tensors, folder / TENSORS_NAME))
    ]
    # Written last: its presence inside the folder marks the files above as complete.
    writes.append(
        (folder / STATE_NAME, lambda: (folder / STATE_NAME).write_text(json.dumps(state, indent=1), encoding="utf-8"))
    )
    for target, write in writes:
        try:
            write()
        except Exception as e:  # torch.save reports a full disk as a RuntimeError ("unexpected pos")
            raise_if_disk_full(e, target)
            if isinstance(e, RuntimeError) and ("write failed" in str(e) or "unexpected pos" in str(e)):
                raise OSError(errno.EIO, f"writing {target} failed ({e}). Earlier checkpoints are intact.") from e
            raise


def list_checkpoints(root) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found) if (p / STATE_NAME).is_file()]


def find_checkpoint(path) -> Path | None:
    """The checkpoint a path means: a checkpoint folder itself, or the newest one under a run
    folder (`path/checkpoints/`) or a checkpoints folder. None if there is none."""
    path = Path(path)
    if (path / STATE_NAME).is_file():
        return path
    for root in (path / CHECKPOINTS, path):
        found = list_checkpoints(root)
        if found:
            return found[-1]
    return None


class DamagedCheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, corrupt); the message names the file."""


def _read_checkpoint(folder: Path) -> tuple[dict, dict, dict]:
    """(weights, JSON state, tensor state) of one checkpoint folder."""
    try:
        state = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
        if not isinstance(state, dict) or "step" not in state:
            raise ValueError("no 'step' in it")
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise DamagedCheckpointError(f"{folder / STATE_NAME} is damaged ({e})") from None
    try:
        tensors = torch.load(folder / TENSORS_NAME, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(
            f"{folder / TENSORS_NAME} holds objects other than tensors, numbers, strings, lists and dicts, "
            f"so it is refused: unpickling arbitrary objects can run code. A minigpt checkpoint never "
            f"contains such objects; this file was not written by minigpt or was tampered with. ({e})"
        ) from None
    except Exception as e:  # a truncated file: OSError [Errno 22], RuntimeError from the zip reader, EOFError
        raise DamagedCheckpointError(f"{folder / TENSORS_NAME} is damaged ({type(e).__name__}: {e})") from None
    try:
        weights = load_state_dict(folder)
    except Exception as e:
        raise DamagedCheckpointError(f"{folder / WEIGHTS_NAME} is damaged ({e})") from None
    return weights, state, tensors


def load_checkpoint(path) -> tuple[Path, dict, dict, dict]:
    """(folder, weights, JSON state, tensor state) of the checkpoint `path` means.

    The tensor state is read with `torch.load(weights_only=True)`: a file holding any other
    object (which unpickling could use to run code) is refused.

    A damaged file (truncated weights, optimizer state or trainer state) raises
    DamagedCheckpointError naming it. Given a run folder, a damaged newest checkpoint is
    skipped, with a note on stderr, for the newest intact one; given one checkpoint folder, the
    error names the intact checkpoint to resume from instead."""
    folder = find_checkpoint(path)
    if folder is None:
        raise FileNotFoundError(
            f"No checkpoint at {path}: expected a folder with {STATE_NAME}, or a run folder with "
            f"{CHECKPOINTS}/step-*/ inside. Train with --save-every or check the path."
        )
    explicit = (Path(path) / STATE_NAME).is_file()
    newest_first = list(reversed(list_checkpoints(folder.parent)))
    candidates = [folder] if explicit else newest_first
    damaged = []
    for candidate in candidates:
        try:
            weights, state, tensors = _read_checkpoint(candidate)
        except DamagedCheckpointError as e:
            damaged.append(str(e))
            continue
        if damaged:
            print(
                f"note: {'; '.join(damaged)}. Resuming from {candidate}, the newest intact checkpoint.", file=sys.stderr
            )
        return candidate, weights, state, tensors
    if explicit:
        older = []
        for other in newest_first:
            if other.name < folder.name:
                try:
                    _read_checkpoint(other)
                except (DamagedCheckpointError, ValueError):
                    continue
                older.append(other)
                break
        fix = (
            f'Resume from the newest intact one instead: --resume {older[0]} (Trainer.resume("{older[0]}")).'
            if older
            else "No older intact checkpoint exists: start again (--overwrite)."
        )
        raise DamagedCheckpointError(f"{damaged[0]}. {fix}")
    raise DamagedCheckpointError(
        f"Every checkpoint under {folder.parent} is damaged: {'; '.join(damaged)}. Start again (--overwrite)."
    )


def load_weights(model, weights: dict) -> None:
    """Copy a checkpoint's tensors into `model` in place. A tied lm_head is stored once, as
    model.embed_tokens.weight, so it is the one name allowed to be missing."""
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = getattr(model.config, "tie_word_embeddings", False)
    missing = [k for k in missing if not (tied and k == "lm_head.weight")]
    if missing or unexpected:
        raise ValueError(
            f"Checkpoint weights do not fit the model: missing {missing[:8]}, unexpected {unexpected[:8]}."
        )


def export_checkpoint(checkpoint, out, dtype: str | torch.dtype = "fp32") -> tuple[MiniGPT, list[str]]:
    """Write the checkpoint folder `checkpoint` as a Hugging Face folder `out`: config.json and
    model.safetensors in `dtype` ("fp32", "bf16", "fp16"), the run's tokenizer (tokenizer.json +
    tokenizer_config.json, its sha256 recorded in config.json) when the checkpoint or its run has
    one, and the run's run_summary.json. One folder, replaced whole (minigpt.hf_format.save_pretrained).
    Returns (the model, the names of the files written)."""
    folder, out = Path(checkpoint), Path(out)
    dtype = weight_dtype(dtype)
    model = MiniGPT.from_pretrained(folder)
    run_dir = folder.parent.parent
    tok_file = next((p for p in (folder / TOKENIZER_NAME, run_dir / TOKENIZER_NAME) if p.is_file()), None)
    tokenizer = Tokenizer.from_file(tok_file) if tok_file else None
    if tokenizer is not None:
        check_tokenizer_sha256(
            folder, tokenizer, f"{tok_file}", "The run folder was changed after this checkpoint; export another one."
        )
    extra = {}
    if (run_dir / "run_summary.json").is_file():
        extra["run_summary.json"] = (run_dir / "run_summary.json").read_text(encoding="utf-8")
    save_pretrained(model, out, dtype=dtype, tokenizer=tokenizer, extra=extra)
    written = ["config.json", "model.safetensors"]
    written += ["tokenizer.json", "tokenizer_config.json"] if tokenizer is not None else []
    return model, written + list(extra)
