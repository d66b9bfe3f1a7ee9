"""A preallocated key/value cache: what decoding reads instead of recomputing the past.

One buffer per layer for K and one for V, shaped (batch, kv_heads, max_len, head_dim): the
grouped-query layout, before heads are repeated, so a GQA model really stores num_kv_heads
heads. Buffers are allocated once for the longest sequence, so decoding never reallocates.

Both kinds implement minigpt.model.Cache, and the model is the one party that advances a cache:

- the default (growing) cache counts its tokens in a Python int, returns only the filled part
  and writes after what it holds; `length` is the position of the next token. Simpler to read,
  and what the chapters use: `model(ids, kv_cache=cache)` again and again continues the sequence.
- static=True keeps no position of its own: the new tokens are written where the model's
  `cache_position` says (a device tensor the decoding loop owns, like litgpt's input_pos), and
  attention gets the whole buffer (the model masks the slots not yet written). Every decode step
  then has the same shapes and no Python number that changes, so `torch.compile` compiles the
  step once and, on a GPU, replays it as a CUDA graph (generate(..., compile=True)). A graph may
  write into the buffers, but a position moved inside it would be an input mutation, for which
  inductor refuses the graph: the loop moves its cache_position between steps instead.
"""

from __future__ import annotations

from typing import Protocol

import torch

from .config import ModelConfig


class Cache(Protocol):
    """What the model needs from a key/value cache (KVCache below implements it; so can a chapter's own)."""

    @property
    def length(self) -> int | None:
        """Tokens stored, i.e. the position of the next one; None if the cache does not count them
        (then every call brings cache_position, e.g. a static cache in a compiled loop)."""
        ...

    def key_length(self, new_tokens: int) -> int:
        """How many keys `update` returns once `new_tokens` more are stored."""
        ...

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor, cache_position: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this layer's new (B, KVH, T, d) keys/values in slots cache_position (T,); return the
        keys and values to attend over, shaped (B, KVH, key_length, d)."""
        ...

    def advance(self, n: int) -> None:
        """Count the n tokens every layer has just stored (the model calls it once per forward)."""
        ...


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
            mark_static_address(self.k, self.v)  # fixed addresses, so a captured CUDA graph may write into them

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor, cache_position: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new (B, KVH, T, d) keys/values and return all keys/values to attend over.

        Growing: after the cached ones (cache_position, if given, names the same slots); returns
        the filled part. Static: at cache_position (required); returns the whole buffer, unwritten
        slots included."""
        if self.static:
            if cache_position is None:
                raise ValueError(
                    "A static KVCache is written where cache_position says: pass model(..., cache_position=...) "
                    "(the slots of the new tokens, a device tensor), as minigpt.decoding.CachedDecoder does."
                )
            self.k[layer].index_copy_(2, cache_position, k)
            self.v[layer].index_copy_(2, cache_position, v)
            return self.k[layer], self.v[layer]
        start = self._length
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KVCache is full: {start} + {k.shape[2]} tokens > max_len={self.max_len}.")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def key_length(self, new_tokens: int) -> int:
        """Keys `update` returns once new_tokens more are stored: the filled part, or (static) the
        whole buffer."""
        return self.max_len if self.static else self._length + new_tokens

    def advance(self, n: int) -> None:
        """Called by the model once all layers have stored their n new tokens. A static cache has
        no position to move (its slots come with each call), so nothing runs inside a compiled step."""
        if not self.static:
            self._length += n

    @property
    def length(self) -> int | None:
        """Tokens stored, which is also the position of the next token; None for a static cache,
        whose positions are the caller's (cache_position)."""
        return None if self.static else self._length

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep rows batch_index (beam search picks which hypotheses continue)."""
        self.k = self.k.index_select(1, batch_index)
        self.v = self.v.index_select(1, batch_index)

    def reset(self) -> None:
        self._length = 0

    @property
    def nbytes(self) -> int:
        """Bytes allocated (for the full max_len)."""
        return self.k.numel() * self.k.element_size() + self.v.numel() * self.v.element_size()


def mark_static_address(*tensors: torch.Tensor) -> None:
    """Tell torch.compile these tensors keep their address (torch >= 2.3; a no-op before)."""
    mark = getattr(getattr(torch, "_dynamo", None), "mark_static_address", None)
    if mark is not None:
        for tensor in tensors:
            mark(tensor)
