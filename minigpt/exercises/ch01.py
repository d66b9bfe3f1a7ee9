"""Chapter 1's exercises, each checked on fresh inputs:

1. `bf16_value(bits)`: the number a bf16 bit pattern stands for, against torch's own reading of the bits;
2. `shuffle_layer(model, layer, seed)`: a copy of the model with one layer's matrices shuffled, on a small
   random model;
3. `quantize_rows(weight, bits)`: per-row absmax round-to-nearest quantization, dequantized, against the
   closed form (and minigpt.quant, whose fp16 scales are accepted too).
"""

from __future__ import annotations

import math

import torch

from ..config import ModelConfig
from ..model import MiniGPT
from . import Exercise, Wrong, learner_call
from .compare import as_tensor, expect_close
from .fresh import fresh_generator as _generator

# Exercise 1: the value a bf16 bit pattern stands for ---------------------------------------------


def _bf16_fields(generator: torch.Generator) -> list[tuple[int, int, int]]:
    """(sign, exponent field, mantissa field) of bf16 numbers: chosen ones, then random finite ones."""
    chosen = [(0, 127, 0), (1, 127, 0), (0, 123, 0b1001101), (0, 0, 0), (1, 0, 0), (0, 0, 1), (1, 0, 0b1010101)]
    chosen += [(0, 254, 127), (1, 1, 0), (0, 128, 64)]
    n = 64
    signs = torch.randint(0, 2, (n,), generator=generator)
    exponents = torch.randint(1, 255, (n,), generator=generator)  # 255 is inf and nan: not asked
    exponents[:8] = 0  # a few subnormal numbers
    mantissas = torch.randint(0, 128, (n,), generator=generator)
    return chosen + [(int(s), int(e), int(m)) for s, e, m in zip(signs, exponents, mantissas, strict=True)]


def _bf16_pattern(sign: int, exponent: int, mantissa: int) -> str:
    return f"{sign} {exponent:08b} {mantissa:07b}"


def _bf16_reference(fields: list[tuple[int, int, int]]) -> torch.Tensor:
    """torch's own reading of the 16 bits: the pattern as an int16, viewed as bfloat16."""
    raw = [(s << 15) | (e << 7) | m for s, e, m in fields]
    as_int16 = torch.tensor([r - (1 << 16) if r >= 1 << 15 else r for r in raw], dtype=torch.int16)
    return as_int16.view(torch.bfloat16).double()


def _bf16_formula(
    fields,
    bias=127,
    implicit_one=True,
    subnormals=True,
    signed=True,
    reverse=False,
    denominator=128,
    subnormal_exponent=-126,
) -> torch.Tensor:
    """The value of each (sign, exponent, mantissa), by the formula, or with one of the mistakes a learner makes."""
    values = []
    for s, e, m in fields:
        if reverse:
            m = int(f"{m:07b}"[::-1], 2)
        if e == 0 and subnormals:
            magnitude = m / denominator * 2.0**subnormal_exponent
        else:
            magnitude = ((1 if implicit_one else 0) + m / denominator) * 2.0 ** (e - bias)
        values.append(-magnitude if (s and signed) else magnitude)
    return torch.tensor(values, dtype=torch.float64)


