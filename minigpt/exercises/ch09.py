"""Chapter 9's exercises (scale), checked on fresh inputs against a closed form and minigpt.counting.

    ex1  chinchilla_loss(n, d)                  Hoffmann et al.'s (2022) fitted loss L(N, D), approach 3
    ex2  sequences_matching_weights(config, num_experts, experts_per_token, tokens, dtype_bytes)
                                                how many sequences' KV caches take as much memory as the
                                                weights of a mixture-of-experts version of `config`
    ex3  attention_half_context(config)         the context at which attention's own products are half
                                                of the forward FLOPs per token
    ex5  break_even_tokens(n_small, d_small, n_large, d_large)
                                                the tokens served at which a smaller model trained longer
                                                and a larger one cost the same compute, training included

Exercise 4 (which runs to add to the sweep) is open-ended: the chapter gives a rubric and a worked
answer. Inputs are drawn with a local torch.Generator, so the notebook's random state is untouched.
"""

from __future__ import annotations

import math

import torch

from ..config import ModelConfig
from ..counting import count_parameters, kv_cache_bytes_per_token, moe_parameters
from . import Exercise, Wrong, learner_call
from .compare import as_number, expect_number
from .fresh import choice as _choice
from .fresh import fresh_generator as _fresh_generator
from .fresh import randint as _randint

# Hoffmann et al. 2022 (arXiv:2203.15556), approach 3: L(N, D) = E + A / N^alpha + B / D^beta
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28


def _uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=g))


def _distinct(want: float, suspects: dict[str, float], rel: float) -> bool:
    """True when no listed mistake gives (nearly) the right answer, nor the same answer as another."""
    values = [want, *suspects.values()]
    return all(abs(a - b) > rel * max(abs(a), abs(b)) for i, a in enumerate(values) for b in values[i + 1 :])


def _not_rounded(got: float, want: float, what: str) -> None:
    # A few ulps from want is float rounding, not the learner's: an exact formula can land on a whole number.
    rounded = got in (math.floor(want), math.ceil(want)) and abs(got - want) > 64 * math.ulp(want)
    if got.is_integer() and not float(want).is_integer() and rounded:
        raise Wrong(f"{what} is {got:,.0f}, {want:,.4g} rounded: return the exact value (a float), not rounded")


def _random_config(g: torch.Generator, qkv_bias: bool | None = None) -> ModelConfig:
    """A Llama-style shape whose widths all differ: hidden size, num_heads x head_dim, num_kv_heads x head_dim.
    qkv_bias None: drawn too."""
    num_heads = _choice(g, [8, 12, 16, 28, 32, 40, 64])
    num_kv_heads = _choice(g, [n for n in range(1, num_heads) if num_heads % n == 0])  # GQA: fewer KV heads
    head_dim = _choice(g, [64, 80, 96, 128, 256])
    hidden = 128 * _randint(g, 8, 64)
    while hidden in (num_heads * head_dim, num_kv_heads * head_dim):
        hidden += 128  # the hidden size differs from both widths, as in Gemma's configs
    return ModelConfig(
        vocab_size=_randint(g, 8_000, 160_000),
        hidden_size=hidden,
        num_layers=_randint(g, 2, 80),
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        intermediate_size=64 * _randint(g, 40, 400),
        tie_word_embeddings=bool(_randint(g, 0, 1)),
        qkv_bias=bool(_randint(g, 0, 1)) if qkv_bias is None else qkv_bias,
    )


# ---- exercise 1: Chinchilla's fitted loss ------------------------------------------------------


def _chinchilla(n: float, d: float, e=E, a=A, b=B, alpha=ALPHA, beta=BETA) -> float:
    return e + a / n**alpha + b / d**beta


