"""Chapter 7's exercises (the training recipe), checked on fresh inputs.

    ex1  accumulate_gradients(model, micro_batches)   gradient accumulation by hand: afterwards p.grad is
                                                       the gradient of one big batch's per-token mean loss
    ex2  clipped_sgd_update(grads, lr, max_norm)       the change one SGD step makes after clipping the
                                                       global gradient norm, as clip_grad_norm_ does
    ex3  sorted_padding_share(lengths, batch_size)     the padding left when examples are sorted by length
                                                       before they are cut into batches
    ex4  wsd_lr(step, max_lr, total_steps,             the warmup-stable-decay learning rate at one step,
                warmup_steps, min_lr, decay_fraction)  as minigpt.schedule computes it

Exercise 1 builds a small random model and micro-batches of different sizes with uneven loss masks,
and compares with one big batch's cross_entropy(...).backward(); exercise 2 with
torch.nn.utils.clip_grad_norm_ and torch.optim.SGD; exercise 3 with a count of the batches; exercise 4
with minigpt.schedule.Schedule("wsd") at every step of fresh schedules. Inputs are
drawn with a local torch.Generator and the model is built under torch.random.fork_rng, so the
notebook's random state is untouched.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ..config import ModelConfig
from ..data import IGNORE_INDEX
from ..model import MiniGPT
from ..schedule import Schedule
from . import Exercise, Wrong, learner_call
from .compare import as_number, as_tensor, expect_close, expect_number
from .fresh import choice as _choice
from .fresh import fresh_generator as _fresh_generator
from .fresh import randint as _randint


@contextmanager
def _one_thread():
    """Small models on one thread (a second one only waits on matrices this small); then restore."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _share(value, what: str) -> float:
    return as_number(value, what, "a number (a share between 0 and 1)")


# ---- exercise 1: gradient accumulation by hand -------------------------------------------------


def _small_model(g: torch.Generator) -> MiniGPT:
    config = ModelConfig(
        vocab_size=_randint(g, 64, 256),
        hidden_size=_choice(g, [32, 48, 64]),
        num_layers=_randint(g, 1, 2),
        num_heads=4,
        num_kv_heads=_choice(g, [1, 2, 4]),
        intermediate_size=_choice(g, [64, 96, 128]),
    )
    with torch.random.fork_rng(devices=[]):  # the model's initialisation must not move the notebook's RNG
        torch.manual_seed(_randint(g, 0, 2**31))
        return MiniGPT(config)


def _micro_batches(g: torch.Generator, vocab: int) -> list[dict[str, torch.Tensor]]:
    """3 to 5 micro-batches of 1 to 3 rows; each row keeps a different share of its targets (at least one)."""
    length = _randint(g, 6, 14)
    batches = []
    for _ in range(_randint(g, 3, 5)):
        rows = _randint(g, 1, 3)
        x = torch.randint(0, vocab, (rows, length), generator=g)
        y = torch.randint(0, vocab, (rows, length), generator=g)
        for r in range(rows):
            keep = torch.rand(length, generator=g) < float(torch.rand(1, generator=g))  # a mask per row
            keep[_randint(g, 0, length - 1)] = True
            y[r, ~keep] = IGNORE_INDEX
        batches.append({"input_ids": x, "targets": y})
    return batches


def _gradients(model: MiniGPT) -> torch.Tensor:
    return torch.cat([p.grad.flatten() if p.grad is not None else torch.zeros(p.numel()) for p in model.parameters()])


