"""Preallocated key/value caches: what decoding reads instead of recomputing the past.

One buffer per layer for K and one for V, shaped (batch, kv_heads, max_len, head_dim) (KVCache
stacks the layers' in one tensor): the grouped-query layout, before heads are repeated, so a GQA
model really stores num_kv_heads heads. Buffers are allocated once for the longest sequence, so
decoding never reallocates.

Two caches implement the `Cache` protocol below, and the model is the one party that advances
a cache:

- KVCache grows: it counts its tokens in a Python int, writes after what it holds and returns
  only the filled part; `length` is the position of the next token. Simpler to read, and what
  the chapters use: `model(ids, kv_cache=cache)` again and again continues the sequence.
- StaticKVCache keeps no position of its own, and a buffer of its own for each layer: the new
  tokens are written where the model's `cache_position` says (a device tensor the decoding loop
  owns, like litgpt's input_pos), and attention gets the whole buffer (the model masks the slots
  not yet written). Every decode step then has the same shapes and no Python number that
  changes, so `torch.compile` compiles the step once and, on a GPU, replays it as a CUDA graph
  (generate(..., compile=True)). A graph may write into the buffers, but a position moved inside
  it would be an input mutation, for which inductor refuses the graph: the loop moves its
  cache_position between steps instead.
"""

from __future__ import annotations

from typing import Protocol

import torch

from .config import ModelConfig

__all__ = ["Cache", "KVCache", "StaticKVCache", "mark_static_address"]


class Cache(Protocol):
    """What the model needs from a key/value cache (KVCache and StaticKVCache implement it; so can
    a chapter's own)."""

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


