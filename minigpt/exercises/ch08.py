"""Chapter 8's exercises (inference), checked on fresh inputs against minigpt's own sampler. Over
400 lines in one file, as every chapter's checks are one module: the learner's notebook imports
`chNN` and each of its four checks needs its own reference and the mistakes it names.

    ex1  min_p_filter(logits, min_p, temperature)    min-p sampling's filter, after the temperature
    ex2  speculative_greedy(model, prompt_ids, n_new, k)
                                                      prompt-lookup speculative decoding: the tokens of
                                                      minigpt.generate's greedy decoding, in fewer passes
    ex3  sequences_that_fit(config, free_bytes, tokens, dtype_bytes)
                                                      how many sequences' KV caches fit in free memory
    ex4  decode_speed_limit(config, weight_bytes, cache_bytes, context, bandwidth, batch)
                                                      the most tokens per second memory bandwidth allows

Inputs are drawn with local generators (torch.Generator, random.Random), so the notebook's random
state is untouched. Exercise 2 runs the shipped course model (loaded once, on the CPU) on copy
prompts the corpus generator makes fresh for each check, and counts the model's forward passes.
"""

from __future__ import annotations

import random
from typing import cast

import torch

from ..config import ModelConfig
from ..counting import count_parameters, kv_cache_bytes_per_token
from . import Exercise, Wrong, learner_call
from .compare import as_tensor, expect_equal, expect_number
from .fresh import fresh_generator as _fresh_generator
from .fresh import fresh_seed as _fresh_seed
from .fresh import randint as _randint

NEG_INF = float("-inf")


# ---- exercise 1: min-p ------------------------------------------------------------------------


def _min_p(logits: torch.Tensor, min_p: float, temperature: float, *, top_over=(-1,), relative=True, before=False):
    """Min-p as specified (defaults), or one of the mistakes the check names."""
    scaled = logits / temperature
    probs = torch.softmax(logits if before else scaled, dim=-1)
    top = probs.amax(dim=top_over, keepdim=True) if relative else 1.0
    return scaled.masked_fill(probs < min_p * top, NEG_INF)


def _same_filter(got: torch.Tensor, want: torch.Tensor) -> bool:
    if got.shape != want.shape or not got.is_floating_point():
        return False
    removed = torch.isneginf(want)
    return bool(
        torch.equal(torch.isneginf(got), removed)
        and torch.allclose(got[~removed], want[~removed], atol=1e-5, rtol=1e-5)
    )


def _check_min_p_filter(min_p_filter) -> None:
    g = _fresh_generator()
    checked = 0
    while checked < 4:
        B, V = _randint(g, 2, 4), _randint(g, 20, 300)
        spread = 1 + 3 * torch.rand(B, 1, generator=g)  # rows of different confidence
        logits = torch.randn(B, V, generator=g) * spread
        min_p = round(0.02 + 0.28 * float(torch.rand(1, generator=g)), 3)
        temperature = [0.5, 0.7, 1.5, 2.0][_randint(g, 0, 3)]
        want = _min_p(logits, min_p, temperature)
        kept = ~torch.isneginf(want)
        zeros = want.masked_fill(~kept, 0.0)
        suspects = {
            "it keeps the tokens below the threshold and removes the others; keep a token when its "
            "probability is at least min_p times the top token's": (logits / temperature).masked_fill(kept, NEG_INF),
            "the threshold is min_p times the sum of the probabilities (that is, min_p itself); min-p compares "
            "with min_p times the probability of the row's top token": _min_p(
                logits, min_p, temperature, relative=False
            ),
            "the threshold was computed before the temperature; divide the logits by the temperature first, "
            "then compare the probabilities": _min_p(logits, min_p, temperature, before=True),
            "the top token was taken over the whole batch; each row has its own top token "
            "(probs.max(-1, keepdim=True))": _min_p(logits, min_p, temperature, top_over=(0, 1)),
            "the kept logits were not divided by the temperature; return logits / temperature with the "
            "removed tokens at -inf": logits.masked_fill(~kept, NEG_INF),
            "removed tokens got 0; give them -inf, so that their probability after softmax is exactly 0": zeros,
            "these are probabilities; return logits (the sampler applies the softmax afterwards)": torch.softmax(
                want, dim=-1
            ),
        }
        answers = [want, *suspects.values()]
        if any(_same_filter(a, b) for i, a in enumerate(answers) for b in answers[i + 1 :]):
            continue  # a draw where two answers agree cannot tell them apart
        got = as_tensor(
            learner_call(min_p_filter, logits.clone(), min_p, temperature),
            "min_p_filter's result",
        )
        what = f"min_p_filter(logits of shape ({B}, {V}), min_p={min_p}, temperature={temperature})"
        if _same_filter(got, want):
            checked += 1
            continue
        for diagnosis, wrong in suspects.items():
            if _same_filter(got, wrong) or (
                got.shape == wrong.shape and not torch.isneginf(wrong).any() and torch.allclose(got.float(), wrong)
            ):
                raise Wrong(f"{what}: {diagnosis}")
        if got.shape != want.shape:
            raise Wrong(f"{what} has shape {tuple(got.shape)}; return the logits' shape, {tuple(want.shape)}")
        got_kept = ~torch.isneginf(got)
        if not torch.equal(got_kept, kept):
            row = int((got_kept != kept).any(-1).float().argmax())
            raise Wrong(
                f"{what}: row {row} keeps {int(got_kept[row].sum())} tokens, min-p keeps {int(kept[row].sum())}"
            )
        raise Wrong(f"{what}: the right tokens are kept, but their logits are not logits / temperature")


