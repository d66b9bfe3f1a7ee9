"""Held-out probes: what the course model has learned, measured on text it never saw.

A probe is a held-out document cut just before the slot being measured: `prompt` is the text
before it, `answer` the exact text greedy decoding should produce next. Scoring
(`probe_passes`): the continuation starts with `answer` and the next character, if any, does not
extend the last word (not a letter, digit, '-', '_' or apostrophe), so " 20" does not pass for
" 200" and " twenty" does not pass for " twenty-one". Encode a prompt as
`[tok.eos_id] + tok.encode(prompt)`, the way documents begin in the corpus (`probe_ids`).

    probes = course_probes(50)                     # 50 per (kind, language); facts: all of them
    accuracy = evaluate_probes(complete, probes)   # {"name/en": 0.98, "name": 0.97, ...}

Probes are drawn with the corpus's own generators (minigpt/data/corpus.py), from the combinations
the corpus never uses (`is_held_out`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .corpus import (
    COUNTRIES,
    FACT_ATTRS,
    GENERATORS,
    LANGS,
    arith_problem,
    fact_held_out_template,
    fact_sentence,
    gen_count,
    is_held_out,
    render_arith,
)

PROBE_KINDS = ("name", "dialogue", "count", "arith_answer", "arith_steps", "fact", "copy")


@dataclass(frozen=True)
class Probe:
    kind: str
    lang: str
    prompt: str
    answer: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def max_new_tokens(self) -> int:
        """Enough tokens to produce the answer under any tokenizer (one token >= one byte), +2."""
        return len(self.answer.encode("utf-8")) + 2


def course_probes(n: int = 50, seed: int = 1234) -> list[Probe]:
    """`n` held-out probes per (kind, language); facts: all 16 x 4 per language (<= n each).
    `meta["key"]` is the held-out combination a probe was drawn from (see `is_held_out`).

    `arith_answer` and `arith_steps` are the same problems, names and items, asked two ways,
    so their accuracies compare like for like."""
    rng = random.Random(seed)
    probes: list[Probe] = []

    def draw(gen, lang, **kw):
        while True:
            key, prefix, answer, suffix = gen(rng, lang, **kw)
            if is_held_out(key):
                return key, prefix, answer

    for lang in LANGS:
        for kind in ("name", "dialogue", "copy"):
            for _ in range(n):
                key, prompt, answer = draw(GENERATORS[kind], lang)
                probes.append(Probe(kind, lang, prompt, answer, {"key": key}))
        for _ in range(n):
            key, prompt, answer = draw(gen_count, lang, probe_len=rng.randint(3, 5))
            probes.append(Probe("count", lang, prompt, answer, {"key": key, "sequence": key[2]}))
        for _ in range(n):
            while True:
                problem = arith_problem(rng, steps=2)
                if is_held_out(("arith",) + problem):
                    break
            state = rng.getstate()
            for form in ("answer", "steps"):
                rng.setstate(state)  # same name and item in both forms
                prompt, answer, _ = render_arith(rng, lang, problem, form)
                probes.append(Probe("arith_" + form, lang, prompt, answer, {"problem": problem}))
        facts = [(e, a) for e in range(len(COUNTRIES[lang])) for a in FACT_ATTRS]
        for e, attr in facts if n >= len(facts) else sorted(rng.sample(facts, n)):
            prompt, answer, _ = fact_sentence(lang, e, attr, fact_held_out_template(lang, e, attr))
            probes.append(Probe("fact", lang, prompt, answer, {"country": e, "attribute": attr}))
    return probes


def probe_passes(answer: str, continuation: str) -> bool:
    """The continuation starts with the answer, and the answer's last word ends there."""
    if not continuation.startswith(answer):
        return False
    rest = continuation[len(answer) :]
    return rest == "" or not (rest[0].isalnum() or rest[0] in "-_'")


def probe_ids(tokenizer, probe: Probe) -> list[int]:
    """Prompt ids as the model saw documents begin: after <|endoftext|>."""
    return [tokenizer.eos_id] + tokenizer.encode(probe.prompt)


def evaluate_probes(complete: Callable[[Probe], str], probes: list[Probe]) -> dict[str, float]:
    """Accuracy per 'kind/lang' and per kind. `complete(probe)` returns the decoded greedy
    continuation (e.g. up to `probe.max_new_tokens` tokens after `probe_ids(tok, probe)`)."""
    hits: dict[str, list[bool]] = {}
    for p in probes:
        ok = probe_passes(p.answer, complete(p))
        for key in (f"{p.kind}/{p.lang}", p.kind):
            hits.setdefault(key, []).append(ok)
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}
