"""The attention kernels: softmax(q k^T / sqrt(d)) v, spelled out or fused.

    eager_attention(q, k, v, mask)  the explicit path, which also returns the weights (chapters 4-5)
    sdpa_attention(q, k, v, mask)   PyTorch's scaled_dot_product_attention, the default
    attention_mask_for(...)         the boolean mask they take: causal by position, padding hidden

Both take the same inputs and give the same output (tests/library/test_model.py compares them); the
attention module (minigpt.model.Attention) picks one and handles projections, RoPE and the cache.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_SDPA_GQA = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)  # SDPA's enable_gqa


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, KVH, S, d) -> (B, KVH * groups, S, d): each key/value head serves `groups` query heads."""
    if groups == 1:
        return x
    b, kvh, s, d = x.shape
    return x[:, :, None].expand(b, kvh, groups, s, d).reshape(b, kvh * groups, s, d)


def eager_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, dropout: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d)) v, spelled out, returning the weights too (output_attentions).

    q (B, H, T, d); k, v (B, H, S, d), heads already repeated for GQA; mask (B|1, 1, T, S) bool,
    True = may attend, or None for plain causal attention over the sequence. The same math as
    `sdpa_attention` (tests/library/test_model.py compares them)."""
    t = q.shape[2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if mask is None and t > 1:  # what SDPA's is_causal means: no peeking at later tokens
        mask = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    if dropout:
        weights = F.dropout(weights, p=dropout)
    return weights @ v, weights


def sdpa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, dropout: float = 0.0
) -> torch.Tensor:
    """PyTorch's fused scaled_dot_product_attention; k and v may have fewer (grouped) heads than q.

    On CPU, SDPA reads the grouped K/V heads directly (torch >= 2.5): no repeated copy of the cache
    at every decoding step (30% faster decoding at context 1024). On GPU some fused kernels reject
    enable_gqa (and fall back to the slow math kernel): the heads are repeated there. mask None
    means plain causal attention, which lets SDPA pick its flash kernel on GPU."""
    groups = q.shape[1] // k.shape[1]
    extra = {}
    if groups > 1 and _SDPA_GQA and q.device.type == "cpu":
        extra = {"enable_gqa": True}
    else:
        k, v = repeat_kv(k, groups), repeat_kv(v, groups)
    causal = mask is None and q.shape[2] > 1
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal, **extra)


def attention_mask_for(
    attention_mask: torch.Tensor | None, b: int, cache_position: torch.Tensor, keys: int
) -> torch.Tensor:
    """The mask both kernels take: boolean (B|1, 1, T, keys), True = may attend; causal by position
    (query at cache_position[t] sees keys 0..cache_position[t]) and, with attention_mask (B, keys),
    1 = token, 0 = padding, the padding hidden."""
    query_pos = cache_position[:, None]
    key_pos = torch.arange(keys, device=cache_position.device)[None, :]
    mask = (key_pos <= query_pos)[None, None]  # causal
    if attention_mask is not None:
        if attention_mask.shape != (b, keys):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected ({b}, {keys}): one entry "
                f"per cached and new token."
            )
        mask = mask & attention_mask.bool()[:, None, None, :]
        # A padding query may see no key at all; letting it see itself keeps softmax finite.
        # Its output is never used.
        mask = mask | (key_pos == query_pos)[None, None]
    return mask
