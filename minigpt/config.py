"""ModelConfig: the shape of a Llama/Qwen-style decoder, validated, with presets.

Every size a chapter talks about lives here. Field names follow the short names of the
course; `minigpt.hf_format` translates them to and from Hugging Face `config.json` keys. The
published shapes behind `ModelConfig.from_preset` are a table in minigpt.presets.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .presets import PRESETS


@dataclass
class ModelConfig:
    vocab_size: int = 4096
    hidden_size: int = 256
    num_layers: int = 6
    num_heads: int = 8
    # These three are resolved in __post_init__ (None: derived), so every reader sees an int.
    num_kv_heads: int = None  # pyright: ignore[reportAssignmentType]  # None: same as num_heads (plain MHA)
    head_dim: int = None  # pyright: ignore[reportAssignmentType]  # None: hidden_size // num_heads
    intermediate_size: int = None  # pyright: ignore[reportAssignmentType]  # None: SwiGLU rule, 8/3 * hidden, to 64
    max_seq_len: int = 512
    rope_theta: float = 10000.0
    # None: plain RoPE. Otherwise Hugging Face's rope_scaling dict (see normalize_rope_scaling):
    # {"rope_type": "linear" | "dynamic" | "yarn" | "llama3", "factor": f, ...}; the legacy "type" key
    # works too. A scaled RoPE may run past max_seq_len: see context_length.
    rope_scaling: dict | None = None
    norm_eps: float = 1e-5
    tie_word_embeddings: bool = True
    qkv_bias: bool = False  # True for Qwen2: q/k/v projections carry a bias, o_proj does not
    dropout: float = 0.0
    # Token ids recorded in exported config.json files; the model itself never reads them.
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    # Where the shapes come from (paper, model card); empty for user-made configs.
    source: str = field(default="", compare=False)

    def __post_init__(self):
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "max_seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}.")
        if self.head_dim is None:
            if self.hidden_size % self.num_heads:
                raise ValueError(
                    f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}, "
                    f"so each head cannot get an equal slice. Pick num_heads among the divisors of "
                    f"{self.hidden_size} (e.g. {_nearby_divisors(self.hidden_size, self.num_heads)}), "
                    f"or set head_dim explicitly."
                )
            self.head_dim = self.hidden_size // self.num_heads
        if not isinstance(self.head_dim, int) or self.head_dim <= 0 or self.head_dim % 2:
            raise ValueError(
                f"head_dim must be a positive even integer (rotary embedding rotates pairs of "
                f"dimensions), got {self.head_dim!r}."
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_kv_heads={self.num_kv_heads} must divide num_heads={self.num_heads}: in grouped-query "
                f"attention each key/value head serves an equal group of query heads. Try one of "
                f"{[d for d in range(1, self.num_heads + 1) if self.num_heads % d == 0]}."
            )
        if self.intermediate_size is None:
            self.intermediate_size = swiglu_intermediate_size(self.hidden_size)
        if not isinstance(self.intermediate_size, int) or self.intermediate_size <= 0:
            raise ValueError(f"intermediate_size must be a positive integer, got {self.intermediate_size!r}.")
        for name in ("rope_theta", "norm_eps", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"ModelConfig.{name} must be a number, got {value!r} ({type(value).__name__}).")
        for name in ("tie_word_embeddings", "qkv_bias"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(
                    f"ModelConfig.{name} must be true or false (a JSON boolean), got {value!r} "
                    f'({type(value).__name__}); a string such as "no" is not a boolean.'
                )
        for name in ("bos_token_id", "eos_token_id"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"ModelConfig.{name} must be None or a token id (an integer >= 0), got {value!r}.")
        if not 0 < self.rope_theta < math.inf:
            why = ": with an infinite base only the first pair turns, and positions are lost" * (
                self.rope_theta == math.inf
            )
            raise ValueError(
                f"rope_theta must be a positive finite number (10000 in Llama 2, 1e6 in Qwen2.5), got "
                f"{self.rope_theta!r}{why}."
            )
        self.rope_scaling = normalize_rope_scaling(self.rope_scaling, self.max_seq_len)
        if not 0 < self.norm_eps < math.inf:
            why = ": an infinite eps divides every hidden state by infinity, and every logit is 0" * (
                self.norm_eps == math.inf
            )
            raise ValueError(
                f"norm_eps must be a small positive finite number (1e-5 or 1e-6 in published models), got "
                f"{self.norm_eps!r}{why}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout is a probability in [0, 1), got {self.dropout!r}.")

    @property
    def context_length(self) -> int | None:
        """The longest sequence the model runs, or None for no limit; what the model, the KV cache
        and generation check lengths against.

        Plain RoPE: max_seq_len. A scaled RoPE declares how far it reaches, as transformers reads
        it: linear, yarn and llama3 stretch the trained window (original_max_position_embeddings,
        default max_seq_len) `factor` times, so the context is the larger of that and max_seq_len;
        dynamic NTK recomputes its base for every length, so it sets no limit (transformers sets
        none for any type)."""
        scaling = self.rope_scaling
        if not scaling:
            return self.max_seq_len
        if scaling["rope_type"] == "dynamic":
            return None
        window = scaling.get("original_max_position_embeddings", self.max_seq_len)
        return max(self.max_seq_len, int(scaling["factor"] * window))

    @property
    def num_query_groups(self) -> int:
        """How many query heads share one key/value head (1 = MHA, num_heads = MQA)."""
        return self.num_heads // self.num_kv_heads

    # ---- presets and serialization ------------------------------------------------------

    @classmethod
    def from_preset(cls, name: str, **overrides) -> ModelConfig:
        if name not in PRESETS:
            raise KeyError(f"Unknown preset {name!r}. Available: {', '.join(sorted(PRESETS))}.")
        return cls(**{**PRESETS[name], **overrides})

    @staticmethod
    def presets() -> list[str]:
        return list(PRESETS)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown ModelConfig field(s) {unknown}. Known fields: {sorted(known)}. "
                f"(A Hugging Face config.json is read by MiniGPT.from_pretrained, not ModelConfig.from_dict.)"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> ModelConfig:
        data = read_json(Path(path))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of ModelConfig fields, got a {type(data).__name__}.")
        return cls.from_dict(data)


def read_json(path: Path):
    """json.loads of a file, with an error that names the file and the place of the problem."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}. The file is damaged or was "
            f"cut off: copy or export it again (or fix it in an editor)."
        ) from None


