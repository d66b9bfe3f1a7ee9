"""Chapter 7's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker (accumulation: the loss
per target, weighted by hand; clipping: the norm and the step written out; padding: sorted batches
counted with NumPy)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch07


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: accumulate_gradients ---------------------------------------------------------------


def accumulate(model, micro_batches, *, weight="total"):
    """Correct with the defaults: each target's loss over the step's total count, micro-batch by
    micro-batch. weight="mean of means" / "no division by k" are the two classic mistakes."""
    total = sum(int((mb["targets"] >= 0).sum()) for mb in micro_batches)
    k = len(micro_batches)
    for mb in micro_batches:
        logits = model(mb["input_ids"]).logits
        per_position = F.cross_entropy(logits.transpose(1, 2), mb["targets"], ignore_index=-100, reduction="none")
        mask = mb["targets"] >= 0
        if weight == "total":
            loss = (per_position * mask).sum() / total
        elif weight == "mean of means":
            loss = per_position[mask].mean() / k
        else:  # the micro-batch's mean, and the division by k forgotten
            loss = per_position[mask].mean()
        loss.backward()


def test_ex1_starter_is_not_attempted():
    assert ch07.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch07.ex1.check(accumulate)
    assert result.status == CORRECT, result.message


def last_only(model, micro_batches):
    total = sum(int((mb["targets"] >= 0).sum()) for mb in micro_batches)
    for mb in micro_batches:
        model.zero_grad()
        logits = model(mb["input_ids"]).logits
        (F.cross_entropy(logits.transpose(1, 2), mb["targets"], reduction="sum") / total).backward()


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda m, b: accumulate(m, b, weight="mean of means"), "mean of the micro-batches' means"),
        (lambda m, b: accumulate(m, b, weight="no k"), "without dividing by k"),
        (last_only, "only the last micro-batch"),
        (lambda m, b: None, "no parameter has a gradient"),
    ],
    ids=["mean-of-means", "forgot-k", "zeroed-between", "no-backward"],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch07.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex1_leaves_the_notebook_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    ch07.ex1.check(accumulate)
    assert torch.equal(torch.rand(3), expected)


# ---- exercise 2: clipped_sgd_update ---------------------------------------------------------------


def clipped_update(grads, lr, max_norm):
    norm = sum(float((g.double() ** 2).sum()) for g in grads) ** 0.5
    scale = max_norm / norm if norm > max_norm else 1.0
    return [-lr * scale * g for g in grads]


def test_ex2_starter_is_not_attempted():
    assert ch07.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch07.ex2.check(clipped_update)
    assert result.status == CORRECT, result.message


def always_rescaled(grads, lr, max_norm):
    norm = float(torch.cat([g.flatten() for g in grads]).norm())
    return [-lr * g * max_norm / norm for g in grads]


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda gs, lr, m: [u for g in gs for u in clipped_update([g], lr, m)], "its own norm"),
        (always_rescaled, "clipping only shrinks"),
        (lambda gs, lr, m: [-lr * g.clamp(-m, m) for g in gs], "clip by value"),
        (lambda gs, lr, m: [-u for u in clipped_update(gs, lr, m)], "moves against it"),
        (lambda gs, lr, m: [u / -lr for u in clipped_update(gs, lr, m)], "not the update"),
    ],
    ids=["per-tensor", "always-normalised", "by-value", "sign", "gradient-not-update"],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch07.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: sorted_padding_share ---------------------------------------------------------------


def padding_sorted(lengths, batch_size):
    batches = np.sort(np.asarray(lengths)).reshape(-1, batch_size)
    return 1 - batches.sum() / (batches.max(1).sum() * batch_size)


def test_ex3_starter_is_not_attempted():
    assert ch07.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch07.ex3.check(padding_sorted)
    assert result.status == CORRECT, result.message


def unsorted(lengths, batch_size):
    batches = np.asarray(lengths).reshape(-1, batch_size)
    return 1 - batches.sum() / (batches.max(1).sum() * batch_size)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (unsorted, "sort the lengths first"),
        (lambda lengths, b: 1 - sum(lengths) / (max(lengths) * len(lengths)), "longest example of all"),
        (lambda lengths, b: 100 * padding_sorted(lengths, b), "not a percentage"),
        (lambda lengths, b: 1 - padding_sorted(lengths, b), "share of real tokens"),
    ],
    ids=["unsorted", "global-max", "percent", "real-share"],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch07.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 4: wsd_lr ------------------------------------------------------------------------------


def wsd_by_hand(step, max_lr, total_steps, warmup_steps, min_lr, decay_fraction, *, shape="linear", of_rest=False):
    """WSD from its definition (MiniCPM, Hu et al. 2024): warmup, max_lr held, a final decay of D steps."""
    D = max(1, round(decay_fraction * ((total_steps - warmup_steps) if of_rest else total_steps)))
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    if step < total_steps - D:
        return max_lr
    p = (step - (total_steps - D)) / D
    if shape == "cosine":
        return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * p)) / 2
    return max_lr - (max_lr - min_lr) * p


def test_ex4_starter_is_not_attempted():
    assert ch07.ex4.check(starter).status == NOT_ATTEMPTED


def test_ex4_correct():
    result = ch07.ex4.check(wsd_by_hand)
    assert result.status == CORRECT, result.message


def test_ex4_agrees_with_transformers_linear_wsd():
    # an independent reference: transformers' WSD schedule with a linear decay, as a multiplier of max_lr
    transformers = pytest.importorskip("transformers")
    total, warmup, decay = 100, 10, 20
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = transformers.get_wsd_schedule(
        opt,
        num_warmup_steps=warmup,
        num_decay_steps=decay,
        num_training_steps=total,
        min_lr_ratio=0.0,
        decay_type="linear",
    )
    theirs = []
    for _ in range(total):
        theirs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    ours = [wsd_by_hand(s, 1.0, total, warmup, 0.0, decay / total) for s in range(total)]
    # transformers' warmup starts at 0 (step / warmup) and minigpt's at (step + 1) / warmup; the stable
    # phase and the linear decay to the floor agree
    assert theirs[warmup:] == pytest.approx(ours[warmup:], abs=0.051)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda s, *a: wsd_by_hand(s, *a, of_rest=True), "not of the steps after the warmup"),
        (lambda s, *a: wsd_by_hand(s, *a, shape="cosine"), "not a cosine"),
        (lambda s, m, t, w, lo, f: wsd_by_hand(s, m, t, w, lo, f) if s >= w else m * s / w, "first warmup step"),
        (lambda s, m, t, w, lo, f: wsd_by_hand(s, m, t, w, 0.0, f), "not at 0"),
        (lambda s, m, t, w, lo, f: m * (s + 1) / w if s < w else m, "never decays"),
    ],
    ids=["decay-of-rest", "cosine", "warmup-from-zero", "floor-zero", "no-decay"],
)
def test_ex4_names_the_mistake(wrong, phrase):
    result = ch07.ex4.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