def _check_chinchilla_loss(chinchilla_loss) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 6:
        n, d = 10 ** _uniform(g, 6, 12), 10 ** _uniform(g, 8, 13.5)  # parameters and tokens, drawn log-uniform
        if checked < 2:
            n, d = float(round(n)), float(round(d))  # whole counts too
        want = _chinchilla(n, d)
        suspects = {
            "the irreducible loss E = 1.69 is missing: L = E + A / N^alpha + B / D^beta": want - E,
            "the exponents are swapped: the parameter term is A / N^0.34, the data term B / D^0.28": _chinchilla(
                n, d, alpha=BETA, beta=ALPHA
            ),
            "the coefficients are swapped: A = 406.4 goes with N, B = 410.7 with D": _chinchilla(n, d, a=B, b=A),
            "N and D are swapped: the first argument is the number of parameters, the second the tokens": (
                _chinchilla(d, n)
            ),
            "N and D go in as counts (70e9 for 70B parameters, 1.4e12 for 1.4T tokens), not in billions": (
                _chinchilla(n / 1e9, d / 1e9)
            ),
        }
        if not _distinct(want, suspects, 1e-6):
            continue  # a draw where a mistake gives the right answer cannot tell them apart
        what = f"chinchilla_loss({n:.4g}, {d:.4g})"
        got = as_number(learner_call(chinchilla_loss, n, d), what)
        expect_number(got, want, what, rel=1e-6, suspects=suspects)
        checked += 1
    chinchilla, gopher = (
        as_number(learner_call(chinchilla_loss, n, d), "the loss") for n, d in ((70e9, 1.4e12), (280e9, 300e9))
    )
    return f"Predicted: Chinchilla (70B, 1.4T tokens) {chinchilla:.3f}, Gopher (280B, 300B tokens) {gopher:.3f}."


# ---- exercise 2: how many sequences' caches weigh as much as a mixture of experts ----------------


def _check_sequences_matching_weights(sequences_matching_weights) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        c = _random_config(g)
        num_experts = _choice(g, [4, 8, 16, 64])
        experts_per_token = _randint(g, 1, min(num_experts - 1, 8))
        tokens = _choice(g, [1024, 4096, 8192, 32768, 131072]) + _randint(g, 0, 1) * _randint(g, 1, 999)
        dtype_bytes = _choice(g, [2, 4])
        moe = moe_parameters(c, num_experts, experts_per_token)
        per_token = kv_cache_bytes_per_token(c, dtype_bytes)
        want = moe["total"] * dtype_bytes / (per_token * tokens)
        layers, kv, hd = c.num_layers, c.num_kv_heads, c.head_dim
        suspects = {
            "that counts the active parameters; memory holds every expert, active or not: use the total "
            "(moe_parameters(...)['total'])": moe["active"] * dtype_bytes / (per_token * tokens),
            "that is the dense model's weights (one MLP per block); a mixture of experts stores num_experts MLPs "
            "per block": count_parameters(c).total * dtype_bytes / (per_token * tokens),
            "the routers' weights are missing (a hidden_size x num_experts matrix per layer)": (
                (moe["total"] - moe["router"]) * dtype_bytes / (per_token * tokens)
            ),
            "the cache stores the KV heads only (num_kv_heads), not the query heads (grouped-query attention)": (
                moe["total"] * dtype_bytes / (2 * layers * c.num_heads * hd * dtype_bytes * tokens)
            ),
            "the cache stores a key AND a value per head and position: a factor of 2 is missing": (
                moe["total"] * dtype_bytes / (layers * kv * hd * dtype_bytes * tokens)
            ),
            "that compares with one token's cache; a sequence caches `tokens` tokens": (
                moe["total"] * dtype_bytes / per_token
            ),
            "the weights were counted in parameters and the cache in bytes: store both with dtype_bytes per "
            "number": moe["total"] / (per_token * tokens),
        }
        if not _distinct(want, suspects, 1e-6):
            continue
        what = (
            f"sequences_matching_weights for {layers} layers, {kv} KV heads of {hd}, {num_experts} experts, "
            f"{tokens:,} tokens, {dtype_bytes} bytes"
        )
        got = as_number(
            learner_call(sequences_matching_weights, c, num_experts, experts_per_token, tokens, dtype_bytes), what
        )
        _not_rounded(got, want, what)
        expect_number(got, want, what, rel=1e-6, suspects=suspects)
        checked += 1
    mixtral = ModelConfig(
        vocab_size=32000, hidden_size=4096, num_layers=32, num_heads=32, num_kv_heads=8, intermediate_size=14336,
        max_seq_len=32768, tie_word_embeddings=False,
    )  # fmt: skip
    ratio = as_number(learner_call(sequences_matching_weights, mixtral, 8, 2, 32768, 2), "the ratio")
    return f"Mixtral 8x7B in bf16: the weights weigh as much as {ratio:.1f} caches of 32,768 tokens."


