"""GenerationConfig: every setting of the sampler in one validated object.

`generate`, `stream`, `beam_search` and `python -m minigpt sample` all take their settings from
one GenerationConfig, checked once, here, with errors that name the bad value and the fix. They
also accept the settings as keyword arguments (`generate(model, ids, 20, temperature=0.8)`),
which build the config: `GenerationConfig.build(config, **settings)`.

Adding a sampling option: a field here (with its check), and its step in
minigpt.sampling.transformations. Nothing else passes the settings on one by one.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 20
    temperature: float = 0.0  # 0 = greedy (argmax); > 0 samples from softmax(logits / temperature)
    top_k: int = 0  # keep the k most likely tokens (0 = off)
    top_p: float = 1.0  # nucleus: the smallest set with this much probability (1 = off)
    repetition_penalty: float = 1.0  # > 1 discourages tokens already seen (1 = off)
    num_beams: int = 1  # > 1: beam search (deterministic)
    length_penalty: float = 1.0  # beam search: score = logprob / length ** length_penalty
    eos_token_id: int | list[int] | None = None  # None: model.config's, else the tokenizer's; [] = never stop
    pad_token_id: int | None = None  # fills rows that ended; None: the tokenizer's, else the first eos id, else 0
    stop_strings: str | list[str] | None = None  # text that ends a row (needs a tokenizer)
    seed: int | None = None  # reproducible sampling
    use_cache: bool = True  # False recomputes the whole sequence every step (same tokens, slower)
    compile: bool = False  # torch.compile the decode step over a static cache (see minigpt.cache)

    def __post_init__(self):
        if not isinstance(self.max_new_tokens, int) or isinstance(self.max_new_tokens, bool) or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {self.max_new_tokens!r}.")
        if not _is_number(self.temperature) or not self.temperature >= 0:
            raise ValueError(
                f"temperature must be >= 0, got {self.temperature!r}. Use 0 for greedy decoding (always the most "
                f"likely token), 1 to sample from the model's own distribution, < 1 for safer text, > 1 for "
                f"wilder text."
            )
        if math.isinf(self.temperature):
            raise ValueError(
                "temperature must be finite; a very large temperature approaches the uniform distribution."
            )
        _check_int("top_k", self.top_k, 0, "0 = no top-k filtering")
        if not _is_number(self.top_p) or not 0.0 < self.top_p <= 1.0:
            raise ValueError(
                f"top_p must be in (0, 1], got {self.top_p!r}: it is the probability mass the kept tokens must "
                f"cover (1 = no top-p filtering; 0 would keep nothing)."
            )
        if not _is_number(self.repetition_penalty) or not 0 < self.repetition_penalty < math.inf:
            raise ValueError(
                f"repetition_penalty must be a positive number (1 = no penalty, > 1 discourages tokens "
                f"already seen), got {self.repetition_penalty!r}."
            )
        _check_int("num_beams", self.num_beams, 1, "1 = no beam search")
        if not _is_number(self.length_penalty) or not math.isfinite(self.length_penalty):
            raise ValueError(
                f"length_penalty must be a finite number (1 = score by mean log-probability), "
                f"got {self.length_penalty!r}."
            )
        if self.seed is not None:
            _check_int("seed", self.seed, 0, "or None for an unseeded draw")
        for name in ("use_cache", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        stops = [self.stop_strings] if isinstance(self.stop_strings, str) else self.stop_strings
        if stops is not None and (
            not isinstance(stops, (list, tuple)) or not all(isinstance(s, str) and s for s in stops)
        ):
            raise ValueError(f"stop_strings must be non-empty strings, got {self.stop_strings!r}.")
        if self.compile and not self.use_cache:
            raise ValueError("compile=True compiles the cached decode step: leave use_cache=True.")
        if self.num_beams > 1:
            if self.compile:
                raise ValueError("compile=True is for sampling and greedy decoding; beam search runs eagerly.")
            if self.temperature != 0 or self.repetition_penalty != 1.0 or self.stop_strings:
                raise ValueError(
                    "Beam search here is deterministic and scores hypotheses by the model's log-probabilities: "
                    "use temperature=0, repetition_penalty=1 and no stop_strings with num_beams > 1."
                )

    @classmethod
    def build(cls, config: GenerationConfig | None = None, **settings) -> GenerationConfig:
        """`config` (default: the defaults) with `settings` replaced; None values keep the config's
        own (so `max_new_tokens=None` means "as configured"), except for the id and text settings,
        where None is a value. An unknown name is an error that suggests the closest field."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in settings if k not in names]
        if unknown:
            close = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"Unknown generation setting {unknown[0]!r}.{hint} The settings are: {', '.join(names)}.")
        nullable = {"eos_token_id", "pad_token_id", "stop_strings", "seed"}
        changes = {k: v for k, v in settings.items() if v is not None or k in nullable}
        return dataclasses.replace(config or cls(), **changes)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value, low: int, meaning: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low} ({meaning}), got {value!r}.")