def _loss_sum(model: MiniGPT, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    logits = model(batch["input_ids"]).logits
    return F.cross_entropy(logits.transpose(1, 2), batch["targets"], ignore_index=IGNORE_INDEX, reduction="sum")


def _accumulated(model: MiniGPT, batches, weights: list[float]) -> torch.Tensor:
    """The gradient of the sum over micro-batches of weight x (the batch's summed loss), on a copy."""
    model = copy.deepcopy(model)
    model.zero_grad(set_to_none=True)
    for batch, weight in zip(batches, weights, strict=True):
        (_loss_sum(model, batch) * weight).backward()
    return _gradients(model)


def _check_accumulate_gradients(accumulate_gradients) -> str:
    with _one_thread():
        return _check_accumulation(accumulate_gradients)


def _check_accumulation(accumulate_gradients) -> str:
    g = _fresh_generator()
    for _ in range(2):
        model = _small_model(g)
        batches = _micro_batches(g, model.config.vocab_size)
        while len({int((b["targets"] != IGNORE_INDEX).sum()) for b in batches}) == 1:
            batches = _micro_batches(g, model.config.vocab_size)  # equal counts: the mean of means would be right
        big = copy.deepcopy(model)  # the reference: one big batch, its per-token mean loss
        x = torch.cat([b["input_ids"] for b in batches])
        y = torch.cat([b["targets"] for b in batches])
        F.cross_entropy(big(x).logits.transpose(1, 2), y, ignore_index=IGNORE_INDEX).backward()
        want = _gradients(big)

        counts = [int((b["targets"] != IGNORE_INDEX).sum()) for b in batches]
        total, k, positions = sum(counts), len(batches), y.numel()
        pristine = copy.deepcopy(model)  # the suspects start from the same weights, whatever the learner does
        model.zero_grad(set_to_none=True)
        learner_call(accumulate_gradients, model, batches)
        missing = [name for name, p in model.named_parameters() if p.grad is None]
        if len(missing) == len(list(model.parameters())):
            raise Wrong("no parameter has a gradient afterwards: call .backward() on each micro-batch's loss")
        got = _gradients(model)
        if torch.allclose(got, want, atol=1e-6, rtol=1e-4):
            continue
        suspects = {  # computed only for an answer that is wrong: each costs a backward pass per micro-batch
            "that is the mean of the micro-batches' means (each averaged, then divided by k): micro-batches with "
            "few targets weigh as much as those with many. Back-propagate each micro-batch's SUM of losses "
            "divided by the step's total number of targets": [1 / (n * k) for n in counts],
            "each micro-batch's mean loss was back-propagated without dividing by k (the number of micro-batches): "
            "the gradient is k times too large": [1 / n for n in counts],
            "the summed losses were never divided: divide each micro-batch's summed loss by the step's total number "
            "of targets": [1.0] * k,
            "the masked positions were counted: divide by the number of targets (labels that are not -100), not by "
            "the number of positions": [1 / positions] * k,
            "only the last micro-batch's gradient is left: gradients add up across backward() calls, so do not zero "
            "them between micro-batches": [0.0] * (k - 1) + [1 / total],
        }
        rows = [b["input_ids"].shape[0] for b in batches]
        what = f"the gradient after {k} micro-batches of {rows} rows and {counts} targets"
        expect_close(
            got,
            want,
            what,
            atol=1e-6,
            rtol=1e-4,
            suspects={d: _accumulated(pristine, batches, weights) for d, weights in suspects.items()},
        )
    return "The same gradient as one big batch, on micro-batches of uneven size and uneven masks."


# ---- exercise 2: clipping, then SGD -------------------------------------------------------------------


def _reference_update(grads: list[torch.Tensor], lr: float, max_norm: float) -> list[torch.Tensor]:
    """What the trainer does: torch's clip_grad_norm_ on the global norm, then plain SGD's step, p -= lr * grad
    (written out: torch.optim's first step costs seconds of imports in a fresh process)."""
    params = [torch.nn.Parameter(torch.zeros_like(gr)) for gr in grads]
    for p, gr in zip(params, grads, strict=True):
        p.grad = gr.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    updates = []
    for p in params:
        assert p.grad is not None  # clip_grad_norm_ rescales the gradients in place, it keeps them
        updates.append(-lr * p.grad)
    return updates


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.flatten() for t in tensors])


def _check_clipped_sgd_update(clipped_sgd_update) -> str:
    g = _fresh_generator()
    # (global norm / max_norm): far above, just above, below; the mistakes differ in different regimes
    for ratio in (8.0, 1.5, 0.5, 3.0, 0.9):
        shapes = [(_randint(g, 2, 6), _randint(g, 2, 6)) for _ in range(_randint(g, 2, 4))] + [(_randint(g, 2, 6),)]
        grads = [torch.randn(s, generator=g) * float(torch.rand(1, generator=g) * 3 + 0.1) for s in shapes]
        max_norm = _choice(g, [0.5, 1.0, 2.0])
        norm = float(_flat(grads).norm())
        grads = [gr * ratio * max_norm / norm for gr in grads]  # the global norm is ratio x max_norm
        lr = _choice(g, [0.01, 0.1, 0.3])
        want = _flat(_reference_update(grads, lr, max_norm))

        def per_tensor(gr, max_norm=max_norm):
            return gr * min(1.0, max_norm / float(gr.norm()))

        suspects = {
            "each tensor was clipped by its own norm; clipping uses the global norm of all the gradients together "
            "(the norm of their concatenation)": _flat(-lr * per_tensor(gr) for gr in grads),
            "the gradient was scaled to max_norm although its norm was below it: clipping only shrinks": _flat(
                -lr * gr * max_norm / (ratio * max_norm) for gr in grads
            ),
            "each element was clamped to [-max_norm, max_norm] (clip by value); clip_grad_norm_ rescales the whole "
            "gradient": _flat(-lr * gr.clamp(-max_norm, max_norm) for gr in grads),
            "the update goes along the gradient; SGD moves against it: -lr x the clipped gradient": -want,
            "the learning rate is missing: the update is -lr x the clipped gradient": want / lr,
            "that is the clipped gradient, not the update: multiply by -lr": -want / lr,
            "nothing was clipped": _flat(-lr * gr for gr in grads),
        }
        inputs = [gr.clone() for gr in grads]
        got = learner_call(clipped_sgd_update, inputs, lr, max_norm)
        if not isinstance(got, (list, tuple)):
            raise Wrong(f"return a list with one update per gradient, got {type(got).__name__}")
        if len(got) != len(grads):
            raise Wrong(f"{len(got)} updates for {len(grads)} gradients: return one per gradient, in order")
        for i, (u, gr) in enumerate(zip(got, grads, strict=True)):
            if tuple(as_tensor(u, f"update {i}").shape) != tuple(gr.shape):
                raise Wrong(f"update {i} has shape {tuple(as_tensor(u, '').shape)}; its gradient has {tuple(gr.shape)}")
        what = f"clipped_sgd_update with a global norm of {ratio:g} x max_norm (max_norm {max_norm}, lr {lr})"
        expect_close(
            _flat(as_tensor(u, "an update") for u in got),
            want,
            what,
            atol=1e-6,
            rtol=1e-5,
            suspects={d: s for d, s in suspects.items() if not torch.allclose(s, want, atol=1e-6, rtol=1e-5)},
        )
    return "Global-norm clipping then SGD, above and below the threshold, as clip_grad_norm_ and SGD do it."