ROPE_SCALING_TYPES = ("linear", "dynamic", "yarn", "llama3")
_ROPE_SCALING_KEYS = {
    "linear": {"factor"},
    "dynamic": {"factor", "original_max_position_embeddings"},
    "llama3": {"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"},
    "yarn": {
        "factor",
        "original_max_position_embeddings",
        "attention_factor",
        "beta_fast",
        "beta_slow",
        "mscale",
        "mscale_all_dim",
        "truncate",
    },
}


def normalize_rope_scaling(rope_scaling: dict | None, max_seq_len: int) -> dict | None:
    """Validate a Hugging Face style rope_scaling dict and fill its defaults; None stays None.

    Semantics are those of transformers/modeling_rope_utils.py, with L = the trained window
    (`original_max_position_embeddings`, default max_seq_len) and d = head_dim:
      linear   position interpolation (Chen et al. 2023): inv_freq / factor, i.e. position m is
               rotated as m / factor would have been.
      dynamic  dynamic NTK-aware scaling: for a sequence of length s > L the base becomes
               theta * (factor * s / L - (factor - 1)) ** (d / (d - 2)); for s <= L nothing changes.
      yarn     YaRN (Peng et al. 2023): low-frequency pairs interpolated, high-frequency pairs left
               alone, a linear ramp between (beta_fast=32, beta_slow=1 rotations over L), and
               cos/sin scaled by attention_factor (default 0.1 * ln(factor) + 1).
      llama3   Llama 3.1/3.2: pairs whose wavelength is longer than L / low_freq_factor are
               interpolated (divided by factor), those shorter than L / high_freq_factor kept, a
               smooth blend between (Meta's 3.1 release: factor 8, low 1, high 4, L 8192).
    Every number must be finite; how far a scaled model reaches is ModelConfig.context_length.
    """
    if rope_scaling is None:
        return None
    if not isinstance(rope_scaling, dict):
        raise ValueError(
            f"rope_scaling must be None or a dict like {{'rope_type': 'linear', 'factor': 2.0}}, got {rope_scaling!r}."
        )
    scaling = dict(rope_scaling)
    legacy = scaling.pop("type", None)
    rope_type = scaling.pop("rope_type", legacy)
    scaling.pop("rope_theta", None)  # transformers >= 5 repeats rope_theta here; ours is ModelConfig.rope_theta
    if rope_type in (None, "default"):
        if scaling:
            raise ValueError(f"rope_scaling has no rope_type but sets {sorted(scaling)}; add 'rope_type'.")
        return None
    if rope_type not in ROPE_SCALING_TYPES:
        raise ValueError(
            f"rope_scaling rope_type={rope_type!r} is not implemented; minigpt has {ROPE_SCALING_TYPES} "
            f"(plain RoPE: rope_scaling=None)."
        )
    unknown = sorted(set(scaling) - _ROPE_SCALING_KEYS[rope_type])
    if unknown:
        raise ValueError(
            f"rope_scaling for rope_type={rope_type!r} does not take {unknown}; "
            f"it takes {sorted(_ROPE_SCALING_KEYS[rope_type])}."
        )
    factor = scaling.get("factor")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 1.0 <= factor < math.inf:
        raise ValueError(
            f"rope_scaling factor must be a finite number >= 1 (the context is stretched factor times), got {factor!r}."
        )
    out = {"rope_type": rope_type, "factor": float(factor)}
    if rope_type in ("dynamic", "yarn", "llama3"):
        original = scaling.get("original_max_position_embeddings", max_seq_len)
        if isinstance(original, bool) or not isinstance(original, int) or original <= 0:
            raise ValueError(
                f"rope_scaling original_max_position_embeddings (the trained window) must be a positive "
                f"integer, got {original!r}."
            )
        out["original_max_position_embeddings"] = original
    if rope_type == "yarn":
        for key in ("attention_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim"):
            value = scaling.get(key)
            if value is not None:
                out[key] = _positive_finite(key, value, " or absent")
        if out.get("beta_fast", 32.0) < out.get("beta_slow", 1.0):
            raise ValueError(
                f"rope_scaling beta_fast={out.get('beta_fast', 32.0)} must be >= beta_slow={out.get('beta_slow', 1.0)}."
            )
        if "truncate" in scaling:
            if not isinstance(scaling["truncate"], bool):
                raise ValueError(f"rope_scaling truncate must be true or false, got {scaling['truncate']!r}.")
            out["truncate"] = scaling["truncate"]
    if rope_type == "llama3":
        for key in ("low_freq_factor", "high_freq_factor"):
            if key not in scaling:
                raise ValueError(
                    f"rope_scaling for rope_type='llama3' needs {key} (Llama 3.1: low_freq_factor 1.0, "
                    f"high_freq_factor 4.0), as transformers does."
                )
            out[key] = _positive_finite(key, scaling[key])
        if not out["high_freq_factor"] > out["low_freq_factor"]:
            raise ValueError(
                f"rope_scaling high_freq_factor={out['high_freq_factor']} must be > low_freq_factor="
                f"{out['low_freq_factor']}: the blend runs between the two wavelengths they set."
            )
    return out


def _positive_finite(key: str, value, alternative: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"rope_scaling {key} must be a positive finite number{alternative}, got {value!r}.")
    return float(value)


def swiglu_intermediate_size(hidden_size: int, multiple_of: int = 64) -> int:
    """The LLaMA rule: a SwiGLU MLP with 3 matrices and width 8/3*d has the parameters of a
    2-matrix MLP of width 4*d; round up to a hardware-friendly multiple."""
    width = int(8 * hidden_size / 3)
    return multiple_of * ((width + multiple_of - 1) // multiple_of)


def _nearby_divisors(n: int, near: int, count: int = 4) -> list[int]:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return sorted(sorted(divisors, key=lambda d: abs(d - near))[:count])