class _Buffers:
    """The K and V buffers both caches hold: (layers, batch, kv_heads, max_len, head_dim) each."""

    def __init__(
        self, config: ModelConfig, batch_size: int, max_len: int | None = None, device=None, dtype=torch.float32
    ):
        self.max_len = _max_len(type(self).__name__, config, max_len)
        shape = (config.num_layers, batch_size, config.num_kv_heads, self.max_len, config.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep rows batch_index (beam search picks which hypotheses continue)."""
        self.k = self.k.index_select(1, batch_index)
        self.v = self.v.index_select(1, batch_index)

    @property
    def nbytes(self) -> int:
        """Bytes allocated (for the full max_len)."""
        return self.k.numel() * self.k.element_size() + self.v.numel() * self.v.element_size()


def _max_len(cache: str, config: ModelConfig, max_len: int | None) -> int:
    max_len = max_len or config.max_seq_len
    limit = config.context_length
    if limit is not None and max_len > limit:
        raise ValueError(
            f"{cache} max_len={max_len} exceeds the model's context of {limit} tokens (ModelConfig.context_length)."
        )
    return max_len


class KVCache(_Buffers):
    """The growing cache: counts its tokens, writes after them, returns the filled part.

    KVCache(config, batch_size, max_len=None (the model's max_seq_len), device=None, dtype=fp32)."""

    def __init__(
        self, config: ModelConfig, batch_size: int, max_len: int | None = None, device=None, dtype=torch.float32
    ):
        super().__init__(config, batch_size, max_len, device, dtype)
        self._length = 0

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor, cache_position: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new (B, KVH, T, d) keys/values after the cached ones and return the filled part.
        A cache_position, if given, must name those slots (length, length + 1, ...)."""
        start = self._length
        end = start + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KVCache is full: {start} + {k.shape[2]} tokens > max_len={self.max_len}.")
        if cache_position is not None:
            self._check_position(cache_position, start, end)
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    @staticmethod
    def _check_position(cache_position: torch.Tensor, start: int, end: int) -> None:
        """A growing cache writes at its own length: a cache_position naming other slots would give
        keys one place and rotary angles and mask another. Checked in full on CPU (free there); on
        a GPU only the count, as reading the values would stall every step."""
        if cache_position.shape != (end - start,) or (
            cache_position.device.type == "cpu" and cache_position.tolist() != list(range(start, end))
        ):
            shown = cache_position.tolist() if cache_position.numel() <= 8 else f"shape {tuple(cache_position.shape)}"
            raise ValueError(
                f"cache_position {shown} does not name the slots a growing KVCache writes next ({start}..{end - 1}): "
                f"it counts its own tokens. Leave cache_position out, or use a StaticKVCache, which is written "
                f"where cache_position says."
            )

    def key_length(self, new_tokens: int) -> int:
        """Keys `update` returns once new_tokens more are stored: the filled part."""
        return self._length + new_tokens

    def advance(self, n: int) -> None:
        """Called by the model once all layers have stored their n new tokens."""
        self._length += n

    @property
    def length(self) -> int:
        """Tokens stored, which is also the position of the next token."""
        return self._length

    def reset(self) -> None:
        self._length = 0


class StaticKVCache:
    """The cache for a compiled decode step: written at cache_position (required), attended whole.

    Same constructor as KVCache. Each layer's K and V are a buffer of their own, (batch, kv_heads,
    max_len, head_dim), in `keys` and `values`; `k` and `v` stack them into KVCache's shape (a
    copy, to look at). Not views of one stacked buffer: a compiled step that writes into views of
    one input rebuilds the whole stacked buffer after every layer's write (inductor turns each
    into a select_scatter), which took 1.0 of the 2.5 ms of the course model's compiled step at
    900 cached tokens, more than eager decoding. The buffers keep their addresses
    (mark_static_address), so a captured CUDA graph may write into them."""

    def __init__(
        self, config: ModelConfig, batch_size: int, max_len: int | None = None, device=None, dtype=torch.float32
    ):
        self.max_len = _max_len(type(self).__name__, config, max_len)
        shape = (batch_size, config.num_kv_heads, self.max_len, config.head_dim)
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.num_layers)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.num_layers)]
        mark_static_address(*self.keys, *self.values)

    def update(
        self, layer: int, k: torch.Tensor, v: torch.Tensor, cache_position: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new (B, KVH, T, d) keys/values at slots cache_position (T,) and return the whole
        buffer, unwritten slots included (the model's mask hides them)."""
        if cache_position is None:
            raise ValueError(
                "A StaticKVCache is written where cache_position says: pass model(..., cache_position=...) "
                "(the slots of the new tokens, a device tensor), as minigpt.decoding.CachedDecoder does."
            )
        self.keys[layer].index_copy_(2, cache_position, k)
        self.values[layer].index_copy_(2, cache_position, v)
        return self.keys[layer], self.values[layer]

    def key_length(self, new_tokens: int) -> int:
        """Keys `update` returns: always the whole buffer."""
        return self.max_len

    def advance(self, n: int) -> None:
        """Nothing to move: the slots come with each call, so nothing runs inside a compiled step."""

    @property
    def length(self) -> None:
        """None: the positions are the caller's (cache_position)."""
        return None

    @property
    def k(self) -> torch.Tensor:
        """All layers' keys, (layers, batch, kv_heads, max_len, head_dim): a copy."""
        return torch.stack(self.keys)

    @property
    def v(self) -> torch.Tensor:
        """All layers' values, as `k`: a copy."""
        return torch.stack(self.values)

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep rows batch_index (beam search picks which hypotheses continue)."""
        self.keys = [t.index_select(0, batch_index) for t in self.keys]
        self.values = [t.index_select(0, batch_index) for t in self.values]
        mark_static_address(*self.keys, *self.values)

    @property
    def nbytes(self) -> int:
        """Bytes allocated (for the full max_len)."""
        return sum(t.numel() * t.element_size() for t in self.keys + self.values)


def mark_static_address(*tensors: torch.Tensor) -> None:
    """Tell torch.compile these tensors keep their address (torch >= 2.3; a no-op before).

    guard=False: no guard on the tensors' identity, so a new cache of the same shape reuses the compiled
    graph (the default of newer torch, 2.13 here; 2.6 to 2.8 guarded it and recompiled at every call)."""
    mark = getattr(getattr(torch, "_dynamo", None), "mark_static_address", None)
    if mark is not None:
        for tensor in tensors:
            mark(tensor, guard=False)