# ---- exercise 3: padding after sorting by length ------------------------------------------------


def _padding_share(lengths: list[int], batch_size: int, *, sort=True, to_global_max=False, of_real=False) -> float:
    """Padding positions over all positions when consecutive batches are padded to their longest."""
    ordered = sorted(lengths) if sort else list(lengths)
    batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    width = max(lengths)
    positions = sum((width if to_global_max else max(b)) * len(b) for b in batches)
    real = sum(lengths)
    return (positions - real) / (real if of_real else positions)


def _check_sorted_padding_share(sorted_padding_share) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 5:
        batch_size = _choice(g, [2, 4, 8, 16, 32])
        n = batch_size * _randint(g, 3, 12)
        # skewed lengths, as documents are: many short ones, a few long ones
        lengths = [int(5 + x) for x in (torch.rand(n, generator=g) ** 3 * _randint(g, 50, 500)).tolist()]
        want = _padding_share(lengths, batch_size)
        suspects = {
            "the batches were formed in the given order: sort the lengths first": _padding_share(
                lengths, batch_size, sort=False
            ),
            "every batch was padded to the longest example of all; a batch is padded to its own longest": (
                _padding_share(lengths, batch_size, to_global_max=True)
            ),
            "that is padding per real token; the share is padding over all token positions (real + padding)": (
                _padding_share(lengths, batch_size, of_real=True)
            ),
            "that is the share of real tokens; the question asks for the share of padding": 1 - want,
        }
        if want == 0 or any(abs(s - want) < 1e-9 for s in suspects.values()):
            continue
        as_array = checked % 2 == 1  # a list, then a NumPy array (the chapter's doc_lengths is one)
        argument = torch.tensor(lengths).numpy() if as_array else list(lengths)
        what = f"sorted_padding_share({n} lengths, batch_size={batch_size})"
        got = _share(learner_call(sorted_padding_share, argument, batch_size), what)
        if got > 1 and abs(got / 100 - want) < 1e-9:
            raise Wrong(f"{what} is {got:.4g}: return a share between 0 and 1, not a percentage")
        expect_number(got, want, what, rel=1e-9, suspects=suspects)
        checked += 1
    return "Sorting leaves each batch with examples of nearly one length: little padding."


# ---- exercise 4: the warmup-stable-decay schedule ----------------------------------------------


def _wsd(step, max_lr, total, warmup, min_lr, fraction, *, of_rest=False, cosine=False, from_zero=False, floor=None):
    """WSD written out, with switches for the mistakes the check names (all off: minigpt's rule)."""
    decay = max(1, round(fraction * ((total - warmup) if of_rest else total)))
    start, low = total - decay, min_lr if floor is None else floor
    if step < warmup:
        return max_lr * (step if from_zero else step + 1) / warmup
    if step >= total:
        return low
    if step < start:
        return max_lr
    p = (step - start) / decay
    return low + (max_lr - low) * (1 + math.cos(math.pi * p)) / 2 if cosine else max_lr - (max_lr - low) * p


