"""A Llama/Qwen2-style decoder-only transformer, readable top to bottom: one file of about 400
lines, so that the whole forward pass, from ids to logits, reads in one sitting.

    ids -> embed_tokens -> [RMSNorm -> attention (GQA, RoPE) -> + -> RMSNorm -> SwiGLU -> +] x L
        -> norm -> lm_head -> logits

Parameter names are exactly those of Hugging Face `LlamaForCausalLM` / `Qwen2ForCausalLM`
(`model.layers.0.self_attn.q_proj.weight`, ...), so a state dict of this model *is* a state
dict of theirs, and the numerics follow `transformers/models/llama/modeling_llama.py` so that
the same weights give the same logits (tests/library/test_hf.py checks it to 1e-5).

The loss (minigpt.loss): `labels=` has Hugging Face's meaning (the input ids; shifted inside,
-100 ignored: `model(ids, labels=ids)` is transformers' loss), `targets=` takes targets that are
already shifted (position t predicts targets[t]), as the course's data pipeline makes them.

A KV cache is anything with the `Cache` interface (minigpt.cache: KVCache grows, StaticKVCache
is preallocated for compiled decoding). The model always works from `cache_position`, the slots of the new tokens
(transformers' cache_position, litgpt's input_pos): given by the caller, or read from a cache that
counts its tokens. From it come the position ids, the rotary angles, the mask and where the cache
writes; after the blocks the model advances the cache, and nobody else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import hf_format
from .attention import attention_mask_for, eager_attention, repeat_kv, sdpa_attention
from .cache import Cache
from .config import ModelConfig
from .decode_layout import Joined, is_compiling, projections
from .loss import IGNORE_INDEX, causal_lm_loss
from .rope import RotaryEmbedding, rope_frequencies

__all__ = [
    "IGNORE_INDEX",
    "MLP",
    "Attention",
    "Block",
    "Cache",
    "CausalLMOutput",
    "DecoderModel",
    "DecoderOutput",
    "MiniGPT",
    "RMSNorm",
    "RotaryEmbedding",
    "apply_rotary",
    "eager_attention",
    "repeat_kv",
    "rope_frequencies",
    "rotate_half",
    "sdpa_attention",
]


class RMSNorm(nn.Module):
    """x / rms(x) * weight. No mean subtraction and no bias (unlike LayerNorm); computed in
    fp32 because the mean of squares underflows and overflows easily in 16-bit formats."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):  # ModelConfig.norm_eps's default
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Pairs dimension i with i + d/2 (the Hugging Face convention, not interleaved pairs)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (i, i + d/2) pair of x (B, H, T, d) by its position's angle."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    """Grouped-query attention with RoPE: project, rotate, store in the cache, attend, project back.

    The module knows its layer (layer_idx, as in Hugging Face's LlamaAttention), so it reads and
    writes its own slice of the cache. Which kernel runs is the only difference between the two
    paths: `sdpa_attention` (fast, the default) or, with output_attentions=True, `eager_attention`,
    which also returns the weights. B batch, T new tokens, S keys (cached + new), nh query heads,
    nkv key/value heads, hs head size."""

    stored_together = ("q_proj", "k_proj", "v_proj")  # one product when decoding: see Joined

    def __init__(self, config: ModelConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads = config.num_heads
        self.num_kv_heads = config.num_kv_heads
        self.head_dim = config.head_dim
        self.dropout = config.dropout
        self.q_proj = nn.Linear(config.hidden_size, config.num_heads * config.head_dim, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, config.num_kv_heads * config.head_dim, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, config.num_kv_heads * config.head_dim, bias=config.qkv_bias)
        self.o_proj = nn.Linear(config.num_heads * config.head_dim, config.hidden_size, bias=False)
        self.joined: Joined | None = None  # q/k/v stored as one matrix, for decoding

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        kv_cache: Cache | None = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, hidden); cos, sin (B, T, hs); mask (B|1, 1, T, S) bool or None (plain causal)."""
        b, t, _ = x.shape
        q, k, v = projections(x, self.q_proj, self.k_proj, self.v_proj, joined=self.joined)  # (B, T, nh|nkv * hs)
        q = q.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hs)
        v = v.view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hs)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if kv_cache is not None:
            # The cache stores K/V heads before repetition: GQA's memory saving is real.
            k, v = kv_cache.update(self.layer_idx, k, v, cache_position)  # (B, nkv, S, hs)
        dropout = self.dropout if self.training else 0.0
        weights = None
        if output_attentions:
            groups = self.num_heads // self.num_kv_heads
            k, v = repeat_kv(k, groups), repeat_kv(v, groups)  # (B, nh, S, hs)
            out, weights = eager_attention(q, k, v, mask, dropout)  # (B, nh, T, hs), weights (B, nh, T, S)
        else:
            out = sdpa_attention(q, k, v, mask, dropout)  # (B, nh, T, hs)
        out = out.transpose(1, 2).reshape(b, t, self.num_heads * self.head_dim)  # (B, T, nh * hs)
        return self.o_proj(out), weights


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    stored_together = ("gate_proj", "up_proj")  # one product when decoding: see Joined

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.joined: Joined | None = None  # gate/up stored as one matrix, for decoding

    def forward(self, x):
        gate, up = projections(x, self.gate_proj, self.up_proj, joined=self.joined)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: ModelConfig, layer_idx: int):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.self_attn = Attention(config, layer_idx)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.mlp = MLP(config)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        kv_cache: Cache | None = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attn_out, weights = self.self_attn(
            self.input_layernorm(x),
            cos,
            sin,
            mask=mask,
            kv_cache=kv_cache,
            cache_position=cache_position,
            output_attentions=output_attentions,
        )
        x = x + attn_out
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, weights


