"""Learning-rate schedules: linear warmup, then cosine (default), linear, constant or
warmup-stable-decay.

    lr
    max ┤    ╭──╮_
        │   ╱     ╲__            cosine: slow start of the decay, fastest in the middle,
        │  ╱         ╲__         slow again near the floor
    min ┤ ╱             ╲______
        └─┴──────────────────┴── step
          warmup           total

A schedule is a plain function of the step, so a chapter can plot it before training, the
trainer can set the learning rate from it at every step, and a resumed run needs nothing
saved but the step number. Steps count optimizer updates from 0: update `s` uses `lr(s)`.

    sched = lr_schedule("cosine", 3e-3, total_steps=2000, warmup_steps=100, min_lr=3e-4)
    plt.plot(sched.values())

`lr_schedule` is the class `Schedule` under the name chapters use; the trainer builds the same
class from its config (TrainConfig.schedule_fn).

    warmup (s < W):       max_lr * (s + 1) / W     (the first update already moves, a little)
    decay  (W <= s < S):  p = (s - W) / (S - W), from 0 to just below 1
        cosine:   min_lr + (max_lr - min_lr) * (1 + cos(pi * p)) / 2
        linear:   max_lr - (max_lr - min_lr) * p
        constant: max_lr
        wsd:      max_lr until the last D = round(decay_fraction * S) steps, then linearly down:
                  max_lr - (max_lr - min_lr) * (s - (S - D)) / D
    after  (s >= S):      min_lr (constant: max_lr)

Warmup-stable-decay (WSD) holds the peak rate and decays only at the end (Hu et al. 2024, MiniCPM,
arXiv:2404.06395, sec. 4). A run can then be continued from any checkpoint of the stable phase,
and one long run gives the models of several budgets, each with its own short decay; Hägele et al.
2024 (arXiv:2405.18392) find a decay over the last 20% of the steps matches cosine (decay_fraction's
default). The decay here is linear, as transformers' get_wsd_schedule(decay_type="linear").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

KINDS = ("cosine", "linear", "constant", "wsd")


@dataclass(frozen=True)
class Schedule:
    kind: str = "cosine"
    max_lr: float = 1e-3
    total_steps: int = 1000
    warmup_steps: int = 0
    min_lr: float = 0.0
    decay_fraction: float = 0.2  # wsd only: the share of total_steps spent decaying, at the end

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown schedule {self.kind!r}; choose one of {KINDS}.")
        if not self.max_lr > 0:
            raise ValueError(f"max_lr must be positive, got {self.max_lr!r}.")
        if not 0 <= self.min_lr <= self.max_lr:
            raise ValueError(f"min_lr must be in [0, max_lr={self.max_lr}], got {self.min_lr!r}.")
        if self.total_steps <= 0 or not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(
                f"Need 0 <= warmup_steps <= total_steps and total_steps > 0, got warmup_steps="
                f"{self.warmup_steps}, total_steps={self.total_steps}."
            )
        if self.kind == "wsd" and not (
            0 < self.decay_fraction <= 1 and self.total_steps - self.decay_steps >= self.warmup_steps
        ):
            raise ValueError(
                f"wsd needs 0 < decay_fraction <= 1 and the decay ({self.decay_steps} of {self.total_steps} steps) "
                f"to start after the warmup ({self.warmup_steps} steps), got decay_fraction={self.decay_fraction!r}: "
                f"shorten the warmup or the decay."
            )

    @property
    def decay_steps(self) -> int:
        """Steps of the final decay (wsd); the other kinds decay over every step after the warmup."""
        if self.kind == "wsd":
            return max(1, round(self.decay_fraction * self.total_steps))
        return self.total_steps - self.warmup_steps

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.max_lr * (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return self.max_lr
        if step >= self.total_steps:
            return self.min_lr
        start = self.total_steps - self.decay_steps
        if step < start:  # wsd's stable phase (for the other kinds, start is the warmup's end)
            return self.max_lr
        p = (step - start) / self.decay_steps
        if self.kind in ("linear", "wsd"):
            return self.max_lr - (self.max_lr - self.min_lr) * p
        return self.min_lr + (self.max_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * p))

    def values(self, steps: int | None = None) -> list[float]:
        """lr(0), lr(1), ..., for plotting."""
        return [self(s) for s in range(self.total_steps if steps is None else steps)]

    def to_dict(self) -> dict:
        return asdict(self)


lr_schedule = Schedule  # the name chapters use
