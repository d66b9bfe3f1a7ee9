"""Rotary position embedding (RoPE): the rotation speeds and the cos/sin tables.

Query and key vectors are rotated pair by pair, by an angle proportional to their position, so
the score q.k depends on the distance between two tokens, not on where they are (chapter 6).
`rope_frequencies` gives the speeds, optionally rescaled for longer contexts (position
interpolation, dynamic NTK, YaRN, Llama 3's: Hugging Face's `rope_scaling` semantics);
`RotaryEmbedding` turns positions into the cos/sin tables the attention uses. The rotation itself
(`apply_rotary`) is in minigpt.model, next to the attention that calls it.

Which dimensions form a pair is a convention. minigpt and Hugging Face rotate halves (i with
i + d/2); Meta's original Llama checkpoints and many from-scratch implementations (Stanford
CS336's) rotate neighbours (2i with 2i + 1). The two give the same attention once the rows of
q_proj and k_proj are reordered: `interleaved_to_halves` (what transformers'
convert_llama_weights_to_hf.py applies) and its inverse `halves_to_interleaved`, for one weight
or, with `convert_rotary_layout`, for every q/k projection of a state dict.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


def rope_frequencies(
    head_dim: int, theta: float, rope_scaling: dict | None = None, seq_len: int | None = None
) -> tuple[torch.Tensor, float]:
    """(inv_freq, attention_factor): the head_dim/2 rotation speeds theta^(-2i/d), rescaled as
    `rope_scaling` says (Hugging Face semantics, see minigpt.config.normalize_rope_scaling), and
    the factor that multiplies cos and sin (1 except for YaRN). seq_len matters for "dynamic" only."""
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    speed = 1.0 / (theta**exponents)
    if not rope_scaling:
        return speed, 1.0
    kind = rope_scaling["rope_type"]
    factor = rope_scaling["factor"]
    if kind == "linear":  # position interpolation: m is rotated as m / factor
        return speed / factor, 1.0
    original = rope_scaling["original_max_position_embeddings"]
    if kind == "dynamic":  # NTK-aware: a larger base, only once the sequence outgrows the window
        s = max(int(seq_len or original), original)
        base = theta * ((factor * s / original) - (factor - 1)) ** (head_dim / (head_dim - 2))
        return 1.0 / (base**exponents), 1.0

    if kind == "llama3":  # long wavelengths interpolated, short ones kept, a smooth blend between
        wavelength = 2 * math.pi / speed
        low, high = rope_scaling["low_freq_factor"], rope_scaling["high_freq_factor"]
        blend = ((original / wavelength - low) / (high - low)).clamp(0, 1)  # 0: long, 1: short wavelength
        return speed / factor * (1 - blend) + speed * blend, 1.0

    # yarn: pair i keeps its speed if it turns more than beta_fast times over the window, is
    # interpolated (divided by factor) if it turns fewer than beta_slow times, a ramp between.
    def pair_index(turns):  # the (fractional) pair index whose wavelength fits `turns` times in the window
        return head_dim * math.log(original / (turns * 2 * math.pi)) / (2 * math.log(theta))

    low, high = pair_index(rope_scaling.get("beta_fast", 32.0)), pair_index(rope_scaling.get("beta_slow", 1.0))
    if rope_scaling.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    inv_freq = speed / factor * ramp + speed * (1 - ramp)
    attention_factor = rope_scaling.get("attention_factor")
    if attention_factor is None:

        def mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        m, m_all = rope_scaling.get("mscale"), rope_scaling.get("mscale_all_dim")
        attention_factor = mscale(factor, m) / mscale(factor, m_all) if m and m_all else mscale(factor)
    return inv_freq, float(attention_factor)


class RotaryEmbedding(nn.Module):
    """cos/sin tables for rotary position embedding (RoPE), frequencies theta^(-2i/d), optionally
    rescaled by `rope_scaling` (position interpolation, dynamic NTK, YaRN; see rope_frequencies).

    Angles are computed in fp32 even under autocast: at position 30000 a bf16 angle is off by
    more than a whole turn. "dynamic" recomputes the frequencies from each call's largest
    position (stateless; transformers keeps the largest length seen so far instead), so a
    KV-cached decode past the window rotates new keys with other speeds than the cached ones,
    as in transformers."""

    def __init__(self, head_dim: int, theta: float, rope_scaling: dict | None = None):
        super().__init__()
        self.head_dim, self.theta, self.rope_scaling = head_dim, theta, rope_scaling
        inv_freq, self.attention_factor = rope_frequencies(head_dim, theta, rope_scaling)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv_freq = self.inv_freq
        if self.rope_scaling and self.rope_scaling["rope_type"] == "dynamic":
            seq_len = int(position_ids.max()) + 1
            if seq_len > self.rope_scaling["original_max_position_embeddings"]:
                inv_freq, _ = rope_frequencies(self.head_dim, self.theta, self.rope_scaling, seq_len)
        inv_freq = inv_freq.to(device=x.device, dtype=torch.float32)
        with torch.autocast(device_type=x.device.type, enabled=False):
            freqs = position_ids[..., None].float() * inv_freq  # (B, T, head_dim/2)
            emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, head_dim): the rotate_half layout
            cos, sin = emb.cos(), emb.sin()
            if self.attention_factor != 1.0:
                cos, sin = cos * self.attention_factor, sin * self.attention_factor
            return cos.to(x.dtype), sin.to(x.dtype)

    @classmethod
    def from_config(cls, config) -> RotaryEmbedding:
        """The table a ModelConfig describes (head_dim, rope_theta, rope_scaling)."""
        return cls(config.head_dim, config.rope_theta, config.rope_scaling)

    def reset_buffers(self, device: torch.device | str | None = None) -> None:
        """Recompute the speeds (a non-persistent buffer: not in checkpoints) on `device`, e.g. after
        the model was built on the meta device to load weights without allocating them twice."""
        inv_freq, self.attention_factor = rope_frequencies(self.head_dim, self.theta, self.rope_scaling)
        self.inv_freq = inv_freq.to(device)


# ---- the two pairings of dimensions ----------------------------------------------------------


def interleaved_to_halves(weight: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Reorder the output rows of a q_proj or k_proj weight (num_heads * head_dim, in) or bias
    (num_heads * head_dim,) trained with interleaved pairs (2i, 2i + 1) so that rotating halves
    (i, i + d/2), as minigpt and Hugging Face do, gives the same attention scores.

    Within each head, row 2i moves to i and row 2i + 1 to i + d/2: the permutation of
    transformers' convert_llama_weights_to_hf.py. num_heads: the query heads for q_proj, the
    key/value heads for k_proj. v_proj and o_proj are not rotated and stay as they are."""
    rows = weight.shape[0]
    head_dim = _head_dim(rows, num_heads)
    grouped = weight.reshape(num_heads, head_dim // 2, 2, *weight.shape[1:])  # (heads, pair, 2, ...)
    return grouped.transpose(1, 2).reshape(weight.shape)  # (heads, 2, pair, ...): firsts, then seconds


def halves_to_interleaved(weight: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The inverse of interleaved_to_halves: rows i and i + d/2 of each head become 2i and 2i + 1."""
    rows = weight.shape[0]
    head_dim = _head_dim(rows, num_heads)
    grouped = weight.reshape(num_heads, 2, head_dim // 2, *weight.shape[1:])  # (heads, 2, pair, ...)
    return grouped.transpose(1, 2).reshape(weight.shape)  # (heads, pair, 2, ...): neighbours


def convert_rotary_layout(state_dict: dict, config, to: str = "halves") -> dict:
    """A copy of a Hugging Face-named state dict whose q_proj/k_proj weights and biases are
    reordered for the other pairing: to="halves" loads interleaved-pair weights (Meta's original
    Llama layout, CS336-style code) into minigpt; to="interleaved" goes back."""
    if to not in ("halves", "interleaved"):
        raise ValueError(f'to must be "halves" (load interleaved weights) or "interleaved", got {to!r}.')
    convert = interleaved_to_halves if to == "halves" else halves_to_interleaved
    heads = {"q_proj": config.num_heads, "k_proj": config.num_kv_heads}
    out = dict(state_dict)
    for name, tensor in state_dict.items():
        parts = name.split(".")
        if len(parts) >= 3 and parts[-3] == "self_attn" and parts[-2] in heads:
            out[name] = convert(tensor, heads[parts[-2]])
    return out


def _head_dim(rows: int, num_heads: int) -> int:
    if num_heads <= 0 or rows % num_heads or (rows // num_heads) % 2:
        raise ValueError(
            f"{rows} rows do not split into {num_heads} heads of an even head_dim: pass the number of heads of "
            f"this projection (num_heads for q_proj, num_kv_heads for k_proj)."
        )
    return rows // num_heads
