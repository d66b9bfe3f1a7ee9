"""GenerationConfig: every setting of the sampler in one validated object.

`generate`, `stream`, `beam_search` and `python -m minigpt sample` all take their settings from
one GenerationConfig, checked once, here, with errors that name the bad value and the fix. They
also accept the settings as keyword arguments (`generate(model, ids, 20, temperature=0.8)`),
which build the config: `GenerationConfig.build(config, **settings)`. The object then travels
whole, down to the sampling chain (minigpt.sampling), and `greedy` is decided here only.

Adding a sampling option: a field here (with its check), and its step in
minigpt.sampling.transformations (and, if beam search cannot honour it, a line in
`check_beam_search`). Nothing else passes the settings on one by one.
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
            if self.seed >= 2**64:
                raise ValueError(
                    f"seed must be below 2**64 (torch's generators take a 64-bit seed), got {self.seed}: "
                    f"e.g. seed % 2**64, or any smaller number."
                )
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
            self.check_beam_search()

    def check_beam_search(self, explain: bool = False) -> None:
        """Raise a ValueError naming every setting that beam search (num_beams > 1) would not honour.

        Beam search here is deterministic and ranks hypotheses by the model's own log-probabilities:
        sampling's settings (temperature, top_k, top_p, repetition_penalty), stop_strings,
        compile and stream's explain=True do not apply to it, and are refused rather than dropped.
        Runs on construction when num_beams > 1; explain is not a setting, so a caller that has
        one (the command line's --explain) passes it here."""
        unsupported = {
            "temperature": (self.temperature != 0, "use 0: beam search never samples"),
            "top_k": (self.top_k != 0, "use 0"),
            "top_p": (self.top_p != 1.0, "use 1.0"),
            "repetition_penalty": (self.repetition_penalty != 1.0, "use 1.0"),
            "stop_strings": (bool(self.stop_strings), "use None; rows end at eos_token_id"),
            "compile": (self.compile, "use False; beam search runs eagerly"),
            "explain": (explain, "use False; explaining is for sampling one token at a time, with stream()"),
        }
        bad = [f"{name}={getattr(self, name, explain)!r} ({fix})" for name, (on, fix) in unsupported.items() if on]
        if bad:
            raise ValueError(
                f"Beam search (num_beams={self.num_beams}) is deterministic and scores hypotheses by the model's "
                f"log-probabilities; it does not do: {'; '.join(bad)}. Drop those settings, or use num_beams=1."
            )

    @classmethod
    def build(cls, config: GenerationConfig | None = None, **settings) -> GenerationConfig:
        """`config` (default: the defaults) with `settings` replaced; None values keep the config's
        own (so `max_new_tokens=None` means "as configured"), except for the id and text settings,
        where None is a value. An unknown name is an error that suggests the closest field."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in settings if k not in names]
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(name, names, n=1)
            hint = _TRANSFORMERS_NAMES.get(name) or (f" Did you mean {close[0]!r}?" if close else "")
            raise TypeError(f"Unknown generation setting {name!r}.{hint} The settings are: {', '.join(names)}.")
        nullable = {"eos_token_id", "pad_token_id", "stop_strings", "seed"}
        changes = {k: v for k, v in settings.items() if v is not None or k in nullable}
        return dataclasses.replace(config or cls(), **changes)

    @property
    def greedy(self) -> bool:
        """Temperature 0 means argmax (the limit of ever smaller temperatures), and top-k / top-p
        cannot change an argmax: the one place that decides it."""
        return self.temperature == 0


# Settings of transformers' generate() that minigpt spells differently: what to write instead.
_TRANSFORMERS_NAMES = {
    "do_sample": " Sampling here is temperature > 0 (e.g. temperature=1.0, or 0.7 for safer text); the default "
    "temperature=0 is greedy decoding, transformers' do_sample=False.",
    "max_length": " Say how many tokens to add with max_new_tokens (the prompt not counted).",
    "num_return_sequences": " For several samples of one prompt, pass the prompt several times "
    "([prompt] * n) with temperature > 0.",
}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value, low: int, meaning: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low} ({meaning}), got {value!r}.")