def _check_bf16_value(bf16_value) -> str | None:
    fields = _bf16_fields(_generator())
    got = []
    for fields_i in fields:
        value = learner_call(bf16_value, _bf16_pattern(*fields_i))
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Wrong(
                f"bf16_value({_bf16_pattern(*fields_i)!r}) returned {type(value).__name__}; return a number (a float)"
            )
        got.append(float(value))
    normal = [i for i, (_, e, _) in enumerate(fields) if e > 0]
    subnormal = [i for i, (_, e, _) in enumerate(fields) if e == 0]
    # Normal numbers first: the bias, the implicit 1, the sign and the mantissa's weights show there.
    _compare_bf16(
        [fields[i] for i in normal],
        [got[i] for i in normal],
        {
            "the exponent bias is 127 for bf16 (8 exponent bits, as fp32); 15 is fp16's": dict(bias=15),
            "the exponent is off by one: subtract the bias 127 (2**(e - 127)), not 128": dict(bias=128),
            "the exponent is off by one: subtract the bias 127 (2**(e - 127)), not 126": dict(bias=126),
            "a normal number has an implicit leading 1: the value is (1 + mantissa / 128) * 2**(e - 127)": dict(
                implicit_one=False
            ),
            "the sign is lost: a first bit of 1 means a negative number": dict(signed=False),
            "the mantissa bits are read in reverse: its first bit is worth 1/2, the next 1/4, ...": dict(reverse=True),
            "the mantissa has 7 bits, so it counts in 128ths (2**7), not in 127ths": dict(denominator=127),
        },
    )
    # Then zero and the subnormal numbers (exponent field 0).
    _compare_bf16(
        [fields[i] for i in subnormal],
        [got[i] for i in subnormal],
        {
            "an exponent field of 0 means zero or a subnormal number, with no implicit 1: the value is "
            "mantissa / 128 * 2**-126 (and 0 when the mantissa is 0)": dict(subnormals=False),
            "for an exponent field of 0 the exponent is 1 - 127 = -126, not 0 - 127": dict(subnormal_exponent=-127),
        },
    )
    point_one = (0, 123, 0b1001101)  # the bits of 0.1 in bf16
    return f"Your function reads {_bf16_pattern(*point_one)!r}, 0.1 in bf16, as {got[fields.index(point_one)]!r}."


def _compare_bf16(fields, got, suspects: dict[str, dict]) -> None:
    want = _bf16_reference(fields)
    got = torch.tensor(got, dtype=torch.float64)
    if torch.allclose(got, want, rtol=1e-12, atol=0):
        return
    for diagnosis, mistake in suspects.items():
        if torch.allclose(got, _bf16_formula(fields, **mistake), rtol=1e-9, atol=0):
            raise Wrong(diagnosis)
    for fields_i, g, w in zip(fields, got.tolist(), want.tolist(), strict=True):
        if not math.isclose(g, w, rel_tol=1e-12):
            raise Wrong(f"bf16_value({_bf16_pattern(*fields_i)!r}) returned {g!r}; that pattern stands for {w!r}")


ex1 = Exercise(
    1,
    1,
    _check_bf16_value,
    hints=[
        "Split the string into its three fields: sign (1 bit), exponent (8 bits), mantissa (7 bits); "
        "int(field, 2) reads a field as a number.",
        "bf16 has fp32's exponent: the bias is 127. A normal number is (1 + mantissa / 2**7) * 2**(exponent - 127), "
        "negative when the sign bit is 1.",
        "An exponent field of 0 has no implicit 1: the value is mantissa / 2**7 * 2**-126 (0 when the mantissa "
        "is 0 too).",
    ],
)


# Exercise 2: shuffle one layer's matrices -------------------------------------------------------


def _small_model(generator: torch.Generator) -> MiniGPT:
    config = ModelConfig(vocab_size=64, hidden_size=32, num_layers=3, num_heads=4, num_kv_heads=2,
                         intermediate_size=48, max_seq_len=32)  # fmt: skip
    with torch.random.fork_rng(devices=[]):  # minigpt initializes from the global RNG: keep the notebook's intact
        torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
        model = MiniGPT(config)
    with torch.no_grad():  # norms of ones would hide a shuffled norm: make them distinct
        for param in model.parameters():
            if param.ndim == 1:
                param.add_(0.1 * torch.randn(param.shape, generator=generator))
    return model


def _same_rows(a: torch.Tensor, b: torch.Tensor) -> bool:
    """`a` is `b` with its rows permuted, each row intact."""
    return sorted(map(tuple, a.tolist())) == sorted(map(tuple, b.tolist()))


