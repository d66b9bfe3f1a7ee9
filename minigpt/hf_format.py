"""The Hugging Face folder format: config.json <-> ModelConfig, and the weights' files.

minigpt's parameter names are already Hugging Face's, so conversion is only a matter of
config keys. A model with q/k/v biases is written as Qwen2 (whose attention has exactly those
biases); without them, as Llama. Both load in `transformers` with no custom code.

This module knows the format, not the model class: `load_pretrained` builds whatever class it
is given (MiniGPT.from_pretrained passes itself), so minigpt.model imports this module and not
the other way round. minigpt.hf is the public face of the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import ROPE_SCALING_TYPES, ModelConfig, normalize_rope_scaling, read_json

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
        index = read_json(path / INDEX_NAME)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(f, str) for f in weight_map.values()):
            raise ValueError(f'{path / INDEX_NAME}: expected {{"weight_map": {{tensor name: shard file name}}}}.')
        files = [_inside(path, f, INDEX_NAME) for f in sorted(set(weight_map.values()))]
    elif (path / PICKLE_NAME).exists():
        # weights_only=True refuses arbitrary objects: a downloaded file cannot run code here.
        return torch.load(path / PICKLE_NAME, map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(f"No {WEIGHTS_NAME}, {INDEX_NAME} or {PICKLE_NAME} in {path}.")
    state = {}
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(
                f"{file} is missing: {path / INDEX_NAME} lists it as a shard. Copy the whole folder again."
            )
        try:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():
                    state[key] = f.get_tensor(key)
        except Exception as e:  # SafetensorError (no public class to catch) or OSError
            size = file.stat().st_size
            raise ValueError(
                f"{file} ({size:,} bytes) is not a complete safetensors file ({type(e).__name__}: {e}). It was "
                f"truncated (an interrupted download or save) or is not a safetensors file: copy or export it again."
            ) from None
    return state


def _inside(folder: Path, name: str, listed_in: str) -> Path:
    """folder / name, refusing names that lead out of the folder (absolute, or through '..')."""
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts or (parts and parts[0].startswith(("/", "\\"))):
        raise ValueError(
            f"{folder / listed_in} points to {name!r}, outside the model folder {folder}: refused (a model "
            f"folder's files are read from inside it only). Fix the weight_map or use a trusted copy of the folder."
        )
    return folder / name


def load_pretrained(model_class, path: str | Path, device=None, dtype: torch.dtype | None = None):
    """model_class(config) with the folder's weights: built on the meta device (no memory twice),
    the tensors checked against the config, then assigned; buffers rebuilt by the model itself."""
    path = Path(path)
    if not (path / CONFIG_NAME).exists():
        raise FileNotFoundError(
            f"{path / CONFIG_NAME} not found. from_pretrained reads a local folder and never downloads: "
            f"fetch a checkpoint first (e.g. huggingface_hub.snapshot_download) and pass its folder."
        )
    config = from_hf_config(read_json(path / CONFIG_NAME), str(path / CONFIG_NAME))
    state = load_state_dict(path)
    state = {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}  # old HF files
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)

    with torch.device("meta"):
        model = model_class(config)
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
    model.init_buffers(device or "cpu")
    return model.eval()


def _atomic_write(target: Path, write) -> None:
    """Write to a temporary sibling, then rename: a crash mid-write leaves the old file intact."""
    tmp = target.with_name(target.name + ".tmp")
    try:
        write(tmp)
    except Exception as e:
        tmp.unlink(missing_ok=True)
        raise_if_disk_full(e, target)
        raise
    tmp.chmod(0o644)  # safetensors creates files readable by their owner only
    tmp.replace(target)


def raise_if_disk_full(error: BaseException, target) -> None:
    """Re-raise a failed write as `OSError(ENOSPC, "disk full while writing <target>")` when the
    disk is full. Libraries word it differently (OSError errno 28; safetensors' and torch's own
    errors carry the OS message); anything else is left to the caller to re-raise."""
    import errno

    if getattr(error, "errno", None) == errno.ENOSPC or "No space left" in str(error):
        raise OSError(
            errno.ENOSPC,
            f"disk full while writing {target}. Nothing was replaced: files written before are intact. "
            f"Free some space (or point --out / out_dir to a disk with room) and run again.",
        ) from error
