"""config.json <-> ModelConfig: Hugging Face's config keys and defaults for Llama and Qwen2.

minigpt's parameter names are already Hugging Face's, so conversion is only a matter of
config keys. A model with q/k/v biases is written as Qwen2 (whose attention has exactly those
biases); without them, as Llama. Both load in `transformers` with no custom code. The folders
themselves (weights, saving, loading) are minigpt.hf_format's.
"""

from __future__ import annotations

import torch

from .config import ROPE_SCALING_TYPES, ModelConfig, normalize_rope_scaling
from .devices import DTYPES

SUPPORTED_TYPES = ("llama", "qwen2")


def to_hf_config(config: ModelConfig, dtype: torch.dtype = torch.float32) -> dict:
    model_type = "qwen2" if config.qkv_bias else "llama"
    hf = {
        "architectures": ["Qwen2ForCausalLM" if config.qkv_bias else "LlamaForCausalLM"],
        "model_type": model_type,
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "num_key_value_heads": config.num_kv_heads,
        "head_dim": config.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        # transformers < 5 reads rope_theta; >= 5 reads rope_parameters (and converts rope_theta).
        "rope_theta": config.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_theta},
        **_rope_scaling_to_hf(config),
        "tie_word_embeddings": config.tie_word_embeddings,
        "attention_dropout": config.dropout,
        "initializer_range": 0.02,
        "use_cache": True,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "torch_dtype": dtype_name(dtype),
        "dtype": dtype_name(dtype),
    }
    if model_type == "llama":
        hf.update(attention_bias=False, mlp_bias=False)
    else:
        hf.update(use_sliding_window=False, sliding_window=None, max_window_layers=config.num_layers)
    return hf


def _rope_scaling_to_hf(config: ModelConfig) -> dict:
    """config.json keys for a scaled RoPE: rope_parameters (transformers >= 5) and rope_scaling
    (older). transformers' "dynamic" reads its trained window from max_position_embeddings and
    has no length limit, so that key holds the window and minigpt's own limit travels alongside."""
    scaling = config.rope_scaling
    if not scaling:
        return {}
    params = dict(scaling)
    keys = {}
    if scaling["rope_type"] == "dynamic":
        window = params.pop("original_max_position_embeddings")
        keys = {"max_position_embeddings": window, "minigpt_max_seq_len": config.max_seq_len}
    return {
        "rope_parameters": {**params, "rope_theta": config.rope_theta},
        "rope_scaling": params,
        **keys,
    }