def _check_one_shuffle(shuffle_layer, model: MiniGPT, layer: int, seed: int) -> None:
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    changed = learner_call(shuffle_layer, model, layer, seed)
    if changed is None:
        raise Wrong("shuffle_layer returned None: return the changed copy of the model")
    if not isinstance(changed, torch.nn.Module):
        raise Wrong(f"shuffle_layer returned {type(changed).__name__}; return the changed copy of the model")
    now = model.state_dict()
    if any(not torch.equal(now[k], before[k]) for k in before):
        raise Wrong(
            "the model you were given changed: shuffle a copy (copy.deepcopy(model)) and leave the original "
            "intact, so that you can compare the two"
        )
    if changed is model:
        raise Wrong("shuffle_layer returned the model it was given: return a changed copy (copy.deepcopy(model))")
    after = changed.state_dict()
    if set(after) != set(before):
        raise Wrong("the copy does not have the same tensors as the model: change values, not the model's structure")
    prefix = f"model.layers.{layer}."
    for name, old in before.items():
        new = after[name].detach()
        if new.shape != old.shape:
            raise Wrong(f"{name} changed shape from {tuple(old.shape)} to {tuple(new.shape)}: keep every shape")
        inside = name.startswith(prefix)
        if not inside or old.ndim != 2:
            if not torch.equal(new, old):
                if not inside:
                    raise Wrong(
                        f"{name} changed, but it is not in layer {layer}: change only "
                        f"model.layers[{layer}] (the `layer` argument), leave the rest as it was"
                    )
                raise Wrong(
                    f"{name} changed: shuffle only the weight matrices (param.ndim == 2); "
                    f"leave the norm weights as they are"
                )
            continue
        if torch.equal(new, old):
            raise Wrong(f"{name} is unchanged: every weight matrix of layer {layer} should be shuffled")
        if not torch.equal(new.flatten().sort().values, old.flatten().sort().values):
            if not new.any():
                raise Wrong(
                    f"{name} is all zeros: that is the comparison, not the shuffle, which keeps the same "
                    f"numbers in new places"
                )
            raise Wrong(
                f"{name} holds other numbers than before: a shuffle keeps exactly the same numbers and moves them "
                f"(flatten, index with torch.randperm, reshape)"
            )
        if _same_rows(new, old):
            raise Wrong(
                f"{name}: you moved whole rows, each row keeping its numbers in order; shuffle the entries "
                f"themselves, all of the matrix (flatten, torch.randperm, reshape)"
            )
        if _same_rows(new.T, old.T):
            raise Wrong(
                f"{name}: you moved whole columns, each keeping its numbers in order; shuffle the entries "
                f"themselves, all of the matrix (flatten, torch.randperm, reshape)"
            )
        if torch.equal(new.sort(dim=1).values, old.sort(dim=1).values):
            raise Wrong(
                f"{name}: every row kept its own numbers (you shuffled within rows); shuffle across the whole "
                f"matrix: flatten it first"
            )


def _check_shuffle_layer(shuffle_layer) -> None:
    generator = _generator()
    model = _small_model(generator)
    for layer in (0, 2):  # two layers: the answer must follow the argument, not a layer written in
        _check_one_shuffle(shuffle_layer, model, layer, int(torch.randint(0, 1000, (1,), generator=generator)))


ex2 = Exercise(
    1,
    2,
    _check_shuffle_layer,
    hints=[
        "Work on a copy: changed = copy.deepcopy(model). Then loop over changed.model.layers[layer].parameters() "
        "and keep those with param.ndim == 2.",
        "A shuffle of a matrix: flat = param.flatten(); then flat[torch.randperm(flat.numel(), generator=g)], "
        "reshaped to param's shape, with g = torch.Generator().manual_seed(seed).",
        "Write the shuffled values back inside `with torch.no_grad():` with param.copy_(...), so that the copy "
        "keeps its structure.",
    ],
)


# Exercise 3: quantize a matrix row by row --------------------------------------------------------


