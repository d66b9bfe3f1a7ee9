"""Chapter 9's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker (Chinchilla: the fit as the
paper states it; the MoE weights: counted term by term; the half-attention context: read off
minigpt.counting.flops_per_token, the function the chapter plots)."""

import pytest
from minigpt.counting import flops_per_token
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch09


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: chinchilla_loss -----------------------------------------------------------------


def chinchilla(n, d):
    """Hoffmann et al. 2022, approach 3 (their eq. 10 with the fitted constants)."""
    return 1.69 + 406.4 * n**-0.34 + 410.7 * d**-0.28


def test_ex1_starter_is_not_attempted():
    assert ch09.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch09.ex1.check(chinchilla)
    assert result.status == CORRECT, result.message
    assert "Chinchilla (70B, 1.4T tokens) 1.937" in result.message  # the chapter's printed prediction


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda n, d: 406.4 / n**0.34 + 410.7 / d**0.28, "irreducible loss E"),
        (lambda n, d: 1.69 + 406.4 / n**0.28 + 410.7 / d**0.34, "exponents are swapped"),
        (lambda n, d: chinchilla(n / 1e9, d / 1e9), "not in billions"),
        (lambda n, d: chinchilla(d, n), "N and D are swapped"),
        # no phrase: rounded to 2 decimals, an answer may land on a listed mistake as well (~2 runs in 10,000)
        (lambda n, d: round(chinchilla(n, d), 2), ""),
    ],
    ids=["no-E", "exponents-swapped", "billions", "n-d-swapped", "rounded"],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch09.ex1.check(wrong)
    assert result.status == WRONG, result.message
    assert phrase in result.message, result.message


# ---- exercise 2: sequences_matching_weights --------------------------------------------------------


def moe_weights(c, num_experts, *, active=None):
    """Parameters of a Mixtral-style MoE of c's shape, counted term by term (active=k: one token's)."""
    d, hd, L = c.hidden_size, c.head_dim, c.num_layers
    q = d * c.num_heads * hd + (c.num_heads * hd if c.qkv_bias else 0)
    kv = 2 * (d * c.num_kv_heads * hd + (c.num_kv_heads * hd if c.qkv_bias else 0))
    o = c.num_heads * hd * d
    experts = (active or num_experts) * 3 * d * c.intermediate_size
    router = d * num_experts
    layer = q + kv + o + experts + router + 2 * d
    embeddings = c.vocab_size * d * (1 if c.tie_word_embeddings else 2)
    return L * layer + embeddings + d


def matching(config, num_experts, experts_per_token, tokens, dtype_bytes=2, *, active=False, kv_heads=None):
    weights = moe_weights(config, num_experts, active=experts_per_token if active else None) * dtype_bytes
    heads = kv_heads(config) if kv_heads else config.num_kv_heads
    cache = 2 * config.num_layers * heads * config.head_dim * dtype_bytes * tokens
    return weights / cache


def test_ex2_starter_is_not_attempted():
    assert ch09.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch09.ex2.check(matching)
    assert result.status == CORRECT, result.message
    assert "21.7 caches of 32,768 tokens" in result.message  # the chapter prints 22, rounded


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda c, e, k, t, b=2: matching(c, e, k, t, b, active=True), "active parameters"),
        (
            lambda c, e, k, t, b=2: (
                matching(c, 1, 1, t, b)
                - c.num_layers * c.hidden_size * b / (2 * c.num_layers * c.num_kv_heads * c.head_dim * b * t)
            ),
            "dense model",
        ),
        (lambda c, e, k, t, b=2: matching(c, e, k, t, b, kv_heads=lambda c: c.num_heads), "KV heads only"),
        (lambda c, e, k, t, b=2: matching(c, e, k, t, b) * t, "one token's cache"),
        (lambda c, e, k, t, b=2: float(round(matching(c, e, k, t, b))), "not rounded"),
    ],
    ids=["active", "dense", "query-heads", "per-token", "rounded"],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch09.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: attention_half_context ------------------------------------------------------------


def half_context(config):
    """Where attention's part of minigpt.counting's forward FLOPs equals the rest."""
    weights = flops_per_token(config, context=0)
    return weights / (flops_per_token(config, context=1000) - weights) * 1000


def test_ex3_starter_is_not_attempted():
    assert ch09.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch09.ex3.check(half_context)
    assert result.status == CORRECT, result.message
    assert "35,228 tokens" in result.message  # the chapter's printed answer for Qwen2.5-7B


def blocks_only(c):
    # 2 FLOPs per weight of the blocks' matmuls, the LM head left out
    per_layer = (
        c.hidden_size * c.head_dim * (2 * c.num_heads + 2 * c.num_kv_heads) + 3 * c.hidden_size * c.intermediate_size
    )
    return 2 * c.num_layers * per_layer / (4 * c.num_layers * c.num_heads * c.head_dim)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (blocks_only, "LM head's product is missing"),
        (lambda c: half_context(c) * c.num_heads / c.num_kv_heads, "counted for the KV heads"),
        (lambda c: half_context(c) * 2, "a factor of 2 is missing"),
        (lambda c: half_context(c) / 2, "a weight costs 2 FLOPs"),
        (lambda c: float(round(half_context(c))), "not rounded"),
    ],
    ids=["no-head", "kv-heads", "no-AV", "one-flop-per-weight", "rounded"],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch09.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 5: break_even_tokens --------------------------------------------------------------------


def break_even(n_small, d_small, n_large, d_large):
    """The tokens served T at which 6 N D + 2 N T is the same for both models, found by bisection on the two
    totals (not by the closed form the checker uses)."""

    def gap(t):
        return (6 * n_small * d_small + 2 * n_small * t) - (6 * n_large * d_large + 2 * n_large * t)

    low, high = 0.0, 1.0
    while gap(high) > 0:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if gap(mid) > 0 else (low, mid)
    return (low + high) / 2


def test_ex5_starter_is_not_attempted():
    assert ch09.ex5.check(starter).status == NOT_ATTEMPTED


def test_ex5_correct():
    result = ch09.ex5.check(break_even)
    assert result.status == CORRECT, result.message
    assert "Llama 3 8B on 15T tokens" in result.message and "26.2B" in result.message, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda a, b, c, d: break_even(a, b, c, d) / 3, "a factor of 3 is missing"),
        (lambda a, b, c, d: break_even(a, b, c, d) / 9, "training was counted as 2 N D"),
        (lambda a, b, c, d: break_even(a, b, c, d) * 2, "2 FLOPs per parameter"),
        (lambda a, b, c, d: 6 * (a * b - c * d), "extra training compute in FLOPs"),
        (lambda a, b, c, d: -break_even(a, b, c, d), "sign is reversed"),
        (lambda a, b, c, d: 3 * (a * b - c * d) / c, "not by N_large"),
        (lambda a, b, c, d: float(round(break_even(a, b, c, d))), "not rounded"),
    ],
    ids=["no-3", "inverted", "one-flop", "flops", "sign", "n-large", "rounded"],
)
def test_ex5_names_the_mistake(wrong, phrase):
    result = ch09.ex5.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