# What transformers assumes for a key that config.json leaves out: the defaults of LlamaConfig and
# Qwen2Config (transformers 5.x; tests/library/test_hf.py compares these with the installed classes). They
# differ per architecture: a Qwen2 folder without num_key_value_heads has 32 KV heads, without
# max_position_embeddings a context of 32768. A missing tie_word_embeddings means untied in both.
HF_DEFAULTS = {
    "llama": {
        "num_key_value_heads": None,
        "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    },
    "qwen2": {
        "num_key_value_heads": 32,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "attention_dropout": 0.0,
        "bos_token_id": None,
        "eos_token_id": None,
    },
}
# The shapes have defaults in transformers too (those of a 7B model), but a folder whose config.json
# lacks them is incomplete, not a 7B model: these keys are required.
HF_REQUIRED = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
# ModelConfig field -> config.json key, so an error names the key the user sees in the file
_HF_KEY = {
    "num_layers": "num_hidden_layers",
    "num_heads": "num_attention_heads",
    "num_kv_heads": "num_key_value_heads",
    "max_seq_len": "max_position_embeddings",
    "norm_eps": "rms_norm_eps",
    "dropout": "attention_dropout",
}


def from_hf_config(hf: dict, where: str = "config.json") -> ModelConfig:
    if not isinstance(hf, dict):
        raise ValueError(f"{where}: a config.json holds one JSON object ({{...}}), got a {type(hf).__name__}.")
    model_type = hf.get("model_type")
    if model_type not in SUPPORTED_TYPES:
        raise ValueError(
            f"{where}: model_type={model_type!r} is not supported; minigpt reads {SUPPORTED_TYPES} "
            f"(Llama and Qwen2 families, e.g. Llama-2, TinyLlama, Qwen2.5, MiniMind exported as Llama)."
        )
    missing = [k for k in HF_REQUIRED if k not in hf]
    if missing:
        raise ValueError(
            f"{where} is incomplete: it has no {', '.join(missing)}. A {model_type} config.json names the "
            f"model's shapes; copy the file again from the model's source (or write the missing keys)."
        )
    defaults = HF_DEFAULTS[model_type]
    hf = {**defaults, **hf}  # a key that is present wins, even when it is null
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(f"{where}: hidden_act={hf['hidden_act']!r}; minigpt's MLP is SwiGLU (silu).")
    if model_type == "llama" and (hf.get("attention_bias") or hf.get("mlp_bias")):
        raise ValueError(
            f"{where}: attention_bias/mlp_bias is set; minigpt supports biases on q/k/v only (Qwen2 style)."
        )
    if model_type == "qwen2" and hf.get("use_sliding_window"):
        raise ValueError(f"{where}: use_sliding_window=true; minigpt implements full attention only.")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if not isinstance(rope, dict):
        raise ValueError(f"{where}: rope_parameters / rope_scaling must be a JSON object or null, got {rope!r}.")
    rope_theta = rope.get("rope_theta", hf.get("rope_theta", defaults["rope_theta"]))
    max_seq_len = hf["max_position_embeddings"]
    rope_scaling = {k: v for k, v in rope.items() if k != "rope_theta"}
    rope_type = rope_scaling.get("rope_type", rope_scaling.get("type", "default"))
    if rope_type == "default":
        rope_scaling = None
    elif rope_type not in ROPE_SCALING_TYPES:
        raise ValueError(
            f"{where}: rope_type={rope_type!r} (scaled RoPE, e.g. Llama 3.1's 'llama3'); minigpt implements "
            f"plain RoPE and rope_scaling types {ROPE_SCALING_TYPES}."
        )
    elif rope_type == "dynamic":
        # transformers scales past max_position_embeddings (its trained window) and sets no upper
        # limit; minigpt needs one: the one it wrote, else factor x the window.
        window = max_seq_len
        rope_scaling["original_max_position_embeddings"] = window
        factor = rope_scaling.get("factor", 1)
        if isinstance(window, int) and isinstance(factor, (int, float)):
            max_seq_len = hf.get("minigpt_max_seq_len") or int(factor * window)
    heads, hidden = hf["num_attention_heads"], hf["hidden_size"]
    head_dim = hf.get("head_dim")
    if head_dim is None and isinstance(heads, int) and isinstance(hidden, int) and heads > 0:
        head_dim = hidden // heads
    try:
        rope_scaling = normalize_rope_scaling(rope_scaling, max_seq_len)
        return ModelConfig(
            vocab_size=hf["vocab_size"],
            hidden_size=hidden,
            num_layers=hf["num_hidden_layers"],
            num_heads=heads,
            num_kv_heads=hf["num_key_value_heads"] if hf["num_key_value_heads"] is not None else heads,
            head_dim=head_dim,  # pyright: ignore[reportArgumentType]  (None: ModelConfig derives it)
            intermediate_size=hf["intermediate_size"],
            max_seq_len=max_seq_len,
            rope_theta=float(rope_theta)
            if isinstance(rope_theta, int) and not isinstance(rope_theta, bool)
            else rope_theta,
            rope_scaling=rope_scaling,
            norm_eps=hf["rms_norm_eps"],
            tie_word_embeddings=hf["tie_word_embeddings"],
            qkv_bias=model_type == "qwen2",
            dropout=hf["attention_dropout"],
            bos_token_id=hf["bos_token_id"] if isinstance(hf["bos_token_id"], int) else None,
            eos_token_id=hf["eos_token_id"] if isinstance(hf["eos_token_id"], int) else None,
        )
    except ValueError as e:
        message = str(e)
        for field_name, key in _HF_KEY.items():
            message = message.replace(f"ModelConfig.{field_name} ", f"{key} ").replace(f"{field_name}=", f"{key}=")
        raise ValueError(f"{where}: {message.replace('ModelConfig.', '')}") from None


# ---- weight formats ----------------------------------------------------------------------------


def dtype_name(dtype: torch.dtype) -> str:
    """ "float32", "bfloat16", "float16": the name config.json (and torch) gives a dtype."""
    return str(dtype).removeprefix("torch.")


def weight_dtype(value, what: str = "dtype") -> torch.dtype:
    """The torch dtype weights are stored or loaded in, from a torch.dtype or a name: minigpt's
    ("fp32", "bf16", "fp16", the keys of minigpt.devices.DTYPES) or torch's and transformers'
    ("float32", "bfloat16", "float16"). Anything else (int8, float64, "half") is refused by name."""
    names = {**DTYPES, **{dtype_name(d): d for d in DTYPES.values()}}
    if isinstance(value, torch.dtype) and value in DTYPES.values():
        return value
    if isinstance(value, str) and value in names:
        return names[value]
    shown = dtype_name(value) if isinstance(value, torch.dtype) else repr(value)
    raise ValueError(
        f"{what} {shown} is not a weight format minigpt reads or writes: use one of {', '.join(names)} "
        f"(or torch.float32 / torch.bfloat16 / torch.float16). int8/int4 weights are made in memory by "
        f"minigpt.quant, never saved; a float64 model is saved as float32 (dtype=torch.float32)."
    )
