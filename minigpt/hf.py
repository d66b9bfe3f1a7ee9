"""To and from Hugging Face folders: config.json + model.safetensors.

    MiniGPT.from_pretrained(folder) / model.save_pretrained(folder)   (the usual way)
    minigpt.hf.from_pretrained(folder) / minigpt.hf.save_pretrained(model, folder)

The format itself (config keys, defaults, tensor files) is in minigpt.hf_format, below the
model; this module sits above it and re-exports those names, so `minigpt.hf` is the one place to
look for anything Hugging Face.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .hf_format import (
    CONFIG_NAME,
    HF_DEFAULTS,
    HF_REQUIRED,
    INDEX_NAME,
    PICKLE_NAME,
    SUPPORTED_TYPES,
    WEIGHTS_NAME,
    from_hf_config,
    load_state_dict,
    raise_if_disk_full,
    save_pretrained,
    to_hf_config,
)
from .model import MiniGPT

__all__ = [
    "CONFIG_NAME",
    "HF_DEFAULTS",
    "HF_REQUIRED",
    "INDEX_NAME",
    "PICKLE_NAME",
    "SUPPORTED_TYPES",
    "WEIGHTS_NAME",
    "from_hf_config",
    "from_pretrained",
    "load_state_dict",
    "raise_if_disk_full",
    "save_pretrained",
    "to_hf_config",
]


def from_pretrained(path: str | Path, device=None, dtype: torch.dtype | None = None) -> MiniGPT:
    """MiniGPT.from_pretrained: a Hugging Face Llama/Qwen2 folder as a MiniGPT."""
    return MiniGPT.from_pretrained(path, device=device, dtype=dtype)
