"""TrainConfig: every setting of a training run, checked when it is made.

Each field carries its help text, which `python -m minigpt train --help` shows (the CLI builds
its training options from these fields, minigpt/cli/train_options.py). A config is checked as a
whole when it is built, so a bad value (a negative learning rate, "1e-3" read from YAML as a
string, a floor above the peak, a GPU that is not there) stops the run before any data is read
or any file is written, with a message that names the field.

    TrainConfig(steps=300, lr=3e-3)                 # the rest: defaults
    config.schedule_fn()                            # the learning rate of each step (minigpt.schedule)
    config.changed_from(recorded_dict)              # what differs from the run a checkpoint recorded
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from .schedule import KINDS, Schedule


def _opt(default, help_, **kw):
    """A TrainConfig field whose help text the CLI shows (`python -m minigpt train --help`)."""
    return field(default=default, metadata={"help": help_, **kw})


@dataclass
class TrainConfig:
    steps: int = _opt(1000, "optimizer updates in the whole run (the schedule spans them)")
    batch_size: int = _opt(8, "sequences per micro-batch, per process")
    grad_accum: int = _opt(1, "micro-batches per update; the global batch is batch_size x grad_accum x processes")
    lr: float = _opt(1e-3, "peak learning rate")
    min_lr: float | None = _opt(None, "floor the schedule decays to, at most lr (default lr/10)")
    schedule: str = _opt(
        "cosine", "learning-rate schedule after warmup (wsd: hold lr, decay over the last 20%% of steps)", choices=KINDS
    )
    warmup_steps: int | None = _opt(None, "linear warmup steps (default 5%% of steps)")
    weight_decay: float = _opt(0.1, "AdamW decoupled weight decay, on block matrices only")
    beta1: float = _opt(0.9, "AdamW beta1")
    beta2: float = _opt(0.95, "AdamW beta2")
    eps: float = _opt(1e-8, "AdamW epsilon")
    grad_clip: float = _opt(1.0, "clip the gradient's global norm to this; 0 = no clipping (norm still recorded)")
    dtype: str = _opt(
        "auto",
        "auto: bf16 where the hardware has it, fp16 on older GPUs, else fp32",
        choices=("auto", "fp32", "bf16", "fp16"),
    )
    device: str = _opt("auto", "auto (cuda, then mps, then cpu), or e.g. cpu, cuda, cuda:1, mps")
    compile: bool = _opt(False, "torch.compile the model and loss (slow first step, faster after)")
    shuffle: bool = _opt(True, "visit the training windows in a seeded random order (else in order)")
    eval_every: int = _opt(0, "evaluate on held-out data every N steps (0: only at the end)")
    eval_batches: int = _opt(20, "held-out batches per evaluation (a fixed set, the same each time)")
    save_every: int = _opt(
        0, "checkpoint every N steps, and always at the end of the run (0: only there); needs out_dir"
    )
    keep_checkpoints: int = _opt(2, "newest checkpoints to keep (0: all)")
    out_dir: str | None = _opt(None, "run folder: metrics.jsonl, checkpoints/ (None: keep nothing on disk)")
    overwrite: bool = _opt(False, "start from step 0 even if out_dir already holds checkpoints (deletes them)")
    seed: int = _opt(0, "seed for the data order and dropout (and, in the CLI, the initial weights)")
    num_workers: int = _opt(0, "DataLoader worker processes (0: load batches in the training process)")
    progress: bool = _opt(True, "show a progress bar")
    peak_tflops: float | None = _opt(None, "accelerator peak TFLOP/s for the dtype, to report MFU")

    def __post_init__(self):
        for name in ("steps", "batch_size", "grad_accum", "eval_batches"):
            _check_int(name, getattr(self, name), 1, "a positive integer")
        for name in ("eval_every", "save_every", "keep_checkpoints", "num_workers", "warmup_steps"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 0, "an integer >= 0")
        _check_int("seed", self.seed, 0, "an integer >= 0")
        if self.seed >= 2**32:
            raise ValueError(f"TrainConfig.seed must be below 2**32 (a 32-bit seed, as NumPy's), got {self.seed}.")
        _check_number("lr", self.lr)
        if not 0 < self.lr < math.inf:
            raise ValueError(f"TrainConfig.lr must be a positive number, got {self.lr}.")
        for name in ("min_lr", "weight_decay", "grad_clip", "eps"):
            value = getattr(self, name)
            if value is not None:
                _check_number(name, value)
                if not 0 <= value < math.inf:
                    raise ValueError(f"TrainConfig.{name} must be a number >= 0, got {value!r}.")
        if self.min_lr is not None and self.min_lr > self.lr:
            raise ValueError(
                f"TrainConfig.min_lr must be at most lr={self.lr} (the schedule decays from lr down to "
                f"min_lr), got {self.min_lr}."
            )
        for name in ("beta1", "beta2"):
            _check_number(name, getattr(self, name))
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be in [0, 1), got {getattr(self, name)}.")
        if self.peak_tflops is not None:
            _check_number("peak_tflops", self.peak_tflops)
            if not 0 < self.peak_tflops < math.inf:
                raise ValueError(
                    f"TrainConfig.peak_tflops is the accelerator's peak TFLOP/s, a positive number (e.g. 989 "
                    f"for an H100's bf16), got {self.peak_tflops}; leave it unset (None) to report no MFU."
                )
        for name in ("compile", "shuffle", "overwrite", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrainConfig.{name} must be True or False, got {getattr(self, name)!r}.")
        for name in ("schedule", "dtype"):
            choices = self.__dataclass_fields__[name].metadata["choices"]
            if getattr(self, name) not in choices:
                raise ValueError(f"TrainConfig.{name} must be one of {list(choices)}, got {getattr(self, name)!r}.")
        if isinstance(self.out_dir, os.PathLike):
            self.out_dir = os.fspath(self.out_dir)  # a Path is fine; the config is kept as JSON
        if self.out_dir is not None and not isinstance(self.out_dir, str):
            raise ValueError(f"TrainConfig.out_dir must be a folder path or None, got {self.out_dir!r}.")
        try:
            check_device(self.device)
        except ValueError as e:
            raise ValueError(f"TrainConfig.device {e}") from None

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else max(1, self.steps // 20)

    def schedule_fn(self) -> Schedule:
        """The learning rate of each step: warmup, then `schedule` from lr down to min_lr."""
        min_lr = self.lr / 10 if self.min_lr is None else self.min_lr
        return Schedule(self.schedule, self.lr, self.steps, min(self.warmup, self.steps), min_lr)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    # The settings that decide which window each step trains on, and with which learning rate.
    EXACT: ClassVar[tuple[str, ...]] = (
        "steps",
        "batch_size",
        "grad_accum",
        "lr",
        "min_lr",
        "schedule",
        "warmup_steps",
        "seed",
        "shuffle",
    )

    def changed_from(self, recorded: dict) -> list[str]:
        """The settings in EXACT that differ from a recorded run's (a checkpoint's train_config):
        resuming with them continues, but not as the original run would have."""
        return [k for k in self.EXACT if recorded.get(k) != getattr(self, k)]


def check_device(name: str) -> None:
    """Refuse a device torch does not know, or one this machine does not have ("cuda" without a
    GPU), before a run has read its data or written a file. The message starts with the name."""
    if name == "auto":
        return
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name!r} is not a device: use auto, cpu, cuda, cuda:N (the N-th GPU) or mps.") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"{name!r}: this machine has no CUDA GPU that torch can use (torch {torch.__version__}, CUDA "
                f"build {torch.version.cuda or 'none'}). Use cpu, or auto."
            )
        if device.index is not None and device.index >= count:
            raise ValueError(f"{name!r}: this machine has {count} GPU(s), cuda:0..cuda:{count - 1}.")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{name!r}: Apple's mps is not available here. Use cpu, or auto.")
    elif device.type != "cpu":
        raise ValueError(f"{name!r}: minigpt runs on cpu, cuda or mps.")


def _check_int(name: str, value, low: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"TrainConfig.{name} must be {what}, got {value!r}{_string_note(value)}.")


def _check_number(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"TrainConfig.{name} must be a number, got {value!r}{_string_note(value)}.")


def _string_note(value) -> str:
    """Why a number arrived as a string, when it did: YAML reads 1e-3 (no dot) as text."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return " (a string)"
    yaml = " (YAML reads exponent notation without a dot, like 1e-3, as a string: write 1.0e-3 or 0.001)"
    return f", a string, not a number{yaml if 'e' in value.lower() else ''}. Pass the number itself, or convert it"