# ---- exercise 2: speculative decoding by prompt lookup -----------------------------------------

_COURSE_MODEL = None


def _course_model():
    """The shipped course model and tokenizer, on the CPU, loaded once."""
    global _COURSE_MODEL
    if _COURSE_MODEL is None:
        from ..course import load_course_model

        model, tokenizer = load_course_model(device="cpu")
        _COURSE_MODEL = (model.eval(), tokenizer)
    return _COURSE_MODEL


def _fresh_prompts(tokenizer, rng: random.Random) -> list[tuple[str, list[int], int]]:
    """(kind, prompt ids, new tokens): two held-out copy prompts (4-7 words), and an introduction to continue,
    where a lookup draft is mostly wrong (so rejected drafts are checked too)."""
    from ..data.corpus import GENERATORS, is_held_out

    def draw(kind, lang):
        while True:
            key, prompt, answer, _ = GENERATORS[kind](rng, lang)
            # word lists only for copies: a short code (4-6 characters) leaves a draft little to propose
            if is_held_out(key) and (kind != "copy" or (key[1] == "copy" and len(key[2]) >= 4)):
                return prompt, answer

    out = []
    for lang in (rng.choice(["en", "zh"]), "en"):
        prompt, answer = draw("copy", lang)
        out.append(("copy", [tokenizer.eos_id] + tokenizer.encode(prompt), len(tokenizer.encode(answer)) + 1))
    prompt, _ = draw("name", rng.choice(["en", "zh"]))
    out.append(("other", [tokenizer.eos_id] + tokenizer.encode(prompt), rng.randint(6, 10)))
    return out


def _greedy_with_margin(model, ids: list[int], n_new: int) -> tuple[list[int], float]:
    """minigpt.generate's greedy tokens, and the smallest gap between the top two logits along them
    (a tie, where two correct computations could pick different tokens, is a prompt not to use)."""
    from ..generate import generate

    want = cast("list[int]", generate(model, ids, n_new, eos_token_id=[]))  # a list in, a list out
    with torch.no_grad():
        logits = model(torch.tensor([want])).logits[0, len(ids) - 1 : -1]
    top2 = logits.topk(2, dim=-1).values
    return want, float((top2[:, 0] - top2[:, 1]).min())


