"""Chapter 6's exercises (RoPE), checked on fresh random inputs against minigpt's rotary tables.

    ex1  ntk_base(base, factor, dim)          the static NTK-aware base: the slowest pair turns `factor` times slower
    ex2  full_turns(head_dim, base, context)  how many pairs complete a turn within `context` positions
    ex4  min_base(head_dim, context, k)       the smallest base at which the k slowest pairs turn less than
                                              once within `context` positions

Exercise 3 asks for an explanation (a rubric and a worked answer in the chapter), not a function.
Each check draws its inputs with a local torch.Generator, so the notebook's random state is untouched.
"""

from __future__ import annotations

import math

import torch

from ..config import ModelConfig
from ..rope import rope_frequencies
from . import Exercise, Wrong, learner_call
from .compare import expect_number
from .fresh import fresh_generator as _fresh_generator


def _pick(g: torch.Generator, options):
    return options[int(torch.randint(len(options), (1,), generator=g))]


def _log_uniform(g: torch.Generator, low: float, high: float) -> float:
    return math.exp(math.log(low) + float(torch.rand(1, generator=g, dtype=torch.float64)) * math.log(high / low))


# ---- exercise 1: the static NTK-aware base ----------------------------------------------------


def _check_ntk_base(ntk_base) -> str:
    g = _fresh_generator()
    for _ in range(4):
        base = _pick(g, [1e4, 5e5, 1e6, round(_log_uniform(g, 500, 2e6))])
        factor = round(_log_uniform(g, 1.5, 32), 2)
        dim = _pick(g, [16, 32, 64, 96, 128, 256])
        want = base * factor ** (dim / (dim - 2))
        pairs = dim // 2
        suspects = {
            "the base is multiplied by the factor; NTK-aware scaling raises the factor to the power d/(d - 2), "
            "so that the slowest pair turns exactly `factor` times slower": base * factor,
            "the exponent is upside down: it is d/(d - 2), not (d - 2)/d": base * factor ** ((dim - 2) / dim),
            "d in d/(d - 2) is the head dimension `dim`, not the number of pairs dim/2": base
            * factor ** (pairs / (pairs - 2)),
            "the base is divided by the factor's power; it grows, so that every pair turns more slowly": base
            / factor ** (dim / (dim - 2)),
            "only the factor is raised to the power d/(d - 2), not the base: base * factor ** (d / (d - 2))": (
                base * factor
            )
            ** (dim / (dim - 2)),
        }
        got = learner_call(ntk_base, base, factor, dim)
        expect_number(got, want, f"ntk_base({base:g}, {factor}, {dim})", rel=1e-6, suspects=suspects)
    # what the rule is for, in minigpt's own tables: the course model's d = 32, base 1e4, factor 4
    new_base = float(learner_call(ntk_base, 10000.0, 4.0, 32))
    plain, scaled = rope_frequencies(32, 10000.0)[0], rope_frequencies(32, new_base)[0]
    slowest, fastest = float(plain[-1] / scaled[-1]), float(plain[0] / scaled[0])
    if abs(slowest - 4) > 1e-3 or abs(fastest - 1) > 1e-6:
        raise Wrong(f"with ntk_base(10000, 4, 32) the slowest pair turns {slowest:.3f}x slower, expected 4")
    return (
        f"For the course model (d = 32, base 10000, factor 4) the new base is {new_base:,.0f}: in minigpt's "
        f"rotary table the slowest pair turns {slowest:.2f}x slower, the fastest {fastest:.2f}x."
    )


# ---- exercise 2: pairs that complete a turn ---------------------------------------------------


def _count(speeds: torch.Tensor, context: float, two_pi: bool = True) -> int:
    wavelengths = (2 * math.pi if two_pi else 1.0) / speeds.double()
    return int((wavelengths <= context).sum())


def _check_full_turns(full_turns) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        head_dim = _pick(g, [32, 64, 80, 128, 256])
        base = round(_log_uniform(g, 1e3, 1e7))
        context = round(_log_uniform(g, 64, 131072))
        speeds = rope_frequencies(head_dim, base)[0].double()
        wavelengths = 2 * math.pi / speeds
        if ((wavelengths - context).abs() / context < 1e-3).any():
            continue  # a wavelength within rounding of the context: either count is defensible
        want = _count(speeds, context)
        pairs = head_dim // 2
        suspects = {
            "these are the pairs that do NOT complete a turn (wavelength longer than the context)": pairs - want,
            "a pair comes back after 2*pi/theta positions, not 1/theta": _count(speeds, context, two_pi=False),
            "this counts dimensions, not pairs: a head of dimension d has d/2 pairs, each turning once": 2 * want,
            "the speeds are base^(-2i/d), i = 0 ... d/2 - 1 (torch.arange(0, d, 2) / d); yours use base^(-i/d)": _count(
                1.0 / base ** (torch.arange(pairs, dtype=torch.float64) / head_dim), context
            ),
        }
        values = [want, *suspects.values()]
        if len(set(values)) < len(values) or want in (0, pairs):
            continue  # a draw where two answers coincide cannot tell them apart
        got = learner_call(full_turns, head_dim, float(base), context)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, int) or isinstance(got, bool):
            raise Wrong(f"full_turns should return a whole number of pairs, got {got!r}")
        what = f"full_turns({head_dim}, {base:g}, {context})"
        expect_number(got, want, what, rel=0, suspects={k: float(v) for k, v in suspects.items()})
        checked += 1
    qwen, llama = ModelConfig.from_preset("qwen2.5-0.5b"), ModelConfig.from_preset("llama-7b")
    n_qwen = learner_call(full_turns, qwen.head_dim, qwen.rope_theta, qwen.max_seq_len)
    n_llama = learner_call(full_turns, 128, 1e4, llama.max_seq_len)
    return (
        f"Qwen2.5-0.5B: {n_qwen} of {qwen.head_dim // 2} pairs turn within {qwen.max_seq_len:,} positions; "
        f"head dimension 128, base 1e4: {n_llama} of 64 within {llama.max_seq_len:,}."
    )