def _matrix(generator: torch.Generator) -> torch.Tensor:
    rows, cols = (int(v) for v in torch.randint(6, 40, (2,), generator=generator))
    w = torch.randn(rows, cols, generator=generator)
    w *= torch.logspace(-2, 0.5, rows)[torch.randperm(rows, generator=generator)][:, None]  # rows of unequal size
    w[int(torch.randint(0, rows, (1,), generator=generator))] = 0.0  # a row of zeros (a pruned unit)
    return w


def _fake_quantize(w: torch.Tensor, qmax: float, dim: int | None = -1, rounding=torch.round) -> torch.Tensor:
    if dim is None:
        scale = w.abs().amax() / qmax
    else:
        scale = w.abs().amax(dim=dim, keepdim=True) / qmax
    scale = scale.clamp(min=1e-12)
    return rounding(w / scale).clamp(-qmax, qmax) * scale


def _check_quantize_rows(quantize_rows) -> None:
    from ..quant import dequantize, quantize

    generator = _generator()
    for bits in (8, 4, 4):
        w = _matrix(generator)
        original = w.clone()
        got = learner_call(quantize_rows, w, bits)
        if not torch.equal(w, original):
            raise Wrong("quantize_rows changed the matrix it was given: compute a new tensor, leave the input as it is")
        what = f"quantize_rows(weight, {bits}) for a {tuple(w.shape)} weight"
        got = as_tensor(got, what).float()
        if got.shape == w.shape:
            zero_row = (w == 0).all(dim=1)
            if not torch.isfinite(got[zero_row]).all():
                raise Wrong(
                    f"{what}: a row of zeros gives nan or inf, because its scale is 0: clamp the scale "
                    f"(scale.clamp(min=1e-12)) so that a row of zeros stays zeros"
                )
        qmax = 2 ** (bits - 1) - 1
        want = _fake_quantize(w, qmax)
        library = dequantize(quantize(w, bits))  # minigpt's own, with fp16 scales: right as well
        if got.shape == want.shape and torch.allclose(got, library, rtol=1e-5, atol=1e-7):
            continue
        scale = (w.abs().amax(dim=-1, keepdim=True) / qmax).clamp(min=1e-12)
        expect_close(
            got,
            want,
            what,
            rtol=1e-4,
            atol=1e-6,
            suspects={
                f"one scale for the whole matrix; the exercise asks for one per row: "
                f"w.abs().amax(dim=-1, keepdim=True) / {qmax}": _fake_quantize(w, qmax, dim=None),
                "one scale per column; the exercise asks for one per row (the max over dim=-1)": _fake_quantize(
                    w, qmax, dim=0
                ),
                f"the largest integer for {bits} bits is 2**({bits} - 1) - 1 = {qmax}: one bit holds the sign, "
                f"and the range is symmetric, -{qmax} to {qmax}": _fake_quantize(w, 2**bits - 1),
                f"the largest integer is off by one: 2**({bits} - 1) - 1 = {qmax}, not {qmax + 1}": _fake_quantize(
                    w, qmax + 1
                ),
                "the values are cut toward zero (int() or trunc); round to the nearest integer (torch.round)":
                    _fake_quantize(w, qmax, rounding=torch.trunc),
                "the values are rounded down (floor); round to the nearest integer (torch.round)": _fake_quantize(
                    w, qmax, rounding=torch.floor
                ),
                "you returned the integers q; return q * scale, the values the quantized model computes with":
                    torch.round(w / scale).clamp(-qmax, qmax),
            },
        )  # fmt: skip


ex3 = Exercise(
    1,
    3,
    _check_quantize_rows,
    hints=[
        "One scale per row: scale = weight.abs().amax(dim=-1, keepdim=True) / qmax, with qmax = 2**(bits - 1) - 1 "
        "(127 for int8, 7 for int4).",
        "q = torch.round(weight / scale) is an integer in [-qmax, qmax]; the answer is q * scale.",
        "A row of zeros has scale 0, and 0 / 0 is nan: scale.clamp(min=1e-12) keeps that row at zero.",
    ],
)
