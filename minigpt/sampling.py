"""From logits to the next token: the transformations a sampler applies, as small pure functions.

The model gives one score (a logit) per vocabulary entry. Turning those scores into a choice
takes a few steps, each a function here that takes logits and returns new logits, so a chapter
can apply them one at a time and plot the distribution after each:

    logits --repetition penalty--> --/ temperature--> --top-k--> --top-p--> softmax --> sample

The order is Hugging Face's (`transformers` applies its logits processors in this order), so the
same settings mean the same distribution in both libraries. Removed tokens get logit -inf, so
after softmax their probability is exactly 0.

The settings arrive whole, as one GenerationConfig (minigpt.generation_config), or as its fields
given as keywords, which build one.

Greedy decoding is the limit temperature -> 0: dividing by a tiny temperature makes the largest
logit dominate softmax completely. Top-k (k >= 1) and top-p always keep the most likely token,
so greedy is also the limit of every filtered distribution; temperature 0 is therefore argmax
(GenerationConfig.greedy, the one place that decides it) and top-k / top-p are skipped there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from .generation_config import GenerationConfig

NEG_INF = float("-inf")


# ---- the transformations: logits in, logits out ----------------------------------------------


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """Make tokens that already appeared less likely (CTRL, Keskar et al. 2019, as in transformers).

    seen: bool, same shape as logits, True where the token occurred in the prompt or the output.
    A positive logit is divided by the penalty, a negative one multiplied by it, so with
    penalty > 1 a seen token always moves down whatever the sign of its logit."""
    if penalty == 1.0:
        return logits
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T): T < 1 sharpens the distribution, T > 1 flattens it, T = 1 keeps it."""
    if temperature <= 0:
        raise ValueError(f"apply_temperature needs temperature > 0 (0 means greedy: use argmax), got {temperature}.")
    return logits if temperature == 1.0 else logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits in each row, set the rest to -inf. k = 0 keeps everything.

    Tokens tied with the k-th largest logit are all kept (as in transformers), so a row can keep
    more than k tokens only when logits are exactly equal."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, NEG_INF)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus sampling (Holtzman et al. 2019): keep the smallest set of most likely tokens whose
    probabilities add up to at least p; set the rest to -inf. p = 1 keeps everything.

    Rule, token by token from the most likely: a token is kept if the tokens ranked above it
    cover less than p. The most likely token is always kept. With probabilities
    [0.4, 0.3, 0.15, 0.1, 0.05] and p = 0.9: the mass above each token is 0, 0.4, 0.7, 0.85,
    0.95, so the first four are kept (they cover 0.95 >= 0.9; three would cover only 0.85)."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    sorted_probs = torch.softmax(sorted_logits.float(), dim=-1)
    mass_above = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    remove_sorted = mass_above >= p
    remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, NEG_INF)


def transformations(
    logits: torch.Tensor, settings: GenerationConfig, seen: torch.Tensor | None = None
) -> Iterator[tuple[str, torch.Tensor]]:
    """THE chain, in the order applied: (name, logits after that step) for each active step.

    Sampling (`choose_next`) draws from the last logits it yields; `explain_logits` shows the
    distribution after each. Greedy settings (temperature 0) stop after the repetition penalty:
    what is left is an argmax, which temperature, top-k and top-p cannot change. A new
    transformation is one more step here (and its setting in GenerationConfig)."""
    if settings.repetition_penalty != 1.0:
        if seen is None:
            raise ValueError("repetition_penalty needs seen= (bool, like logits: True where a token occurred).")
        logits = apply_repetition_penalty(logits, seen, settings.repetition_penalty)
        yield "repetition_penalty", logits
    if settings.greedy:
        return
    if settings.temperature != 1.0:
        logits = apply_temperature(logits, settings.temperature)
        yield "temperature", logits
    if 0 < settings.top_k < logits.shape[-1]:
        logits = top_k_filter(logits, settings.top_k)
        yield "top_k", logits
    if settings.top_p < 1.0:
        logits = top_p_filter(logits, settings.top_p)
        yield "top_p", logits


def final_logits(logits: torch.Tensor, settings: GenerationConfig, seen: torch.Tensor | None = None) -> torch.Tensor:
    """The logits after the whole chain (what a token is chosen from)."""
    final = logits
    for _, final in transformations(logits, settings, seen):  # noqa: B007
        pass
    return final


def choose_next(
    logits: torch.Tensor,
    settings: GenerationConfig | None = None,
    *,
    seen: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    **overrides,
) -> torch.Tensor:
    """(B, V) logits -> (B,) chosen token ids: the argmax for greedy settings, else a sample.

    settings: a GenerationConfig (the sampler passes its own), and/or its fields as keywords
    (`choose_next(logits, temperature=0.8, top_k=50)`), which build one."""
    if settings is None or overrides:
        settings = GenerationConfig.build(settings, **overrides)
    final = final_logits(logits, settings, seen)
    return final.argmax(dim=-1) if settings.greedy else draw(softmax(final), generator)


def draw(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One sample per row of (B, V) probabilities."""
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ---- for teaching: what each step did --------------------------------------------------------


def explain_logits(
    logits: torch.Tensor,
    settings: GenerationConfig | None = None,
    *,
    seen: torch.Tensor | None = None,
    **overrides,
) -> dict[str, torch.Tensor]:
    """The probability distribution after each transformation, in the order applied.

    settings: a GenerationConfig and/or its fields as keywords (`explain_logits(logits,
    temperature=0.7, top_p=0.9)`); with neither, temperature 1 (the model's own distribution).
    Returns {"model": softmax(logits), then "repetition_penalty", "temperature", "top_k", "top_p"
    for those that are active}; the last entry is the distribution actually sampled from. With
    greedy settings (temperature 0) the last entry is "greedy", a one-hot vector on the argmax."""
    if settings is None or overrides:
        settings = GenerationConfig.build(settings or _MODEL_DISTRIBUTION, **overrides)
    steps = {"model": softmax(logits)}
    final = logits
    for name, final in transformations(logits, settings, seen):
        steps[name] = softmax(final)
    if settings.greedy:
        greedy = torch.zeros_like(steps["model"])
        steps["greedy"] = greedy.scatter_(-1, final.argmax(dim=-1, keepdim=True), 1.0)
    return steps


_MODEL_DISTRIBUTION = GenerationConfig(temperature=1.0)  # explain_logits' default: the model, unfiltered


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Probabilities in fp32 (a bf16 softmax over 4096 entries loses the small ones)."""
    return torch.softmax(logits.float(), dim=-1)


def entropy(probs: torch.Tensor, base: float = 2.0) -> torch.Tensor:
    """-sum p log p, in bits by default: 0 for a certain choice, log2(V) for uniform over V tokens.
    Zero-probability entries contribute 0 (the limit of p log p)."""
    logp = torch.log(probs.clamp_min(torch.finfo(probs.dtype).tiny))
    return -(probs * logp).sum(-1) / math.log(base)


def token_rank(logits: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    """1-based rank of `token` in each row of logits: 1 = the model's top choice.
    Ties count in the token's favour (equal logits share the better rank)."""
    chosen = logits.gather(-1, token.unsqueeze(-1))
    return (logits > chosen).sum(-1) + 1