# ---- exercise 3: where attention is half of the forward FLOPs -----------------------------------


def _check_attention_half_context(attention_half_context) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 6:
        c = _random_config(g, qkv_bias=False)  # no biases: FLOPs are 2 per weight, nothing to argue about
        counts = count_parameters(c).breakdown
        blocks = 2 * sum(v for k, v in counts.items() if k not in ("embedding", "norms", "lm_head"))
        head = 2 * c.vocab_size * c.hidden_size  # the LM head's product: 2 FLOPs per weight, tied or not
        per_context = 4 * c.num_layers * c.num_heads * c.head_dim  # QK^T and AV, 2 FLOPs per multiply-add
        want = (
            blocks + head
        ) / per_context  # == flops_per_token(c, 0) / (flops_per_token(c, 1) - flops_per_token(c, 0))
        suspects = {
            "the LM head's product is missing: vocab_size x hidden_size weights, 2 FLOPs each per token, even when "
            "the head is tied to the embedding (the lookup is free, the product is not)": blocks / per_context,
            "the embedding was counted as a matmul too; only the LM head's product costs FLOPs (the embedding is a "
            "lookup)": (blocks + 2 * head) / per_context,
            "attention's products were counted for the KV heads; every query head computes its own QK^T and AV, "
            "so use num_heads": (blocks + head) / (4 * c.num_layers * c.num_kv_heads * c.head_dim),
            "attention was counted with the hidden size; its width is num_heads x head_dim": (blocks + head)
            / (4 * c.num_layers * c.hidden_size),
            "attention costs 2 x 2 x num_heads x head_dim FLOPs per layer and token attended (QK^T AND the "
            "weighted sum of V): a factor of 2 is missing": (blocks + head) / (per_context / 2),
            "that is one layer's attention against all layers' weights: attention runs in every layer": (
                (blocks + head) / (per_context / c.num_layers)
            ),
            "a weight costs 2 FLOPs per token (a multiply and an add), like attention's products": (
                (blocks + head) / 2 / per_context
            ),
        }
        if not _distinct(want, suspects, 1e-6):
            continue
        what = (
            f"attention_half_context for {c.num_layers} layers, {c.num_heads} heads of {c.head_dim}, "
            f"hidden {c.hidden_size}, vocabulary {c.vocab_size:,}"
        )
        got = as_number(learner_call(attention_half_context, c), what)
        _not_rounded(got, want, what)
        expect_number(got, want, what, rel=1e-6, suspects=suspects)
        checked += 1
    qwen = ModelConfig.from_preset("qwen2.5-7b")
    half = as_number(learner_call(attention_half_context, qwen), "the context")
    return f"Qwen2.5-7B: {half:,.0f} tokens, against a context window of {qwen.max_seq_len:,}."


# ---- exercise 5: tokens served at which a smaller model trained longer pays off -----------------------


def _compute_optimal(loss: float) -> tuple[float, float]:
    """(N, D) reaching `loss` under Hoffmann et al.'s fit with the least training compute 6 N D, on a log grid
    of N (the chapter's section 5 scans the same way)."""
    n = torch.logspace(6, 13, 14001, dtype=torch.float64)
    room = loss - E - A / n**ALPHA
    d = torch.where(room > 0, (B / room.clamp_min(1e-300)) ** (1 / BETA), torch.full_like(n, math.inf))
    i = int(torch.argmin(n * d))
    return float(n[i]), float(d[i])


