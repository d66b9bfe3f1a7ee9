"""A preallocated key/value cache: what decoding reads instead of recomputing the past.

One buffer per layer for K and one for V, shaped (batch, kv_heads, max_len, head_dim): the
grouped-query layout, before heads are repeated, so a GQA model really stores num_kv_heads
heads. Buffers are allocated once for the longest sequence, so decoding never reallocates.

static=True keeps the write position in a tensor on the device and hands attention the whole
buffer (the model masks the slots not yet written). Every decode step then has the same shapes
and no Python number that changes, so `torch.compile` compiles the step once and, on a GPU,
replays it as a CUDA graph (generate(..., compile=True)); the position is moved in place on the
device, inside the compiled step. The default keeps a Python int and returns only the filled
part: simpler to read, and what the chapters use.

Both kinds implement minigpt.model.Cache (past, key_length, update, advance), and the model is
the one party that advances either: after a forward, `length` counts the tokens it stored.
"""

from __future__ import annotations

import torch

from .config import ModelConfig


class KVCache:
    def __init__(
        self,
        config: ModelConfig,
        batch_size: int,
        max_len: int | None = None,
        device=None,
        dtype: torch.dtype = torch.float32,
        static: bool = False,
    ):
        max_len = max_len or config.max_seq_len
        if max_len > config.max_seq_len:
            raise ValueError(f"KVCache max_len={max_len} exceeds the model's context max_seq_len={config.max_seq_len}.")
        shape = (config.num_layers, batch_size, config.num_kv_heads, max_len, config.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self._length = 0
        self.static = static
        if static:
            self.position = torch.zeros((), dtype=torch.long, device=device)  # == length, on the device
            if hasattr(torch, "_dynamo") and hasattr(torch._dynamo, "mark_static_address"):
                # fixed addresses, so a captured CUDA graph may write into them
                for buffer in (self.k, self.v, self.position):
                    torch._dynamo.mark_static_address(buffer)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new (B, KVH, T, d) keys/values after the cached ones; return all of them
        (static: the whole buffer, unwritten slots included)."""
        if self.static:
            slots = self.position + torch.arange(k.shape[2], device=k.device)
            self.k[layer].index_copy_(2, slots, k)
            self.v[layer].index_copy_(2, slots, v)
            return self.k[layer], self.v[layer]
        start = self._length
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KVCache is full: {start} + {k.shape[2]} tokens > max_len={self.max_len}.")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    @property
    def past(self) -> int | torch.Tensor:
        """The position of the next token: an int, or (static) the 0-d device tensor itself, so a
        compiled step reads it without a device-to-host copy."""
        return self.position if self.static else self._length

    def key_length(self, new_tokens: int) -> int:
        """Keys `update` returns once new_tokens more are stored: the filled part, or (static) the
        whole buffer."""
        return self.max_len if self.static else self._length + new_tokens

    def advance(self, n: int) -> None:
        """Called by the model once all layers have stored their n new tokens."""
        if self.static:
            self.position += n  # in place, on the device, between (compiled) steps
        else:
            self._length += n

    @property
    def length(self) -> int:
        """Tokens stored; also the position of the next token. (Static: read from the device.)"""
        return int(self.position) if self.static else self._length

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep rows batch_index (beam search picks which hypotheses continue)."""
        self.k = self.k.index_select(1, batch_index)
        self.v = self.v.index_select(1, batch_index)

    def reset(self) -> None:
        self._length = 0
        if self.static:
            self.position.zero_()

    @property
    def nbytes(self) -> int:
        """Bytes allocated (for the full max_len)."""
        return self.k.numel() * self.k.element_size() + self.v.numel() * self.v.element_size()
