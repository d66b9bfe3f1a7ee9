import struct

import numpy as np
import pytest
import torch
from minigpt import MiniGPT, ModelConfig
from minigpt.quant import bit_pattern, dequantize, fake_quantize_model, quantize


@pytest.mark.parametrize("value", [1.0, -1.0, 0.5, 0.0145, -0.0032, 65504.0, 3.140625])
def test_fp16_bits_match_numpy(value):
    expected = format(int(np.array(value, dtype=np.float16).view(np.uint16)), "016b")
    assert bit_pattern(value, "fp16").replace(" ", "") == expected


@pytest.mark.parametrize("value", [1.0, -2.5, 0.0145, 1e30])
def test_fp32_bits_match_struct_and_bf16_is_its_top_half(value):
    fp32 = format(struct.unpack(">I", struct.pack(">f", value))[0], "032b")
    assert bit_pattern(value, "fp32").replace(" ", "") == fp32
    bf16 = bit_pattern(value, "bf16").replace(" ", "")
    # bf16 keeps fp32's sign and exponent; its 7 mantissa bits are fp32's rounded to nearest
    assert bf16[:9] == fp32[:9]
    assert abs(int(bf16, 2) - int(fp32[:16], 2)) <= 1


def test_bit_pattern_splits_fields():
    assert [len(f) for f in bit_pattern(1.0, "fp16").split()] == [1, 5, 10]
    assert [len(f) for f in bit_pattern(1.0, "bf16").split()] == [1, 8, 7]
    with pytest.raises(ValueError, match="fp8"):
        bit_pattern(1.0, "fp8")


@pytest.mark.parametrize("bits, group_size", [(8, None), (4, None), (8, 32), (4, 32)])
def test_round_trip_error_is_at_most_half_a_step(bits, group_size):
    w = torch.randn(16, 64) * 0.02
    q = quantize(w, bits, group_size)
    assert q.values.abs().max() <= 2 ** (bits - 1) - 1
    step = q.scales.repeat_interleave(group_size or 64, dim=-1).reshape(16, 64)
    assert ((dequantize(q) - w).abs() <= step / 2 + 1e-7).all()


def test_groups_beat_rows_when_a_row_has_an_outlier():
    w = torch.randn(8, 128) * 0.02
    w[:, 0] = 1.0  # one large weight per row: its scale (1/7) rounds every small weight to 0
    per_row = (dequantize(quantize(w, 4)) - w).pow(2).mean()
    per_group = (dequantize(quantize(w, 4, group_size=32)) - w).pow(2).mean()
    # with groups of 32, only the outlier's group (1 of 4) is flattened: about 4x less error
    assert per_group < per_row / 3


def test_storage_bytes():
    q = quantize(torch.randn(64, 256), bits=4, group_size=128)
    assert q.nbytes == 64 * 256 // 2 + 64 * 2 * 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        quantize(torch.randn(4, 4), bits=3)
    with pytest.raises(ValueError, match="group_size"):
        quantize(torch.randn(4, 10), group_size=0)


def test_a_short_last_group_gets_its_own_scale():
    w = torch.randn(3, 10)
    q = quantize(w, bits=8, group_size=4)  # groups of 4, 4 and 2
    assert q.scales.shape == (3, 3) and q.values.shape == (3, 10)
    expected_last = w[:, 8:].abs().amax(dim=1) / 127
    torch.testing.assert_close(q.scales[:, 2], expected_last.half().float())
    assert ((dequantize(q) - w).abs() <= q.scales.repeat_interleave(4, dim=1)[:, :10] / 2 + 1e-7).all()


def test_fake_quantized_model_changes_only_linear_weights():
    model = MiniGPT(ModelConfig.from_preset("tiny", tie_word_embeddings=False))
    quantized = fake_quantize_model(model, bits=4, group_size=16)
    for (name, a), (_, b) in zip(model.named_parameters(), quantized.named_parameters(), strict=True):
        changed = not torch.equal(a, b)
        assert changed == (name.endswith("proj.weight") or name == "lm_head.weight"), name


def test_a_tied_head_counts_as_the_embedding():
    model = MiniGPT(ModelConfig.from_preset("tiny"))  # tied
    kept = fake_quantize_model(model, bits=4)
    assert torch.equal(kept.model.embed_tokens.weight, model.model.embed_tokens.weight)
    assert kept.lm_head.weight is kept.model.embed_tokens.weight
    both = fake_quantize_model(model, bits=4, include_embeddings=True)
    assert not torch.equal(both.model.embed_tokens.weight, model.model.embed_tokens.weight)