def _check_break_even_tokens(break_even_tokens) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 6:
        n_small = 10 ** _uniform(g, 6, 11)
        n_large = n_small * _uniform(g, 1.5, 10)
        d_large = n_large * _uniform(g, 5, 40)
        d_small = d_large * n_large / n_small * _uniform(g, 1.2, 5)  # the smaller model costs more to train
        if checked < 2:
            n_small, n_large, d_small, d_large = (float(round(v)) for v in (n_small, n_large, d_small, d_large))
        extra = n_small * d_small - n_large * d_large  # > 0
        saved = n_large - n_small  # > 0
        want = 3 * extra / saved
        suspects = {
            "a factor of 3 is missing: training costs 6 N D, serving 2 N per token, so the extra training "
            "compute 6 (Ns Ds - Nl Dl) is paid back at 2 (Nl - Ns) per token": extra / saved,
            "training was counted as 2 N D and serving as 6 N per token; it is the other way round "
            "(the backward pass costs twice the forward)": extra / (3 * saved),
            "a token served costs 2 FLOPs per parameter (a multiply and an add), not 1": 6 * extra / saved,
            "that is the extra training compute in FLOPs; divide it by what each served token saves, "
            "2 (N_large - N_small) FLOPs": 6 * extra,
            "the sign is reversed: the smaller model costs more to train, and the tokens served pay that back "
            "(the answer is positive)": -want,
            "divide by the difference in serving cost per token (N_large - N_small), not by N_large": 3
            * extra
            / n_large,
        }
        if not _distinct(want, suspects, 1e-6):
            continue
        what = f"break_even_tokens({n_small:.4g}, {d_small:.4g}, {n_large:.4g}, {d_large:.4g})"
        got = as_number(learner_call(break_even_tokens, n_small, d_small, n_large, d_large), what)
        _not_rounded(got, want, what)
        expect_number(got, want, what, rel=1e-6, suspects=suspects)
        checked += 1
    n8, d8 = 8_030_261_248, 15e12  # Llama 3 8B and its 15T tokens (section 5)
    n_opt, d_opt = _compute_optimal(E + A / n8**ALPHA + B / d8**BETA)
    tokens = as_number(learner_call(break_even_tokens, n8, d8, n_opt, d_opt), "the tokens served")
    return (
        f"Llama 3 8B on 15T tokens against the compute-optimal {n_opt / 1e9:.1f}B on {d_opt / 1e12:.2f}T "
        f"of the same fitted loss: the same total compute after {tokens / 1e12:.1f}T tokens served."
    )


ex1 = Exercise(
    9,
    1,
    _check_chinchilla_loss,
    [
        "Three terms: the irreducible loss E, a term that shrinks with the parameters, one that shrinks with the data.",
        "The parameter term is A / N**alpha with A = 406.4 and alpha = 0.34; the data term B / D**beta with "
        "B = 410.7 and beta = 0.28. N and D are plain counts.",
        "return 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28",
    ],
)
ex2 = Exercise(
    9,
    2,
    _check_sequences_matching_weights,
    [
        "Two sizes in bytes: the weights (every expert is stored, whichever ones a token visits) and the KV cache "
        "of one sequence of `tokens` tokens.",
        "moe_parameters(config, num_experts, experts_per_token)['total'] counts the weights; "
        "kv_cache_bytes_per_token(config, dtype_bytes) the cache of one token. Both numbers take dtype_bytes bytes.",
        "weights = moe_parameters(config, num_experts, experts_per_token)['total'] * dtype_bytes; "
        "return weights / (kv_cache_bytes_per_token(config, dtype_bytes) * tokens)",
    ],
)
ex3 = Exercise(
    9,
    3,
    _check_attention_half_context,
    [
        "The weights' FLOPs per token do not depend on the context; attention's grow by the same amount with "
        "every token attended. Attention is half when the two are equal.",
        "flops_per_token(config, context=0) is the weights' part (LM head included); "
        "flops_per_token(config, context=1) minus that is what one more token of context adds.",
        "weights = flops_per_token(config, context=0); return weights / (flops_per_token(config, context=1) - weights)",
    ],
)
ex5 = Exercise(
    9,
    5,
    _check_break_even_tokens,
    [
        "Write each model's total compute as training plus serving: 6 N D + 2 N T for T tokens served, and find "
        "the T at which the two totals are equal.",
        "6 Ns Ds + 2 Ns T = 6 Nl Dl + 2 Nl T, so 2 (Nl - Ns) T = 6 (Ns Ds - Nl Dl).",
        "return 3 * (n_small * d_small - n_large * d_large) / (n_large - n_small)",
    ],
)
