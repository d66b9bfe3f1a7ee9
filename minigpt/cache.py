"""A preallocated key/value cache: what decoding reads instead of recomputing the past.

One buffer per layer for K and one for V, shaped (batch, kv_heads, max_len, head_dim): the
grouped-query layout, before heads are repeated, so a GQA model really stores num_kv_heads
heads. Buffers are allocated once for the longest sequence, so decoding never reallocates.
"""

from __future__ import annotations

import torch

from .config import ModelConfig


class KVCache:
    def __init__(self, config: ModelConfig, batch_size: int, max_len: int | None = None,
                 device=None, dtype: torch.dtype = torch.float32):
        max_len = max_len or config.max_seq_len
        if max_len > config.max_seq_len:
            raise ValueError(
                f"KVCache max_len={max_len} exceeds the model's context max_seq_len={config.max_seq_len}."
            )
        shape = (config.num_layers, batch_size, config.num_kv_heads, max_len, config.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self.length = 0  # tokens stored; also the position of the next token

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new (B, KVH, T, d) keys/values after the cached ones; return all of them."""
        end = self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KVCache is full: {self.length} + {k.shape[2]} tokens > max_len={self.max_len}.")
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self, n: int) -> None:
        """Called by the model once all layers have stored their n new tokens."""
        self.length += n

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep rows batch_index (beam search picks which hypotheses continue)."""
        self.k = self.k.index_select(1, batch_index)
        self.v = self.v.index_select(1, batch_index)

    def reset(self) -> None:
        self.length = 0

    @property
    def nbytes(self) -> int:
        """Bytes allocated (for the full max_len)."""
        return self.k.numel() * self.k.element_size() + self.v.numel() * self.v.element_size()