# ---- exercise 4: the base that keeps k pairs under one turn --------------------------------------


def _under_one_turn(head_dim: int, base: float, context: float) -> int:
    """Pairs whose wavelength, read from minigpt's rotary table, is longer than the context."""
    speeds = rope_frequencies(head_dim, base)[0].double()
    return int((2 * math.pi / speeds > context).sum())


def _check_min_base(min_base) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        head_dim = _pick(g, [32, 64, 80, 128, 256])
        context = round(_log_uniform(g, 256, 131072))
        k = int(torch.randint(1, head_dim // 4 + 1, (1,), generator=g))
        x = context / (2 * math.pi)
        if head_dim / (2 * k) * math.log10(x) > 300:
            continue  # the "i = k" suspect, x ** (d / 2k), would pass a float's largest value
        want = x ** (head_dim / (head_dim - 2 * k))
        suspects = {
            "a pair turns once in 2*pi/theta positions, not 1/theta: the context must be divided by 2*pi": float(
                context ** (head_dim / (head_dim - 2 * k))
            ),
            "the k slowest pairs are i = d/2 - k ... d/2 - 1, so the binding one is i = d/2 - k, not i = k": x
            ** (head_dim / (2 * k)),
            "off by one pair: with k pairs under one turn the binding pair is i = d/2 - k "
            "(exponent d/(d - 2k)), not i = d/2 - k + 1": x ** (head_dim / (head_dim - 2 * k + 2)),
            "the speeds are base^(-2i/d), so the exponent is d/(2i) = d/(d - 2k); yours drops the 2": x
            ** (head_dim / (head_dim / 2 - k)),
        }
        values = [want, *suspects.values()]
        if min(abs(a / b - 1) for a in values for b in values if a is not b) < 1e-2 or want > 1e30:
            continue  # a draw where two answers coincide cannot tell them apart
        got = learner_call(min_base, head_dim, float(context), k)
        expect_number(got, want, f"min_base({head_dim}, {context}, {k})", rel=1e-6, suspects=suspects)
        # what the rule means, in minigpt's own tables: just above it k pairs, just below it k - 1
        above, below = (
            _under_one_turn(head_dim, want * 1.001, context),
            _under_one_turn(head_dim, want / 1.001, context),
        )
        if (above, below) != (k, k - 1):
            raise Wrong(f"minigpt's rotary table gives {above} and {below} pairs around {want:,.4g}")
        checked += 1
    qwen = ModelConfig.from_preset("qwen2.5-0.5b")
    need = float(learner_call(min_base, qwen.head_dim, float(qwen.max_seq_len), 12))
    return (
        f"Qwen2.5-0.5B (head_dim {qwen.head_dim}, context {qwen.max_seq_len:,}): 12 pairs stay under one turn "
        f"from base {need:,.0f}; its base is {qwen.rope_theta:,.0f}, with "
        f"{_under_one_turn(qwen.head_dim, qwen.rope_theta, qwen.max_seq_len)} such pairs."
    )


ex1 = Exercise(
    6,
    1,
    _check_ntk_base,
    [
        "The speeds are base^(-2i/d). The slowest pair, i = d/2 - 1, turns at base^(-(d - 2)/d).",
        "Choose the new base so that base'^(-(d - 2)/d) = base^(-(d - 2)/d) / factor: the slowest pair "
        "turns `factor` times slower, as with position interpolation.",
        "return base * factor ** (dim / (dim - 2))",
    ],
)
ex2 = Exercise(
    6,
    2,
    _check_full_turns,
    [
        "Pair i turns at theta_i = base^(-2i/d) radians per position, i = 0 ... d/2 - 1.",
        "It completes a turn after its wavelength 2*pi/theta_i positions; count the pairs whose wavelength "
        "is at most the context.",
        "speeds = 1 / base ** (torch.arange(0, head_dim, 2) / head_dim); "
        "return int((2 * math.pi / speeds <= context).sum())",
    ],
)
ex4 = Exercise(
    6,
    4,
    _check_min_base,
    [
        "Pair i has wavelength 2*pi * base^(2i/d). It turns less than once when that exceeds the context.",
        "The k slowest pairs are i = d/2 - k ... d/2 - 1; the fastest of them, i = d/2 - k, is the binding "
        "one: solve 2*pi * base^((d - 2k)/d) = context for the base.",
        "return (context / (2 * math.pi)) ** (head_dim / (head_dim - 2 * k))",
    ],
)
