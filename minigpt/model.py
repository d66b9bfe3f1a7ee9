"""A Llama/Qwen2-style decoder-only transformer, readable top to bottom.

    ids -> embed_tokens -> [RMSNorm -> attention (GQA, RoPE) -> + -> RMSNorm -> SwiGLU -> +] x L
        -> norm -> lm_head -> logits

Parameter names are exactly those of Hugging Face `LlamaForCausalLM` / `Qwen2ForCausalLM`
(`model.layers.0.self_attn.q_proj.weight`, ...), so a state dict of this model *is* a state
dict of theirs, and the numerics follow `transformers/models/llama/modeling_llama.py` so that
the same weights give the same logits (tests/test_hf.py checks it to 1e-5).

Unlike Hugging Face, `labels` are the already-shifted targets: position t predicts labels[t].
The data pipeline makes the shift (X = ids[i:i+T], Y = ids[i+1:i+T+1]) where a learner can see it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

IGNORE_INDEX = -100


class RMSNorm(nn.Module):
    """x / rms(x) * weight. No mean subtraction and no bias (unlike LayerNorm); computed in
    fp32 because the mean of squares underflows and overflows easily in 16-bit formats."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope_frequencies(
    head_dim: int, theta: float, rope_scaling: dict | None = None, seq_len: int | None = None
) -> tuple[torch.Tensor, float]:
    """(inv_freq, attention_factor): the head_dim/2 rotation speeds theta^(-2i/d), rescaled as
    `rope_scaling` says (Hugging Face semantics, see minigpt.config.normalize_rope_scaling), and
    the factor that multiplies cos and sin (1 except for YaRN). seq_len matters for "dynamic" only."""
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    speed = 1.0 / (theta ** exponents)
    kind = rope_scaling["rope_type"] if rope_scaling else None
    if kind is None:
        return speed, 1.0
    factor = rope_scaling["factor"]
    if kind == "linear":  # position interpolation: m is rotated as m / factor
        return speed / factor, 1.0
    original = rope_scaling["original_max_position_embeddings"]
    if kind == "dynamic":  # NTK-aware: a larger base, only once the sequence outgrows the window
        s = max(int(seq_len or original), original)
        base = theta * ((factor * s / original) - (factor - 1)) ** (head_dim / (head_dim - 2))
        return 1.0 / (base ** exponents), 1.0
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


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Pairs dimension i with i + d/2 (the Hugging Face convention, not interleaved pairs)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (i, i + d/2) pair of x (B, H, T, d) by its position's angle."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return x * cos + rotate_half(x) * sin


