"""Parameters, bytes, FLOPs and KV-cache size from a config alone.

Everything here is arithmetic on ModelConfig; tests/library/test_counting.py checks it against the
built model and against transformers' own models on the meta device.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ModelConfig
from .devices import DTYPES

# minigpt.devices.DTYPES's formats at their itemsize, and the two integer ones quantization stores
BYTES_PER_VALUE = {**{name: float(dtype.itemsize) for name, dtype in DTYPES.items()}, "int8": 1.0, "int4": 0.5}


@dataclass
class ParameterCount:
    total: int
    breakdown: dict[str, int]  # component -> parameters in the whole model
    per_layer: int  # one transformer block

    def table(self) -> str:
        width = max(len(k) for k in self.breakdown)
        lines = [f"{'component':<{width}}  {'parameters':>15}  {'share':>6}"]
        for name, n in self.breakdown.items():
            lines.append(f"{name:<{width}}  {n:>15,}  {n / self.total:>6.1%}")
        lines.append(f"{'per layer':<{width}}  {self.per_layer:>15,}")
        lines.append(f"total: {self.total}")
        return "\n".join(lines)


def count_parameters(config: ModelConfig) -> ParameterCount:
    c = config
    d, hd, L = c.hidden_size, c.head_dim, c.num_layers
    bias = 1 if c.qkv_bias else 0
    q = d * c.num_heads * hd + bias * c.num_heads * hd
    k = d * c.num_kv_heads * hd + bias * c.num_kv_heads * hd
    v = k
    o = c.num_heads * hd * d
    mlp_one = d * c.intermediate_size  # gate, up and down each have this many
    breakdown = {
        "embedding": c.vocab_size * d,
        "attention.q": L * q,
        "attention.k": L * k,
        "attention.v": L * v,
        "attention.o": L * o,
        "mlp.gate": L * mlp_one,
        "mlp.up": L * mlp_one,
        "mlp.down": L * mlp_one,
        "norms": (2 * L + 1) * d,  # two RMSNorm weights per block, one final
        "lm_head": 0 if c.tie_word_embeddings else c.vocab_size * d,  # tied: shares the embedding
    }
    per_layer = q + k + v + o + 3 * mlp_one + 2 * d
    return ParameterCount(total=sum(breakdown.values()), breakdown=breakdown, per_layer=per_layer)


def weight_bytes(config: ModelConfig, fmt: str = "bf16", group_size: int = 128, scale_bytes: int = 2) -> int:
    """Bytes to hold the weights. int8/int4 store one fp16 scale per `group_size` weights
    (group-wise quantization as in GPTQ/AWQ-style int4); that overhead is included."""
    if fmt not in BYTES_PER_VALUE:
        raise ValueError(f"Unknown format {fmt!r}; choose from {list(BYTES_PER_VALUE)}.")
    n = count_parameters(config).total
    size = n * BYTES_PER_VALUE[fmt]
    if fmt in ("int8", "int4"):
        size += -(-n // group_size) * scale_bytes
    return int(size)


def training_memory(config: ModelConfig, mixed_precision: bool = False) -> dict[str, int]:
    """Bytes of model state for AdamW training, activations excluded.

    fp32: weights 4 + gradients 4 + Adam moments 4 + 4 = 16 bytes per parameter.
    mixed precision (Rajbhandari et al. 2020, ZeRO, sec. 3.1): 16-bit weights 2 + 16-bit
    gradients 2 + fp32 master weights 4 + moments 8 = 16 bytes per parameter as well.
    """
    n = count_parameters(config).total
    if mixed_precision:
        parts = {
            "weights (16-bit)": 2 * n,
            "gradients (16-bit)": 2 * n,
            "master weights (fp32)": 4 * n,
            "adam moments (fp32)": 8 * n,
        }
    else:
        parts = {"weights": 4 * n, "gradients": 4 * n, "adam moments": 8 * n}
    parts["total"] = sum(parts.values())
    return parts


def kv_cache_bytes_per_token(config: ModelConfig, bytes_per_value: float = 2) -> int:
    """K and V, every layer, only the num_kv_heads heads (GQA stores fewer than num_heads)."""
    return int(2 * config.num_layers * config.num_kv_heads * config.head_dim * bytes_per_value)


def flops_per_token(config: ModelConfig, context: int | None = None, training: bool = False) -> int:
    """Matrix-multiply FLOPs for one token attending to `context` tokens (default max_seq_len).

    2 FLOPs (multiply + add) per weight of every matmul, the LM head included even when tied
    (the lookup of the embedding is free, the head's product is not), plus attention's own
    products QK^T and AV: 2 * 2 * num_heads * head_dim * context per layer (Kaplan et al. 2020,
    Table 1). Training is forward + backward = 3x forward. Norms, softmax and RoPE are ignored.
    """
    c = config
    context = c.max_seq_len if context is None else context
    counts = count_parameters(c).breakdown
    matmul_params = sum(v for k, v in counts.items() if k not in ("embedding", "norms", "lm_head"))
    matmul_params += c.vocab_size * c.hidden_size  # the LM head's product
    attention = 4 * c.num_layers * c.num_heads * c.head_dim * context
    forward = 2 * matmul_params + attention
    return 3 * forward if training else forward


def moe_parameters(
    config: ModelConfig, num_experts: int, experts_per_token: int, context: int | None = None
) -> dict[str, int]:
    """A mixture-of-experts version of `config`, as in Mixtral (Jiang et al. 2024, arXiv:2401.04088):
    every block's SwiGLU MLP becomes `num_experts` MLPs of the same shape (intermediate_size wide)
    plus a router, a hidden_size x num_experts matrix without bias, that sends each token to
    `experts_per_token` of them. Attention, norms, embedding and head are shared.

    total: every weight stored; active: the weights one token passes through (the router, the
    shared parts and experts_per_token experts per layer); forward_flops_per_token: 2 per active
    matmul weight plus attention, as flops_per_token (the weighted sum of the experts' outputs is
    ignored, like the norms)."""
    for name, value in (("num_experts", num_experts), ("experts_per_token", experts_per_token)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if experts_per_token > num_experts:
        raise ValueError(
            f"experts_per_token={experts_per_token} is more than num_experts={num_experts}: "
            f"a token cannot visit more experts than a layer has."
        )
    c = config
    dense = count_parameters(c)
    mlp = 3 * dense.breakdown["mlp.gate"] // c.num_layers  # one expert: gate, up and down
    router = c.num_layers * c.hidden_size * num_experts
    extra_active = c.num_layers * (experts_per_token - 1) * mlp + router
    return {
        "total": dense.total + c.num_layers * (num_experts - 1) * mlp + router,
        "active": dense.total + extra_active,
        "experts": c.num_layers * num_experts * mlp,
        "router": router,
        "forward_flops_per_token": flops_per_token(c, context) + 2 * extra_active,
    }


def training_budget(
    config: ModelConfig, tokens: int, context: int | None = None, batch_size: int = 1, kv_bytes_per_value: float = 2
) -> dict[str, float]:
    """What `config` costs to train on `tokens` tokens and to serve `batch_size` sequences of
    `context` tokens (default max_seq_len), from the functions above.

    training_flops: flops_per_token(training=True) x tokens; six_nd: the 6 N D rule of thumb
    (Kaplan et al. 2020) with N all parameters; training_state_bytes: AdamW's 16 bytes per
    parameter (training_memory; activations excluded); weights_bytes: bf16 weights for serving;
    kv_cache_bytes: K and V of every layer for batch_size x context tokens."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
        raise ValueError(f"tokens must be a positive integer (the training budget), got {tokens!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    context = config.max_seq_len if context is None else context
    count = count_parameters(config)
    n = count.total
    return {
        "parameters": n,
        "non_embedding_parameters": n - count.breakdown["embedding"] - count.breakdown["lm_head"],
        "tokens": tokens,
        "tokens_per_parameter": tokens / n,
        "training_flops": flops_per_token(config, context, training=True) * tokens,
        "six_nd": 6 * n * tokens,
        "training_state_bytes": training_memory(config)["total"],
        "weights_bytes": weight_bytes(config, "bf16"),
        "kv_cache_bytes": kv_cache_bytes_per_token(config, kv_bytes_per_value) * context * batch_size,
    }


@dataclass
class LatentAttentionCount:
    """Multi-head latent attention's weights and cache, per layer and for the whole model."""

    breakdown: dict[str, int]  # Hugging Face DeepseekV2Attention's tensors -> parameters in one layer
    per_layer: int  # one attention module (its two RMSNorm weights included)
    total: int  # every layer's attention
    cache_values_per_token: int  # every layer: the latent c_KV and the shared rotary key k_R
    cache_bytes_per_token: int


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def latent_attention(
    config: ModelConfig,
    kv_lora_rank: int,
    qk_rope_head_dim: int,
    q_lora_rank: int | None = None,
    qk_nope_head_dim: int | None = None,
    v_head_dim: int | None = None,
    bytes_per_value: float = 2,
) -> LatentAttentionCount:
    """Multi-head latent attention (MLA; DeepSeek-AI 2024, DeepSeek-V2, arXiv:2405.04434, sec. 2.1)
    in place of `config`'s attention: its parameters and its KV cache, from the shapes alone.

    Each token's hidden state h (hidden_size) is projected down to a latent c_KV of kv_lora_rank
    numbers and to one rotary key k_R of qk_rope_head_dim numbers shared by all heads
    (kv_a_proj_with_mqa); the cache keeps only these two. Each head's key (qk_nope_head_dim, no
    rotation) and value (v_head_dim) are projected up from c_KV (kv_b_proj); its query has a part
    of qk_nope_head_dim and a rotary part of qk_rope_head_dim, from h directly (q_proj) or through
    a latent of q_lora_rank (q_a_proj, q_a_layernorm, q_b_proj). Heads are config.num_heads; the
    nope and value head sizes default to config.head_dim. Names and shapes are Hugging Face's
    DeepseekV2Attention's, without biases (DeepSeek-V2 has none); num_kv_heads is not used.

    The cache is (kv_lora_rank + qk_rope_head_dim) x layers values per token: the paper's Table 1,
    (d_c + d_h^R) l, against 2 n_h d_h l for multi-head attention."""
    c = config
    kv_lora_rank = _positive("kv_lora_rank", kv_lora_rank)
    rope = _positive("qk_rope_head_dim", qk_rope_head_dim)
    nope = _positive("qk_nope_head_dim", c.head_dim if qk_nope_head_dim is None else qk_nope_head_dim)
    v_dim = _positive("v_head_dim", c.head_dim if v_head_dim is None else v_head_dim)
    d, heads = c.hidden_size, c.num_heads
    q_out = heads * (nope + rope)  # every head's query: a part matched with c_KV's keys, a rotary part
    if q_lora_rank is None:
        breakdown = {"q_proj": d * q_out}
    else:
        q_lora_rank = _positive("q_lora_rank", q_lora_rank)
        breakdown = {"q_a_proj": d * q_lora_rank, "q_a_layernorm": q_lora_rank, "q_b_proj": q_lora_rank * q_out}
    breakdown |= {
        "kv_a_proj_with_mqa": d * (kv_lora_rank + rope),  # down to the latent, and the shared rotary key
        "kv_a_layernorm": kv_lora_rank,
        "kv_b_proj": kv_lora_rank * heads * (nope + v_dim),  # up to every head's key and value
        "o_proj": heads * v_dim * d,
    }
    per_layer = sum(breakdown.values())
    cache_values = (kv_lora_rank + rope) * c.num_layers
    return LatentAttentionCount(
        breakdown=breakdown,
        per_layer=per_layer,
        total=per_layer * c.num_layers,
        cache_values_per_token=cache_values,
        cache_bytes_per_token=int(cache_values * bytes_per_value),
    )