@dataclass
class DecoderOutput:
    last_hidden_state: torch.Tensor  # (B, T, hidden), after the final norm
    attentions: tuple[torch.Tensor, ...] | None = None  # per layer, (B, H, T, S)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # embeddings, then each block's output


class DecoderModel(nn.Module):
    """The stack without the LM head (Hugging Face's `LlamaModel`, hence the `model.` prefix).

    Owns the positions: from cache_position (the caller's, or the cache's length, or 0) it builds
    the position ids, the rotary cos/sin and the attention mask, runs the blocks, and advances the
    cache by the new tokens."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.norm_eps)
        self.rotary_emb = RotaryEmbedding.from_config(config)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        kv_cache: Cache | None = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> DecoderOutput:
        self._check_input_ids(input_ids)
        b, t = input_ids.shape
        past = None  # the cached length when it is a Python number (then a mask may be skipped)
        # The caller's slots go to the cache (a static one needs them, a growing one checks them);
        # slots computed here from a growing cache's own length are right by construction.
        slots = cache_position
        if cache_position is None:
            past = kv_cache.length if kv_cache is not None else 0
            if past is None:
                raise ValueError(
                    "This KV cache does not count its tokens (a StaticKVCache): pass cache_position=, the "
                    "slots of the new tokens (a (T,) device tensor), as minigpt.decoding.CachedDecoder does."
                )
            cache_position = past + torch.arange(t, device=input_ids.device)
        elif kv_cache is None:
            raise ValueError("cache_position names slots of a KV cache: pass kv_cache= too (or position_ids=).")
        keys = kv_cache.key_length(t) if kv_cache is not None else t
        context = self.config.context_length
        if context is not None and keys > context:
            raise ValueError(
                f"Sequence of {keys} tokens ({keys - t} cached + {t} new) is longer than the model's "
                f"context of {context} tokens (max_seq_len={self.config.max_seq_len}"
                f"{', stretched by rope_scaling' if context != self.config.max_seq_len else ''}). Shorten the "
                f"input or keep only its last {context} tokens."
            )
        if position_ids is None:
            position_ids = cache_position.unsqueeze(0).expand(b, t)
        # Without padding, a prefill or a single new token that sees every key needs no mask
        # (SDPA's is_causal path); positions only the device knows get one.
        plain = attention_mask is None and past is not None and keys == past + t and (past == 0 or t == 1)
        mask = None if plain else attention_mask_for(attention_mask, b, cache_position, keys)

        x = self.embed_tokens(input_ids)
        cos, sin = self.rotary_emb(x, position_ids)
        attentions, hidden_states = [], [x]
        for block in self.layers:
            x, weights = block(
                x,
                cos,
                sin,
                mask=mask,
                kv_cache=kv_cache,
                cache_position=slots,
                output_attentions=output_attentions,
            )
            attentions.append(weights)
            hidden_states.append(x)
        if kv_cache is not None:
            kv_cache.advance(t)
        return DecoderOutput(
            last_hidden_state=self.norm(x),
            attentions=tuple(attentions) if output_attentions else None,  # pyright: ignore[reportArgumentType]
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
        )

    def _check_input_ids(self, input_ids) -> None:
        """(B, T) integer ids in the vocabulary, or a message that says what to change (these would
        fail deep inside the embedding or the attention, with a message about something else)."""
        if not torch.is_tensor(input_ids):
            raise TypeError(
                f"input_ids must be a (batch, seq_len) tensor of token ids, got a {type(input_ids).__name__}: "
                f"torch.tensor([ids]) makes one from a list (or use minigpt.generate, which takes lists)."
            )
        if input_ids.dtype.is_floating_point or input_ids.dtype.is_complex or input_ids.dtype == torch.bool:
            raise ValueError(f"input_ids must be integer token ids (torch.long), got {input_ids.dtype}.")
        if input_ids.dim() != 2:
            fix = "add a batch dimension: ids[None] (or ids.unsqueeze(0))" if input_ids.dim() == 1 else "pass (B, T)"
            raise ValueError(f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}: {fix}.")
        if input_ids.device.type != "cpu" or is_compiling() or not input_ids.numel():
            # On CPU the range check costs one pass over the ids; on a GPU it would stall every step
            # (a device-to-host sync), and an out-of-range id there ends in a device-side assert.
            return
        low, high = int(input_ids.min()), int(input_ids.max())
        if low < 0 or high >= self.config.vocab_size:
            raise ValueError(
                f"input_ids must be token ids in 0..{self.config.vocab_size - 1} (vocab_size "
                f"{self.config.vocab_size}); got min {low}, max {high}. Were they made by another "
                f"tokenizer (one with more ids than this model's vocabulary)?"
            )


@dataclass
class CausalLMOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per layer, (B, H, T, S)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # embeddings, then each block's output


class MiniGPT(nn.Module):
    tokenizer_sha256: str | None = None  # the tokenizer its folder records (from_pretrained), else None

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
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        *,
        labels: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        kv_cache: Cache | None = None,
        cache_position: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        logits_to_keep: int = 0,
    ) -> CausalLMOutput:
        """
        input_ids:      (B, T) token ids.
        labels:         (B, T) Hugging Face style: the ids to predict, unshifted (usually input_ids
                        itself); position t is scored against labels[t + 1]; -100 = no loss.
        targets:        (B, T) already shifted: position t is scored against targets[t]; -100 = no loss.
        attention_mask: (B, key_length): one entry per key attended (cached and new; a static
                        cache: its whole buffer), 1 for real tokens, 0 for padding.
        position_ids:   (B, T); default cache_position. Left-padded batches pass their own.
        kv_cache:       a Cache (minigpt.cache.KVCache), filled and advanced in place.
        cache_position: (T,) the cache slots of the new tokens; default past, past+1, ... from
                        kv_cache.length (required for a cache that does not count, e.g. static).
        logits_to_keep: if > 0, only the last that many positions get logits (decoding needs 1).
        """
        out = self.model(
            input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            kv_cache=kv_cache,
            cache_position=cache_position,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        x = out.last_hidden_state
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        logits = self.lm_head(x)
        loss = None
        if labels is not None or targets is not None:
            if logits_to_keep:
                raise ValueError("A loss needs logits at every position: leave logits_to_keep=0.")
            loss = causal_lm_loss(logits, labels=labels, targets=targets)
        return CausalLMOutput(logits=logits, loss=loss, attentions=out.attentions, hidden_states=out.hidden_states)

    # ---- conveniences ------------------------------------------------------------------

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())  # tied weights are one Parameter: counted once
        if exclude_embeddings:
            n -= self.model.embed_tokens.weight.numel()
        return n

    @property
    def device(self) -> torch.device:
        return self.model.embed_tokens.weight.device

    def init_buffers(self, device: torch.device | str | None = None) -> None:
        """Recompute what is derived from the config, not stored in checkpoints (the rotary speeds),
        on `device`: needed after building the model on the meta device and assigning weights."""
        self.model.rotary_emb.reset_buffers(device)

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> None:
        """Write config.json + model.safetensors loadable by transformers (Llama or Qwen2)."""
        quantized = [name for name, t in self.state_dict().items() if not t.is_floating_point()]
        if quantized:
            raise ValueError(
                f"This model holds int8 weights ({quantized[0]} and {len(quantized) - 1} more, from "
                f"minigpt.quant.quantize_int8), which a Hugging Face Llama/Qwen2 folder cannot store. Save the "
                f"float model before quantizing it, or load that folder again (quantize_int8 is for decoding)."
            )
        hf_format.save_pretrained(self, path, dtype=dtype)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> MiniGPT:
        """Load a Hugging Face Llama/Qwen2 folder (written by minigpt or by transformers)."""
        return hf_format.load_pretrained(cls, path, device=device, dtype=dtype)
