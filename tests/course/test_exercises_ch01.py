"""Chapter 1's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker."""

import copy
import random
import struct

import pytest
import torch
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch01


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: bf16_value ------------------------------------------------------------------


def value_by_struct(bits):
    """Correct, another way: a bf16 number is the upper half of a float32, so pad 16 zero bits and unpack."""
    raw = int(bits.replace(" ", ""), 2)
    return struct.unpack(">f", struct.pack(">I", raw << 16))[0]


def fields(bits):
    return (int(f, 2) for f in bits.split())


def value_fp16_bias(bits):
    s, e, m = fields(bits)
    magnitude = (1 + m / 128) * 2.0 ** (e - 15) if e else m / 128 * 2.0**-14
    return -magnitude if s else magnitude


def value_no_implicit_one(bits):
    s, e, m = fields(bits)
    magnitude = m / 128 * 2.0 ** (e - 127) if e else m / 128 * 2.0**-126
    return -magnitude if s else magnitude


def value_normal_only(bits):
    s, e, m = fields(bits)
    magnitude = (1 + m / 128) * 2.0 ** (e - 127)
    return -magnitude if s else magnitude


def value_unsigned(bits):
    return abs(value_by_struct(bits))


def test_ex1_starter_is_not_attempted():
    assert ch01.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch01.ex1.check(value_by_struct)
    assert result.status == CORRECT, result.message
    assert "0.10009765625" in result.message  # the note reads 0.1's bits with the learner's function


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (value_fp16_bias, "15 is fp16's"),
        (value_no_implicit_one, "implicit leading 1"),
        (value_normal_only, "exponent field of 0"),
        (value_unsigned, "the sign is lost"),
        (lambda bits: bits, "return a number"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch01.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 2: shuffle_layer ---------------------------------------------------------------


def shuffle_with_random(model, layer, seed=0):
    """Correct, another way: Python's random.shuffle of each matrix's values, written back in place of a copy."""
    changed = copy.deepcopy(model)
    rng = random.Random(seed)
    with torch.no_grad():
        for param in changed.model.layers[layer].parameters():
            if param.dim() == 2:
                values = param.flatten().tolist()
                rng.shuffle(values)
                param.copy_(torch.tensor(values).reshape(param.shape))
    return changed


def shuffle_rows(model, layer, seed=0):
    changed = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in changed.model.layers[layer].parameters():
            if param.ndim == 2:
                param.copy_(param[torch.randperm(param.shape[0], generator=g)])
    return changed


def shuffle_within_rows(model, layer, seed=0):
    changed = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in changed.model.layers[layer].parameters():
            if param.ndim == 2:
                param.copy_(torch.stack([row[torch.randperm(len(row), generator=g)] for row in param]))
    return changed


def shuffle_in_place(model, layer, seed=0):
    with torch.no_grad():
        for param in model.model.layers[layer].parameters():
            if param.ndim == 2:
                flat = param.flatten()
                param.copy_(flat[torch.randperm(flat.numel())].view_as(param))
    return model


def zero_instead(model, layer, seed=0):
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for param in changed.model.layers[layer].parameters():
            if param.ndim == 2:
                param.zero_()
    return changed


def shuffle_norms_too(model, layer, seed=0):
    changed = shuffle_with_random(model, layer, seed)
    with torch.no_grad():
        for param in changed.model.layers[layer].parameters():
            if param.ndim == 1:
                param.copy_(param.flip(0))
    return changed


def shuffle_every_layer(model, layer, seed=0):
    for i in range(len(model.model.layers)):
        model = shuffle_with_random(model, i, seed)
    return model


def test_ex2_starter_is_not_attempted():
    assert ch01.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch01.ex2.check(shuffle_with_random)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (shuffle_rows, "moved whole rows"),
        (shuffle_within_rows, "within rows"),
        (shuffle_in_place, "the model you were given changed"),
        (zero_instead, "is all zeros"),
        (shuffle_norms_too, "leave the norm weights"),
        (shuffle_every_layer, "it is not in layer"),
        (lambda model, layer, seed=0: shuffle_with_random(model, 2, seed), "should be shuffled"),
        (lambda model, layer, seed=0: None, "returned None"),
    ],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch01.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: quantize_rows ---------------------------------------------------------------


def quantize_by_rows(weight, bits):
    """Correct, one row at a time (float32, as the model's weights), a zero row left as it is."""
    qmax = 2 ** (bits - 1) - 1
    rows = []
    for row in weight:
        top = row.abs().max()
        rows.append(row.clone() if top == 0 else torch.round(row / (top / qmax)) * (top / qmax))
    return torch.stack(rows)


def quantize_whole_matrix(weight, bits):
    qmax = 2 ** (bits - 1) - 1
    scale = weight.abs().max() / qmax
    return torch.round(weight / scale) * scale


def quantize_unsigned_range(weight, bits):
    qmax = 2**bits - 1
    scale = (weight.abs().amax(-1, keepdim=True) / qmax).clamp(min=1e-12)
    return torch.round(weight / scale) * scale


def quantize_truncating(weight, bits):
    qmax = 2 ** (bits - 1) - 1
    scale = (weight.abs().amax(-1, keepdim=True) / qmax).clamp(min=1e-12)
    return (weight / scale).int().float() * scale


def quantize_integers(weight, bits):
    qmax = 2 ** (bits - 1) - 1
    scale = (weight.abs().amax(-1, keepdim=True) / qmax).clamp(min=1e-12)
    return torch.round(weight / scale)


def quantize_unclamped_scale(weight, bits):
    qmax = 2 ** (bits - 1) - 1
    scale = weight.abs().amax(-1, keepdim=True) / qmax
    return torch.round(weight / scale) * scale


def test_ex3_starter_is_not_attempted():
    assert ch01.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch01.ex3.check(quantize_by_rows)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (quantize_whole_matrix, "one scale for the whole matrix"),
        (quantize_unsigned_range, "one bit holds the sign"),
        (quantize_truncating, "cut toward zero"),
        (quantize_integers, "you returned the integers q"),
        (quantize_unclamped_scale, "a row of zeros"),
    ],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch01.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_a_check_leaves_the_notebooks_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch01.ex2.check(shuffle_with_random)  # builds a random model inside the check
    assert torch.equal(torch.rand(3), expected)
