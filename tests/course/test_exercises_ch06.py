"""Chapter 6's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker."""

import math

import pytest
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch06


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: ntk_base --------------------------------------------------------------------


def ntk_base_by_slowest_pair(base, factor, dim):
    """Correct, derived rather than quoted: solve base'^(-(dim-2)/dim) = base^(-(dim-2)/dim) / factor."""
    slowest = base ** (-(dim - 2) / dim) / factor
    return slowest ** (-dim / (dim - 2))


def ntk_times_factor(base, factor, dim):
    return base * factor


def ntk_inverted_exponent(base, factor, dim):
    return base * factor ** ((dim - 2) / dim)


def ntk_pairs_for_d(base, factor, dim):
    d = dim // 2
    return base * factor ** (d / (d - 2))


def test_ex1_starter_is_not_attempted():
    assert ch06.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct_and_its_note_uses_minigpt_tables():
    result = ch06.ex1.check(ntk_base_by_slowest_pair)
    assert result.status == CORRECT, result.message
    assert "slowest pair turns 4.00x slower, the fastest 1.00x" in result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (ntk_times_factor, "multiplied by the factor"),
        (ntk_inverted_exponent, "upside down"),
        (ntk_pairs_for_d, "not the number of pairs"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch06.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 2: full_turns ------------------------------------------------------------------


def full_turns_by_loop(head_dim, base, context):
    """Correct, pair by pair in plain floats."""
    count = 0
    for i in range(head_dim // 2):
        theta = base ** (-2 * i / head_dim)
        count += 2 * math.pi / theta <= context
    return count


def turns_complement(head_dim, base, context):
    return head_dim // 2 - full_turns_by_loop(head_dim, base, context)


def turns_without_two_pi(head_dim, base, context):
    return sum(1 / base ** (-2 * i / head_dim) <= context for i in range(head_dim // 2))


def turns_wrong_speeds(head_dim, base, context):
    return sum(2 * math.pi / base ** (-i / head_dim) <= context for i in range(head_dim // 2))


def test_ex2_starter_is_not_attempted():
    assert ch06.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct_and_its_note_has_the_presets():
    result = ch06.ex2.check(full_turns_by_loop)
    assert result.status == CORRECT, result.message
    assert "Qwen2.5-0.5B: 20 of 32 pairs" in result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (turns_complement, "do NOT complete a turn"),
        (turns_without_two_pi, "2*pi/theta"),
        (turns_wrong_speeds, "base^(-i/d)"),
    ],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch06.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex2_a_fraction_is_refused():
    result = ch06.ex2.check(lambda head_dim, base, context: full_turns_by_loop(head_dim, base, context) + 0.5)
    assert result.status == WRONG and "whole number" in result.message


# ---- exercise 4: min_base --------------------------------------------------------------------


def min_base_by_bisection(head_dim, context, k):
    """Correct, found numerically: the base where the k-th slowest pair's wavelength reaches the context."""

    def under_one_turn(base):
        return sum(2 * math.pi * base ** (2 * i / head_dim) > context for i in range(head_dim // 2))

    low, high = 1.0, 1e40
    for _ in range(400):
        mid = math.sqrt(low * high)
        low, high = (low, mid) if under_one_turn(mid) >= k else (mid, high)
    return high


def min_base_without_two_pi(head_dim, context, k):
    return context ** (head_dim / (head_dim - 2 * k))


def min_base_pair_k(head_dim, context, k):
    return (context / (2 * math.pi)) ** (head_dim / (2 * k))


def min_base_off_by_one(head_dim, context, k):
    return (context / (2 * math.pi)) ** (head_dim / (head_dim - 2 * k + 2))


def test_ex4_starter_is_not_attempted():
    assert ch06.ex4.check(starter).status == NOT_ATTEMPTED


def test_ex4_correct_and_its_note_reads_qwen():
    result = ch06.ex4.check(min_base_by_bisection)
    assert result.status == CORRECT, result.message
    assert "its base is 1,000,000, with 12 such pairs" in result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (min_base_without_two_pi, "divided by 2*pi"),
        (min_base_pair_k, "not i = k"),
        (min_base_off_by_one, "off by one pair"),
    ],
)
def test_ex4_names_the_mistake(wrong, phrase):
    result = ch06.ex4.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