_SDPA_GQA = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)  # SDPA's enable_gqa


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, KVH, S, d) -> (B, KVH * groups, S, d): each key/value head serves `groups` query heads."""
    if groups == 1:
        return x
    b, kvh, s, d = x.shape
    return x[:, :, None].expand(b, kvh, groups, s, d).reshape(b, kvh * groups, s, d)


class Attention(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.num_kv_heads = config.num_kv_heads
        self.head_dim = config.head_dim
        self.dropout = config.dropout
        self.q_proj = nn.Linear(config.hidden_size, config.num_heads * config.head_dim, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, config.num_kv_heads * config.head_dim, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, config.num_kv_heads * config.head_dim, bias=config.qkv_bias)
        self.o_proj = nn.Linear(config.num_heads * config.head_dim, config.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask=None, kv_cache=None, layer_idx=0, output_attentions=False):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if kv_cache is not None:
            # The cache stores K/V heads before repetition: GQA's memory saving is real.
            k, v = kv_cache.update(layer_idx, k, v)
        groups = self.num_heads // self.num_kv_heads
        dropout = self.dropout if self.training else 0.0
        # On CPU, SDPA reads the grouped K/V heads directly (torch >= 2.5): no repeated copy of
        # the cache at every decoding step (30% faster decoding at context 1024). On GPU some
        # fused kernels reject enable_gqa (and fall back to the slow math kernel): repeat there.
        gqa = groups > 1 and _SDPA_GQA and not output_attentions and q.device.type == "cpu"
        gqa = {"enable_gqa": True} if gqa else {}
        if not gqa:
            k, v = repeat_kv(k, groups), repeat_kv(v, groups)

        if output_attentions:
            # The explicit path: the same math as SDPA, spelled out, keeping the weights.
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
            if mask is None and t > 1:  # what SDPA's is_causal means: no peeking at later tokens
                mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
            out = F.dropout(weights, p=dropout, training=self.training) @ v
        else:
            weights = None
            # mask None means plain causal attention over the whole (uncached) sequence, which
            # lets SDPA pick its flash kernel on GPU.
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=mask is None and t > 1, **gqa
            )
        out = out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_dim)
        return self.o_proj(out), weights


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: ModelConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.input_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, mask=None, kv_cache=None, output_attentions=False):
        attn_out, weights = self.self_attn(
            self.input_layernorm(x), cos, sin, mask, kv_cache, self.layer_idx, output_attentions
        )
        x = x + attn_out
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, weights


class DecoderModel(nn.Module):
    """The stack without the LM head (Hugging Face's `LlamaModel`, hence the `model.` prefix)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.norm_eps)
        self.rotary_emb = RotaryEmbedding(config.head_dim, config.rope_theta, config.rope_scaling)


@dataclass
class CausalLMOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per layer, (B, H, T, S)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # embeddings, then each block's output


class MiniGPT(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.model = DecoderModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module, std: float = 0.02):
        # N(0, 0.02) for every matrix, as Hugging Face's initializer_range; norms start at 1.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        kv_cache=None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        logits_to_keep: int = 0,
    ) -> CausalLMOutput:
        """
        input_ids:      (B, T) token ids.
        labels:         (B, T) targets aligned with input_ids (already shifted); -100 = no loss.
        attention_mask: (B, past + T), 1 for real tokens, 0 for padding.
        position_ids:   (B, T); default past, past+1, ... Left-padded batches pass their own.
        kv_cache:       an object with `.length`, `.update(layer, k, v) -> (k, v)` and
                        `.advance(n)` (see minigpt.cache.KVCache); filled in place. A static
                        KVCache is not advanced here: the caller advances it.
        logits_to_keep: if > 0, only the last that many positions get logits (decoding needs 1).
        """
        b, t = input_ids.shape
        static = getattr(kv_cache, "static", False)
        if static:  # the past's length as a device tensor, attention over the whole buffer (see cache.py)
            past, keys = kv_cache.position, kv_cache.max_len
        else:
            past = kv_cache.length if kv_cache is not None else 0
            keys = None
            if past + t > self.config.max_seq_len:
                raise ValueError(
                    f"Sequence of {past + t} tokens ({past} cached + {t} new) is longer than the model's "
                    f"context max_seq_len={self.config.max_seq_len}. Shorten the input or keep only its "
                    f"last {self.config.max_seq_len} tokens."
                )
        if position_ids is None:
            position_ids = (past + torch.arange(t, device=input_ids.device)).unsqueeze(0).expand(b, t)
        mask = _attention_mask(attention_mask, b, t, past, input_ids.device, keys)

        if input_ids.device.type == "cpu" and not _is_compiling() and input_ids.numel():
            # On CPU the check costs one pass over the ids; on a GPU it would stall every step
            # (a device-to-host sync), and an out-of-range id there ends in a device-side assert.
            low, high = int(input_ids.min()), int(input_ids.max())
            if low < 0 or high >= self.config.vocab_size:
                raise ValueError(
                    f"input_ids must be token ids in 0..{self.config.vocab_size - 1} (vocab_size "
                    f"{self.config.vocab_size}); got min {low}, max {high}. Were they made by another "
                    f"tokenizer (one with more ids than this model's vocabulary)?"
                )
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.model.rotary_emb(x, position_ids)
        attentions, hidden_states = [], [x]
        for block in self.model.layers:
            x, weights = block(x, cos, sin, mask, kv_cache, output_attentions)
            attentions.append(weights)
            hidden_states.append(x)
        if kv_cache is not None and not static:  # a static cache is advanced by the caller (cache.py)
            kv_cache.advance(t)
        x = self.model.norm(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        logits = self.lm_head(x)

        loss = None
        if labels is not None:
            if logits_to_keep:
                raise ValueError("labels need logits at every position: leave logits_to_keep=0.")
            loss = F.cross_entropy(
                logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX
            )
        return CausalLMOutput(
            logits=logits,
            loss=loss,
            attentions=tuple(attentions) if output_attentions else None,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
        )

    # ---- conveniences ------------------------------------------------------------------

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())  # tied weights are one Parameter: counted once
        if exclude_embeddings:
            n -= self.model.embed_tokens.weight.numel()
        return n

    @property
    def device(self) -> torch.device:
        return self.model.embed_tokens.weight.device

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> None:
        """Write config.json + model.safetensors loadable by transformers (Llama or Qwen2)."""
        from .hf import save_pretrained

        save_pretrained(self, path, dtype=dtype)

    @classmethod
    def from_pretrained(cls, path: str | Path, device=None, dtype: torch.dtype | None = None) -> "MiniGPT":
        """Load a Hugging Face Llama/Qwen2 folder (written by minigpt or by transformers)."""
        from .hf import from_pretrained

        return from_pretrained(path, device=device, dtype=dtype)


def _is_compiling() -> bool:
    """True while torch.compile traces (torch.compiler.is_compiling, torch >= 2.3)."""
    check = getattr(torch.compiler, "is_compiling", None) or torch._dynamo.is_compiling
    return check()


def _attention_mask(attention_mask, b, t, past, device, keys=None):
    """Boolean (B|1, 1, T, past+T) mask, True = may attend; None for plain causal attention.
    keys: the key length of a static cache's whole buffer (past is then a device tensor)."""
    if keys is None and attention_mask is None and (past == 0 or t == 1):
        return None  # plain causal (SDPA's is_causal path), or one new token that sees everything
    s = keys or past + t
    query_pos = (past + torch.arange(t, device=device))[:, None]
    key_pos = torch.arange(s, device=device)[None, :]
    mask = (key_pos <= query_pos)[None, None]  # causal
    if attention_mask is not None:
        if attention_mask.shape != (b, s):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected ({b}, {s}): one entry "
                f"per cached and new token."
            )
        mask = mask & attention_mask.bool()[:, None, None, :]
        # A padding query may see no key at all; letting it see itself keeps softmax finite.
        # Its output is never used.
        mask = mask | (key_pos == query_pos)[None, None]
    return mask
