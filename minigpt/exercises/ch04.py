"""Chapter 4's exercises (Q, K, V), checked on fresh random inputs.

    ex1  attention_row(q, k, v, t)           one row of causal attention, against F.scaled_dot_product_attention
    ex2  attention_on_name(weights, seq, name)  the weight on the first token where a name is introduced
    ex3  self_match_share(x)                 the share of positions whose best X Xᵀ match (j <= i) is themselves

Each check draws its inputs with a local torch.Generator (the notebook's random state is untouched)
and names the mistakes learners make: a missing 1/sqrt(d), a missing causal mask, the softmax over
the queries, the surname that also occurs in another word, the mask left out of the argmax, ...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Exercise, learner_call
from .compare import expect_close, expect_number
from .fresh import fresh_generator as _fresh_generator
from .fresh import randint as _randint

# ---- exercise 1: one row of causal attention --------------------------------------------------


def _row(q, k, v, t, *, scale, keys):
    """Row t of softmax(q kᵀ * scale) v over the key positions `keys`."""
    scores = (k[keys] @ q[t]) * scale
    return scores.softmax(-1) @ v[keys]


def _check_attention_row(attention_row) -> str:
    g = _fresh_generator()
    cases = []
    for t_kind in ("first", "last", "middle", "middle"):
        T, d = _randint(g, 3, 12), int(torch.tensor([4, 8, 16, 64])[_randint(g, 0, 3)])
        d_v = _randint(g, 3, 9)
        while d_v in (T, d):  # keep v's width apart from T and d, so a wrong shape names its mistake
            d_v += 1
        t = {"first": 0, "last": T - 1, "middle": _randint(g, 1, T - 2)}[t_kind]
        cases.append((T, d, d_v, t))
    for T, d, d_v, t in cases:
        q, k = torch.randn(T, d, generator=g) * 1.5, torch.randn(T, d, generator=g) * 1.5
        v = torch.randn(T, d_v, generator=g)
        want = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0, t]
        past, everything = torch.arange(t + 1), torch.arange(T)
        scores = (q @ k.T / d**0.5).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        suspects = {
            "the scores are not divided by sqrt(d): scale q[t] . k[j] by 1/sqrt(d), d = the width of q and k": _row(
                q, k, v, t, scale=1.0, keys=past
            ),
            "the scores are divided by d; divide them by sqrt(d)": _row(q, k, v, t, scale=1 / d, keys=past),
            "the scores are scaled by the width of v; the 1/sqrt(d) uses d = the width of q and k": _row(
                q, k, v, t, scale=1 / d_v**0.5, keys=past
            ),
            "position t also reads later positions: keep only the keys j <= t (the causal mask)": _row(
                q, k, v, t, scale=1 / d**0.5, keys=everything
            ),
            "the softmax runs over the queries (dim 0 of the score matrix); it runs over the keys, "
            "so that each row of weights sums to 1": (scores.softmax(0) @ v)[t],
            "these are the attention weights of row t, not its output: return the weighted sum of the "
            "rows of v": scores.softmax(-1)[t],
            "these are the attention weights of row t (for j <= t), not its output: return the weighted "
            "sum of the rows of v": scores.softmax(-1)[t, : t + 1],
        }
        if t > 0:
            suspects["position t does not read itself: the causal mask keeps j <= t, j = t included"] = _row(
                q, k, v, t, scale=1 / d**0.5, keys=torch.arange(t)
            )
        got = learner_call(attention_row, q.clone(), k.clone(), v.clone(), t)
        expect_close(got, want, f"attention_row(q, k, v, t={t}) with T={T}, d={d}", atol=1e-5, suspects=suspects)
    return "It agrees with F.scaled_dot_product_attention on 4 random cases, t = 0 and t = T - 1 included."


# ---- exercise 2: the attention on the position where a name is introduced ----------------------


def _starts(seq: list[int], name: list[int]) -> list[int]:
    return [i for i in range(len(seq) - len(name) + 1) if seq[i : i + len(name)] == name]


def _check_attention_on_name(attention_on_name) -> None:
    g = _fresh_generator()
    for n_name, first_alone in ((2, True), (3, True), (1, False), (2, True)):
        L, H = _randint(g, 2, 6), _randint(g, 2, 8)
        name = (torch.randperm(50, generator=g)[:n_name] + 100).tolist()  # ids 100-149: the name
        filler = lambda n: (torch.randint(200, 400, (n,), generator=g)).tolist()  # noqa: E731  other tokens
        # the name's first token alone in an earlier word (like 高 in 很高兴), then the name, then the name again
        seq = filler(_randint(g, 2, 6))
        if first_alone:
            seq += [name[0]] + filler(_randint(g, 1, 4))
        start = len(seq)
        seq += name + filler(_randint(g, 3, 8)) + name + filler(_randint(g, 2, 6))
        weights = torch.rand(L, H, len(seq), generator=g).pow(3).softmax(-1)
        want = weights[..., start]
        first_token_at = [i for i, t in enumerate(seq) if t == name[0]]
        starts = _starts(seq, name)
        suspects = {
            "the weights of the name's first token are summed over every position that holds it; that token "
            "also occurs elsewhere (like 高 in 很高兴): take only the position where the whole name starts "
            "the first time": weights[..., first_token_at].sum(-1),
            "this is the first position of the name's first token alone, which can be another word that starts "
            "with the same token: find where the whole name (all its tokens) occurs": weights[..., first_token_at[0]],
            "the weights are summed over every occurrence of the name; measure the position where it is "
            "introduced, its first occurrence": weights[..., starts].sum(-1),
            "this is the name's last occurrence; it is introduced at its first": weights[..., starts[-1]],
            "the weights of all the name's tokens are summed; measure its first token only": weights[
                ..., start : start + n_name
            ].sum(-1),
        }
        got = learner_call(attention_on_name, weights.clone(), list(seq), list(name))
        what = f"attention_on_name for a name of {n_name} token(s), weights of shape {tuple(weights.shape)}"
        expect_close(got, want, what, atol=1e-6, suspects=suspects)


# ---- exercise 3: how often X Xᵀ picks the position itself -------------------------------------


def _share(scores: torch.Tensor, dim: int) -> float:
    T = len(scores)
    lower = torch.ones(T, T, dtype=torch.bool).tril()
    best = scores.masked_fill(~lower, float("-inf")).argmax(dim)
    return (best == torch.arange(T)).float().mean().item()


def _check_self_match_share(self_match_share) -> None:
    g = _fresh_generator()
    checked = 0
    while checked < 3:
        T, d = _randint(g, 8, 24), _randint(g, 3, 12)
        x = torch.randn(T, d, generator=g) * (0.3 + 2 * torch.rand(T, 1, generator=g))  # rows of unequal length
        scores = x @ x.T
        want = _share(scores, -1)
        suspects = {
            "the causal mask is missing: position i may only pick among j <= i": (scores.argmax(-1) == torch.arange(T))
            .float()
            .mean()
            .item(),
            "the argmax runs over the queries (dim 0); each position (a row) picks its best key": _share(scores, 0),
            "this is the number of positions; return the share (divide by T)": want * T,
        }
        values = [want, *suspects.values()]
        if any(abs(a - b) < 0.5 / T for i, a in enumerate(values) for b in values[i + 1 :]):
            continue  # a draw where two answers give the same number cannot tell them apart
        got = learner_call(self_match_share, x.clone())
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        expect_number(got, want, f"self_match_share(x) for x of shape ({T}, {d})", rel=1e-6, suspects=suspects)
        checked += 1


ex1 = Exercise(
    4,
    1,
    _check_attention_row,
    [
        "Only q[t] asks. Score it against k[0], ..., k[t]: one number q[t] @ k[j] / d**0.5 for each j <= t.",
        "Turn the t + 1 scores into weights with a softmax (they sum to 1), then add up weights[j] * v[j].",
        "scores = k[: t + 1] @ q[t] / q.shape[-1] ** 0.5; return scores.softmax(-1) @ v[: t + 1]",
    ],
)
ex2 = Exercise(
    4,
    2,
    _check_attention_on_name,
    [
        "A name can be several tokens, and its first token can also occur elsewhere (高 in 很高兴).",
        "Find the first i where seq[i:i + len(name)] == name: that is where the name is introduced.",
        "start = next(i for i in range(len(seq)) if seq[i:i + len(name)] == name); return weights[..., start]",
    ],
)
ex3 = Exercise(
    4,
    3,
    _check_self_match_share,
    [
        "Section 3's share_choosing_itself does this for one sentence; make the mask from x's own length.",
        "Scores x @ x.T; set the entries above the diagonal (j > i) to -inf; each row's argmax is its pick.",
        "best = (x @ x.T).masked_fill(~torch.ones(T, T).tril().bool(), float('-inf')).argmax(-1); "
        "return (best == torch.arange(T)).float().mean().item()",
    ],
)