def _check_wsd_lr(wsd_lr) -> str:
    g = _fresh_generator()
    checked = 0
    while checked < 4:
        total = _randint(g, 40, 400)
        warmup = _randint(g, 1, total // 10)
        fraction = _choice(g, [0.1, 0.2, 0.25, 0.3])
        max_lr = _choice(g, [1e-3, 3e-3, 1e-2])
        min_lr = max_lr * _choice(g, [0.0, 0.1, 0.2])
        args = (max_lr, total, warmup, min_lr, fraction)
        steps = range(total + 3)
        schedule = Schedule("wsd", max_lr, total, warmup, min_lr, fraction)
        want = torch.tensor([schedule(s) for s in steps], dtype=torch.float64)
        assert torch.allclose(want, torch.tensor([_wsd(s, *args) for s in steps], dtype=torch.float64))
        what = (
            f"wsd_lr(step, max_lr={max_lr:g}, total_steps={total}, warmup_steps={warmup}, "
            f"min_lr={min_lr:g}, decay_fraction={fraction})"
        )
        suspects = {
            f"the decay takes decay_fraction of all {total} steps, not of the steps after the warmup": (
                torch.tensor([_wsd(s, *args, of_rest=True) for s in steps], dtype=torch.float64)
            ),
            "WSD's final decay is a straight line from max_lr to min_lr, not a cosine": torch.tensor(
                [_wsd(s, *args, cosine=True) for s in steps], dtype=torch.float64
            ),
            "the first warmup step already moves: warmup is max_lr * (step + 1) / warmup_steps": torch.tensor(
                [_wsd(s, *args, from_zero=True) for s in steps], dtype=torch.float64
            ),
            "the decay ends at min_lr, not at 0": torch.tensor(
                [_wsd(s, *args, floor=0.0) for s in steps], dtype=torch.float64
            ),
            "the rate never decays: the last decay_fraction of the steps go down linearly to min_lr": torch.tensor(
                [max_lr * (s + 1) / warmup if s < warmup else max_lr for s in steps], dtype=torch.float64
            ),
        }
        if any(torch.allclose(v, want) for v in suspects.values()):
            continue  # a schedule where some mistake would go unnoticed: draw another
        got = [as_number(learner_call(wsd_lr, s, *args), f"wsd_lr({s}, ...)") for s in steps]
        expect_close(torch.tensor(got, dtype=torch.float64), want, what, atol=1e-12, rtol=1e-9, suspects=suspects)
        checked += 1
    return "The peak held, then a short linear decay: the schedule of the recorded sweep."


ex1 = Exercise(
    7,
    1,
    _check_accumulate_gradients,
    [
        "The big batch's loss is the sum of every target's loss divided by the number of targets N in the whole "
        "step. Count N over all the micro-batches before the first backward().",
        "For each micro-batch: cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100, reduction='sum') "
        "/ N, then .backward(). Gradients add up in p.grad by themselves.",
        "N = sum(int((mb['targets'] != -100).sum()) for mb in micro_batches); for mb in micro_batches: "
        "(F.cross_entropy(model(mb['input_ids']).logits.transpose(1, 2), mb['targets'], ignore_index=-100, "
        "reduction='sum') / N).backward()",
    ],
)
ex2 = Exercise(
    7,
    2,
    _check_clipped_sgd_update,
    [
        "Clipping looks at one number for all the gradients together: the square root of the sum of every "
        "element's square, over every tensor.",
        "If that norm is above max_norm, every gradient is multiplied by max_norm / norm; below it, nothing "
        "changes. Then SGD's update is -lr times the (clipped) gradient.",
        "norm = torch.sqrt(sum((g ** 2).sum() for g in grads)); scale = min(1.0, max_norm / float(norm)); "
        "return [-lr * scale * g for g in grads]",
    ],
)
ex3 = Exercise(
    7,
    3,
    _check_sorted_padding_share,
    [
        "Sort the lengths, then cut them into consecutive groups of batch_size: each group is one batch.",
        "A batch takes batch_size x (its longest length) positions; the padding is that minus the lengths' sum.",
        "s = sorted(lengths); batches = [s[i:i + batch_size] for i in range(0, len(s), batch_size)]; "
        "positions = sum(max(b) * len(b) for b in batches); return 1 - sum(s) / positions",
    ],
)
ex4 = Exercise(
    7,
    4,
    _check_wsd_lr,
    [
        "Three phases: the warmup (step < warmup_steps), the stable phase at max_lr, the decay over the last "
        "D = max(1, round(decay_fraction * total_steps)) steps; from total_steps on, min_lr.",
        "Warmup: max_lr * (step + 1) / warmup_steps. Decay, for step >= total_steps - D: "
        "max_lr - (max_lr - min_lr) * (step - (total_steps - D)) / D.",
        "D = max(1, round(decay_fraction * total_steps)); if step < warmup_steps: return max_lr * (step + 1) / "
        "warmup_steps; if step >= total_steps: return min_lr; if step < total_steps - D: return max_lr; return "
        "max_lr - (max_lr - min_lr) * (step - (total_steps - D)) / D",
    ],
)
