"""To and from Hugging Face folders: config.json + model.safetensors.

minigpt's parameter names are already Hugging Face's, so conversion is only a matter of
config keys. A model with q/k/v biases is written as Qwen2 (whose attention has exactly those
biases); without them, as Llama. Both load in `transformers` with no custom code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import ROPE_SCALING_TYPES, ModelConfig, normalize_rope_scaling

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
PICKLE_NAME = "pytorch_model.bin"
SUPPORTED_TYPES = ("llama", "qwen2")

_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


# ---- config.json ----------------------------------------------------------------------------


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
        "torch_dtype": _DTYPE_NAMES[dtype],
        "dtype": _DTYPE_NAMES[dtype],
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


def from_hf_config(hf: dict, where: str = "config.json") -> ModelConfig:
    model_type = hf.get("model_type")
    if model_type not in SUPPORTED_TYPES:
        raise ValueError(
            f"{where}: model_type={model_type!r} is not supported; minigpt reads {SUPPORTED_TYPES} "
            f"(Llama and Qwen2 families, e.g. Llama-2, TinyLlama, Qwen2.5, MiniMind exported as Llama)."
        )
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(f"{where}: hidden_act={hf['hidden_act']!r}; minigpt's MLP is SwiGLU (silu).")
    if model_type == "llama" and (hf.get("attention_bias") or hf.get("mlp_bias")):
        raise ValueError(
            f"{where}: attention_bias/mlp_bias is set; minigpt supports biases on q/k/v only (Qwen2 style)."
        )
    if model_type == "qwen2" and hf.get("use_sliding_window"):
        raise ValueError(f"{where}: use_sliding_window=true; minigpt implements full attention only.")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    rope_theta = rope.get("rope_theta", hf.get("rope_theta", 10000.0))
    max_seq_len = hf.get("max_position_embeddings", 2048)
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
        max_seq_len = hf.get("minigpt_max_seq_len") or int(rope_scaling.get("factor", 1) * window)
    try:
        rope_scaling = normalize_rope_scaling(rope_scaling, max_seq_len)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    heads = hf["num_attention_heads"]
    return ModelConfig(
        vocab_size=hf["vocab_size"],
        hidden_size=hf["hidden_size"],
        num_layers=hf["num_hidden_layers"],
        num_heads=heads,
        num_kv_heads=hf.get("num_key_value_heads") or heads,
        head_dim=hf.get("head_dim") or hf["hidden_size"] // heads,
        intermediate_size=hf["intermediate_size"],
        max_seq_len=max_seq_len,
        rope_theta=float(rope_theta),
        rope_scaling=rope_scaling,
        norm_eps=hf.get("rms_norm_eps", 1e-6),
        tie_word_embeddings=hf.get("tie_word_embeddings", model_type == "qwen2"),
        qkv_bias=model_type == "qwen2",
        dropout=hf.get("attention_dropout", 0.0),
        bos_token_id=hf.get("bos_token_id") if isinstance(hf.get("bos_token_id"), int) else None,
        eos_token_id=hf.get("eos_token_id") if isinstance(hf.get("eos_token_id"), int) else None,
    )


# ---- weights ---------------------------------------------------------------------------------


def save_pretrained(model, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write `path/config.json` and `path/model.safetensors` (atomically: temp name, then rename)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    dtype = dtype or next(model.parameters()).dtype
    state = {}
    for name, p in model.named_parameters():  # tied lm_head.weight is one Parameter: listed once
        state[name] = p.detach().to(device="cpu", dtype=dtype).contiguous()
    _atomic_write(path / WEIGHTS_NAME, lambda tmp: save_file(state, str(tmp), metadata={"format": "pt"}))
    config_text = json.dumps(to_hf_config(model.config, dtype), indent=2) + "\n"
    _atomic_write(path / CONFIG_NAME, lambda tmp: tmp.write_text(config_text, encoding="utf-8"))


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a folder: one safetensors file, a sharded set, or (never unpickled
    beyond tensors) a pytorch_model.bin."""
    path = Path(path)
    if (path / WEIGHTS_NAME).exists():
        files = [path / WEIGHTS_NAME]
    elif (path / INDEX_NAME).exists():
        index = json.loads((path / INDEX_NAME).read_text(encoding="utf-8"))
        files = [path / f for f in sorted(set(index["weight_map"].values()))]
    elif (path / PICKLE_NAME).exists():
        # weights_only=True refuses arbitrary objects: a downloaded file cannot run code here.
        return torch.load(path / PICKLE_NAME, map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(f"No {WEIGHTS_NAME}, {INDEX_NAME} or {PICKLE_NAME} in {path}.")
    state = {}
    for file in files:
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():
                state[key] = f.get_tensor(key)
    return state


def from_pretrained(path: str | Path, device=None, dtype: torch.dtype | None = None):
    from .model import MiniGPT, RotaryEmbedding

    path = Path(path)
    if not (path / CONFIG_NAME).exists():
        raise FileNotFoundError(
            f"{path / CONFIG_NAME} not found. from_pretrained reads a local folder and never downloads: "
            f"fetch a checkpoint first (e.g. huggingface_hub.snapshot_download) and pass its folder."
        )
    config = from_hf_config(json.loads((path / CONFIG_NAME).read_text(encoding="utf-8")), str(path / CONFIG_NAME))
    state = load_state_dict(path)
    state = {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}  # old HF files
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)

    with torch.device("meta"):
        model = MiniGPT(config)
    expected = dict(model.named_parameters())
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: the checkpoint's tensors do not match its config. Missing: {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}; unexpected: {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}."
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)} but config.json implies "
                f"{tuple(expected[name].shape)}. Is config.json from another model?"
            )
    dtype = dtype or torch.float32
    state = {k: v.to(device=device or "cpu", dtype=dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=False, assign=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.model.rotary_emb = RotaryEmbedding(config.head_dim, config.rope_theta, config.rope_scaling).to(
        device or "cpu"
    )
    return model.eval()


def _atomic_write(target: Path, write) -> None:
    """Write to a temporary sibling, then rename: a crash mid-write leaves the old file intact."""
    tmp = target.with_name(target.name + ".tmp")
    write(tmp)
    tmp.chmod(0o644)  # safetensors creates files readable by their owner only
    tmp.replace(target)