class _ForwardCounter:
    """Counts the model's forward passes (a forward pre-hook, whatever way the model is called),
    moves the inputs to the model's device, and stops a loop that never ends."""

    def __init__(self, model, limit: int, n_new: int):
        self.model, self.limit, self.n_new, self.calls = model, limit, n_new, 0
        self.device = next(model.parameters()).device

    def hook(self, module, args, kwargs):
        self.calls += 1
        if self.calls > self.limit:
            raise Wrong(
                f"the model ran more than {self.limit} times for {self.n_new} new tokens: every forward pass must "
                f"add at least one token (the model's own choice after the accepted part of the draft)"
            )
        move = lambda x: x.to(self.device) if isinstance(x, torch.Tensor) else x  # noqa: E731
        return tuple(move(a) for a in args), {k: move(v) for k, v in kwargs.items()}

    def __enter__(self):
        self.handle = self.model.register_forward_pre_hook(self.hook, with_kwargs=True)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def _as_ids(value, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        value = value.flatten().tolist() if value.dim() <= 1 or value.shape[0] == 1 else value.tolist()
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise Wrong(f"{what} should be a list of token ids (ints), got {type(value).__name__}")
    return list(value)


def _check_speculative_greedy(speculative_greedy) -> str:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one-token steps of a small model: a second thread only slows them (chapter 8)
    try:
        return _speculative_cases(speculative_greedy)
    finally:
        torch.set_num_threads(threads)


def _speculative_cases(speculative_greedy) -> str:
    model, tokenizer = _course_model()
    rng = random.Random(_fresh_seed())
    cases: dict[str, list] = {"copy": [], "other": []}
    while len(cases["copy"]) < 2 or not cases["other"]:
        for kind, ids, n_new in _fresh_prompts(tokenizer, rng):
            want, margin = _greedy_with_margin(model, ids, n_new)
            if margin > 1e-3 and len(cases[kind]) < (2 if kind == "copy" else 1):
                cases[kind].append((kind, ids, n_new, want))
    for kind, ids, n_new, want in cases["copy"] + cases["other"]:
        with torch.no_grad(), _ForwardCounter(model, limit=n_new + 2, n_new=n_new) as counter:
            result = learner_call(speculative_greedy, model, list(ids), n_new, 4)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Wrong(
                "return two things, (ids, forward_passes): the prompt followed by the new tokens, and how many "
                "times the model ran"
            )
        got, reported = _as_ids(result[0], "the ids returned"), result[1]
        if got[: len(ids)] != ids:
            raise Wrong("the ids returned should start with the prompt, followed by the new tokens")
        if len(got) != len(ids) + n_new:
            raise Wrong(
                f"{len(got) - len(ids)} new tokens returned, {n_new} asked for: the last pass can accept more "
                f"tokens than are still needed; cut to prompt + n_new"
            )
        if got != want:
            j = next(i for i in range(n_new) if got[len(ids) + i] != want[len(ids) + i])
            raise Wrong(
                f"new token {j} is {tokenizer.decode([got[len(ids) + j]])!r}, greedy decoding gives "
                f"{tokenizer.decode([want[len(ids) + j]])!r}: a drafted token was kept that the model's argmax does "
                f"not choose. The logits at position i score the token at position i + 1, so draft[0] is checked "
                f"by the logits at position len(seq) - 1, and after the first disagreement the rest of the draft "
                f"is thrown away"
            )
        if isinstance(reported, torch.Tensor) and reported.numel() == 1:
            reported = reported.item()
        if reported != counter.calls:
            raise Wrong(
                f"the number of forward passes returned is {reported!r}, but the model ran {counter.calls} times: "
                f"count every call of the model"
            )
        if kind == "copy":
            if counter.calls >= n_new:
                raise Wrong(
                    f"on a copy prompt ({tokenizer.decode(ids[1:])!r}) the {n_new} tokens took {counter.calls} "
                    f"forward passes, one per token: propose the next tokens by looking up the last tokens "
                    f"earlier in the sequence, and keep the part of the draft the model agrees with"
                )
    return "Same tokens as greedy decoding on fresh copy prompts and an introduction, in fewer passes on the copies."


# ---- exercise 3: how many sequences fit ------------------------------------------------------


def _random_config(g: torch.Generator) -> ModelConfig:
    num_heads = [8, 12, 16, 28, 32, 40, 64][_randint(g, 0, 6)]
    kv_options = [n for n in range(1, num_heads) if num_heads % n == 0]
    num_kv_heads = kv_options[_randint(g, 0, len(kv_options) - 1)]  # GQA: fewer KV heads than query heads
    head_dim = [64, 80, 96, 128, 256][_randint(g, 0, 4)]
    hidden = 128 * _randint(g, 8, 64)
    while hidden in (num_heads * head_dim, num_kv_heads * head_dim):
        hidden += 128  # the hidden size differs from both widths, as in Gemma's configs
    return ModelConfig(
        vocab_size=32000,
        hidden_size=hidden,
        num_layers=_randint(g, 2, 80),
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
    )


def _check_sequences_that_fit(sequences_that_fit) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        c = _random_config(g)
        dtype_bytes = [1, 2, 4][_randint(g, 0, 2)]
        tokens = [512, 1024, 2048, 4096, 8192, 32768][_randint(g, 0, 5)] + _randint(g, 0, 1) * _randint(g, 1, 999)
        per_token = kv_cache_bytes_per_token(c, dtype_bytes)
        free_bytes = _randint(g, 3, 40) * per_token * tokens + _randint(g, 1, per_token * tokens - 1)
        want = free_bytes // (per_token * tokens)

        def fit(per_token_bytes, free_bytes=free_bytes, tokens=tokens):
            return free_bytes // (per_token_bytes * tokens)

        layers, kv, hd = c.num_layers, c.num_kv_heads, c.head_dim
        suspects = {
            "the cache stores the KV heads only (num_kv_heads), not the query heads (grouped-query attention)": fit(
                2 * layers * c.num_heads * hd * dtype_bytes
            ),
            "the cache stores a key AND a value per head and position: a factor of 2 is missing": fit(
                layers * kv * hd * dtype_bytes
            ),
            "the width of a cached vector is num_kv_heads x head_dim, not the hidden size": fit(
                2 * layers * c.hidden_size * dtype_bytes
            ),
            "that is one layer's cache: every layer stores its own keys and values": fit(2 * kv * hd * dtype_bytes),
            "that counts values, not bytes: multiply by dtype_bytes": fit(2 * layers * kv * hd),
            "a part of a sequence does not fit: round down": want + 1,
        }
        values = [want, *suspects.values()]
        if len(set(values)) < len(values):
            continue  # a draw where two answers coincide cannot tell them apart
        got = learner_call(sequences_that_fit, c, free_bytes, tokens, dtype_bytes)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        what = f"sequences_that_fit for {layers} layers, {kv} KV heads of {hd}, {tokens} tokens, {dtype_bytes} bytes"
        if isinstance(got, float) and not got.is_integer():
            raise Wrong(f"{what} is {got:,.2f}: a part of a sequence does not fit; return a whole number, rounded down")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Wrong(f"{what} should be a number of sequences, got {type(got).__name__}")
        expect_equal(int(got), want, what, suspects=suspects)
        checked += 1
    qwen = ModelConfig.from_preset("qwen2.5-7b")
    free = 80 * 2**30 - count_parameters(qwen).total * 2  # an 80 GiB GPU with the bf16 weights loaded
    gqa = learner_call(sequences_that_fit, qwen, free, 2048, 2)
    mha = learner_call(sequences_that_fit, ModelConfig.from_preset("qwen2.5-7b", num_kv_heads=28), free, 2048, 2)
    return f"Qwen2.5-7B on 80 GiB, bf16, 2,048 tokens: {int(gqa):,} sequences; with 28 KV heads, {int(mha):,}."


# ---- exercise 4: the bandwidth bound on decoding ----------------------------------------------


def _speed_limit(
    c: ModelConfig,
    weight_bytes,
    cache_bytes,
    context,
    bandwidth,
    batch,
    *,
    heads=None,
    bits=1,
    cache=True,
    own_cache=True,
    per_row=True,
) -> float:
    """batch x bandwidth / (weights + batch x each row's cache) as specified (defaults), or a mistake."""
    weights = count_parameters(c).total * weight_bytes * bits
    per_token = kv_cache_bytes_per_token(c, cache_bytes * bits)
    if heads is not None:
        per_token = per_token // c.num_kv_heads * heads
    cache_read = (batch if own_cache else 1) * context * per_token if cache else 0
    return (batch if per_row else 1) * bandwidth / (weights + cache_read)


def _check_decode_speed_limit(decode_speed_limit) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        c = _random_config(g)
        weight_bytes = [0.5, 1, 2, 4][_randint(g, 0, 3)]
        cache_bytes = [1, 2, 4][_randint(g, 0, 2)]
        context = [256, 1024, 2048, 4096, 32768][_randint(g, 0, 4)] + _randint(g, 0, 999)
        bandwidth = _randint(g, 20, 3350) * 1e9  # bytes per second: a laptop's DRAM to an H100's HBM3
        batch = [2, 4, 8, 16, 32, 64, 128][_randint(g, 0, 6)]
        args = (c, weight_bytes, cache_bytes, context, bandwidth, batch)
        want = _speed_limit(*args)
        suspects = {
            "bytes, not bits: weight_bytes and cache_bytes are already bytes per number": _speed_limit(*args, bits=8),
            "every step also reads the KV cache, context tokens of it for each row": _speed_limit(*args, cache=False),
            "each row reads its own cache: the cache bytes grow with the batch": _speed_limit(*args, own_cache=False),
            "a step makes one token for each row: multiply by the batch": _speed_limit(*args, per_row=False),
            "the cache stores the KV heads only (num_kv_heads), not the query heads": _speed_limit(
                *args, heads=c.num_heads
            ),
            "that is seconds per token: the bound is tokens per second, bandwidth / bytes": 1 / want,
        }
        values = [want, *suspects.values()]
        if any(abs(a - b) <= 1e-2 * abs(b) for i, a in enumerate(values) for b in values[i + 1 :]):
            continue  # a draw where two answers are close cannot tell them apart
        got = learner_call(decode_speed_limit, *args)
        what = (
            f"decode_speed_limit for {count_parameters(c).total / 1e9:.2f}B parameters at {weight_bytes} bytes, "
            f"{c.num_layers} layers x {c.num_kv_heads} KV heads x {c.head_dim}, {context} tokens, batch {batch}, "
            f"{bandwidth / 1e9:.0f} GB/s"
        )
        expect_number(got, want, what, suspects=suspects)
        checked += 1
    qwen = ModelConfig.from_preset("qwen2.5-7b")
    one, many = (float(learner_call(decode_speed_limit, qwen, 2, 2, 2048, 3.35e12, b)) for b in (1, 64))
    return f"Qwen2.5-7B, bf16, 2,048 tokens, 3.35 TB/s: at most {one:,.0f} tokens/s at batch 1, {many:,.0f} at 64."


ex1 = Exercise(
    8,
    1,
    _check_min_p_filter,
    [
        "First divide the logits by the temperature; the probabilities are the softmax of that, row by row.",
        "The threshold of a row is min_p times that row's largest probability: probs.max(-1, keepdim=True).values.",
        "scaled = logits / temperature; probs = scaled.softmax(-1); "
        "return scaled.masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, float('-inf'))",
    ],
)
ex2 = Exercise(
    8,
    2,
    _check_speculative_greedy,
    [
        "Draft: find the last two tokens of the sequence earlier in it, and propose the k tokens that followed.",
        "One forward pass over seq + draft gives the model's choice after every prefix: the argmax of the logits "
        "at positions len(seq) - 1, len(seq), ...; keep the draft while it equals those choices.",
        "After the agreed part, append the model's own choice at the first disagreement (or after the whole "
        "draft): every pass adds at least one token. Count the passes; cut the result to prompt + n_new.",
    ],
)
ex3 = Exercise(
    8,
    3,
    _check_sequences_that_fit,
    [
        "One token costs 2 (K and V) x layers x KV heads x head_dim x bytes per value.",
        "A sequence costs that times its number of tokens; how many whole sequences fit in free_bytes?",
        "per_sequence = 2 * config.num_layers * config.num_kv_heads * config.head_dim * dtype_bytes * tokens; "
        "return free_bytes // per_sequence",
    ],
)
ex4 = Exercise(
    8,
    4,
    _check_decode_speed_limit,
    [
        "One decode step reads every parameter once and, for each row, that row's whole KV cache; it makes one "
        "token per row.",
        "Bytes per step: count_parameters(config).total * weight_bytes + batch * context * "
        "kv_cache_bytes_per_token(config, cache_bytes).",
        "return batch * bandwidth / (count_parameters(config).total * weight_bytes + batch * context * "
        "kv_cache_bytes_per_token(config, cache_bytes))",
    ],
)
