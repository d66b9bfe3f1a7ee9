"""Chapter 4's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker."""

import pytest
import torch
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch04


def starter(*args):
    raise NotImplementedError


def check(exercise, answer):
    return exercise.check(answer)


# ---- exercise 1: attention_row ---------------------------------------------------------------


def row_by_loops(q, k, v, t):
    """Correct, by plain loops: the scores q_t . k_j / sqrt(d) for j <= t, a softmax, a weighted sum."""
    d = q.shape[1]
    scores = [float(q[t] @ k[j]) / d**0.5 for j in range(t + 1)]
    top = max(scores)
    exps = [pow(2.718281828459045, s - top) for s in scores]
    return sum(e / sum(exps) * v[j] for j, e in enumerate(exps))


def row_unscaled(q, k, v, t):
    return (k[: t + 1] @ q[t]).softmax(-1) @ v[: t + 1]


def row_unmasked(q, k, v, t):
    return (k @ q[t] / q.shape[1] ** 0.5).softmax(-1) @ v


def row_queries_softmax(q, k, v, t):
    T = len(q)
    scores = (q @ k.T / q.shape[1] ** 0.5).masked_fill(~torch.ones(T, T).tril().bool(), float("-inf"))
    return (scores.softmax(0) @ v)[t]


def row_weights(q, k, v, t):
    return (k[: t + 1] @ q[t] / q.shape[1] ** 0.5).softmax(-1)


def test_ex1_starter_is_not_attempted():
    assert check(ch04.ex1, starter).status == NOT_ATTEMPTED


def test_ex1_correct_by_loops():
    result = check(ch04.ex1, row_by_loops)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (row_unscaled, "not divided by sqrt(d)"),
        (row_unmasked, "causal mask"),
        (row_queries_softmax, "runs over the queries"),
        (row_weights, "attention weights of row t"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = check(ch04.ex1, wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex1_a_crash_is_a_verdict():
    # softmax over dim 1 of a (T,) row raises whatever the drawn shapes (a (d,) @ (T, d) product
    # does not: it runs when the check draws T == d)
    result = check(ch04.ex1, lambda q, k, v, t: (k @ q[t]).softmax(dim=1) @ v)
    assert result.status == WRONG and "your code raised IndexError" in result.message


# ---- exercise 2: attention_on_name -----------------------------------------------------------


def on_name(weights, seq, name):
    """Correct: the first position where all of the name's tokens follow one another."""
    for i in range(len(seq)):
        if seq[i : i + len(name)] == name:
            return weights[:, :, i]
    raise ValueError("name not found")


def on_every_first_token(weights, seq, name):
    return weights[..., torch.tensor(seq) == name[0]].sum(-1)


def on_first_token_alone(weights, seq, name):
    return weights[..., seq.index(name[0])]


def on_whole_name(weights, seq, name):
    start = next(i for i in range(len(seq)) if seq[i : i + len(name)] == name)
    return weights[..., start : start + len(name)].sum(-1)


def test_ex2_starter_is_not_attempted():
    assert check(ch04.ex2, starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = check(ch04.ex2, on_name)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (on_every_first_token, "summed over every position that holds it"),
        (on_first_token_alone, "find where the whole name"),
        (on_whole_name, "all the name's tokens are summed"),
    ],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = check(ch04.ex2, wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: self_match_share ------------------------------------------------------------


def share(x):
    """Correct, row by row: does row i's best score among j <= i sit at j = i?"""
    hits = 0
    for i in range(len(x)):
        scores = [float(x[i] @ x[j]) for j in range(i + 1)]
        hits += scores.index(max(scores)) == i
    return hits / len(x)


def share_unmasked(x):
    return ((x @ x.T).argmax(-1) == torch.arange(len(x))).float().mean().item()


def share_count(x):
    return share(x) * len(x)


def share_columns(x):
    T = len(x)
    best = (x @ x.T).masked_fill(~torch.ones(T, T).tril().bool(), float("-inf")).argmax(0)
    return (best == torch.arange(T)).float().mean()


def test_ex3_starter_is_not_attempted():
    assert check(ch04.ex3, starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = check(ch04.ex3, share)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [(share_unmasked, "causal mask is missing"), (share_count, "divide by T"), (share_columns, "over the queries")],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = check(ch04.ex3, wrong)
    assert result.status == WRONG and phrase in result.message, result.message
