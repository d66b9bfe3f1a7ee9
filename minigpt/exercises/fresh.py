"""Fresh inputs for the checks: each check draws from a generator of its own, seeded from the
operating system, so a copied printed number cannot pass it and the notebook's random state is
never touched."""

from __future__ import annotations

import os

import torch


def fresh_seed() -> int:
    return int.from_bytes(os.urandom(7), "little")


def fresh_generator() -> torch.Generator:
    return torch.Generator().manual_seed(fresh_seed())


def randint(g: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high], drawn from g."""
    return int(torch.randint(low, high + 1, (1,), generator=g))


def choice(g: torch.Generator, options: list):
    """One of the options, drawn from g."""
    return options[randint(g, 0, len(options) - 1)]
