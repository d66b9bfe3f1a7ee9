"""Interleaved rotary pairs (Meta's original Llama, CS336) against halves (minigpt, Hugging Face).

The reference is the interleaved rotation written out here from its definition, pair (2i, 2i + 1)
turned by position x theta^(-2i/d), independently of minigpt's tables: q/k weights converted by
interleaved_to_halves and rotated by minigpt give the attention scores, and the whole model gives
the logits, that the original weights give under interleaved rotation.
"""

import pytest
import torch
from conftest import randomize
from minigpt import MiniGPT, ModelConfig
from minigpt.model import apply_rotary
from minigpt.rope import RotaryEmbedding, convert_rotary_layout, halves_to_interleaved, interleaved_to_halves


def rotate_interleaved(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """x (..., T, d): each neighbouring pair (x[2i], x[2i + 1]) rotated by position * theta^(-2i/d)."""
    d = x.shape[-1]
    out = torch.empty_like(x)
    for i in range(d // 2):
        angle = positions.double() * theta ** (-2 * i / d)
        c, s = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
        a, b = x[..., 2 * i], x[..., 2 * i + 1]
        out[..., 2 * i] = a * c - b * s
        out[..., 2 * i + 1] = a * s + b * c
    return out


def test_rows_move_as_the_conversion_script_moves_them():
    """Within each head, row 2i goes to i and row 2i + 1 to i + d/2 (spelled out for d = 4)."""
    w = torch.arange(2 * 4, dtype=torch.float32)[:, None]  # 2 heads of 4 rows, row r holds r
    assert interleaved_to_halves(w, 2).flatten().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    assert halves_to_interleaved(w, 2).flatten().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]  # d = 4: its own inverse
    w8 = torch.arange(8, dtype=torch.float32)  # one head of 8 rows, as a bias
    assert interleaved_to_halves(w8, 1).tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert halves_to_interleaved(w8, 1).tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


@pytest.mark.parametrize("shape, heads", [((4 * 16, 64), 4), ((2 * 16, 64), 2), ((3 * 32,), 3)])
def test_the_inverse_round_trips(shape, heads):
    w = torch.randn(shape)
    assert torch.equal(halves_to_interleaved(interleaved_to_halves(w, heads), heads), w)
    assert torch.equal(interleaved_to_halves(halves_to_interleaved(w, heads), heads), w)


def test_rotating_halves_of_converted_weights_gives_the_interleaved_scores():
    """One head pair: q.k after rotation is the same number either way, at every distance."""
    torch.manual_seed(0)
    hidden, heads, d, theta, t = 32, 2, 16, 10000.0, 40
    w_q, w_k = torch.randn(heads * d, hidden), torch.randn(heads * d, hidden)
    x = torch.randn(t, hidden)
    positions = torch.arange(t)

    def per_head(y):  # (T, heads * d) -> (heads, T, d)
        return y.view(t, heads, d).transpose(0, 1)

    q_ref = rotate_interleaved(per_head(x @ w_q.T), positions, theta)
    k_ref = rotate_interleaved(per_head(x @ w_k.T), positions, theta)
    cos, sin = RotaryEmbedding(d, theta)(x[None], positions[None])
    q = apply_rotary(per_head(x @ interleaved_to_halves(w_q, heads).T)[None], cos, sin)[0]
    k = apply_rotary(per_head(x @ interleaved_to_halves(w_k, heads).T)[None], cos, sin)[0]
    torch.testing.assert_close(q @ k.transpose(-1, -2), q_ref @ k_ref.transpose(-1, -2), atol=1e-3, rtol=1e-5)
    # the vectors themselves are the same numbers, in the other order: pair i's two entries at i, i + d/2
    torch.testing.assert_close(q, torch.cat([q_ref[..., 0::2], q_ref[..., 1::2]], dim=-1), atol=1e-4, rtol=0)
    assert not torch.allclose(
        apply_rotary(per_head(x @ w_q.T)[None], cos, sin)[0], q_ref, atol=1e-2
    )  # unconverted: wrong


@pytest.mark.parametrize("qkv_bias", [False, True], ids=["llama", "qwen2-bias"])
def test_a_model_trained_with_interleaved_pairs_loads_with_converted_weights(qkv_bias, monkeypatch):
    """Whole model: logits of the original weights under interleaved rotation (the formula above,
    patched in where minigpt rotates) == logits of the converted state dict under minigpt's own."""
    config = ModelConfig.from_preset("tiny", num_heads=4, num_kv_heads=2, qkv_bias=qkv_bias)
    interleaved = randomize(MiniGPT(config)).eval()
    ids = torch.randint(0, 256, (2, 30), generator=torch.Generator().manual_seed(3))
    positions = torch.arange(30)

    def rotary_interleaved(x, cos, sin):  # the positions here are 0..T-1 (no cache, no padding)
        return rotate_interleaved(x, positions[-x.shape[2] :], config.rope_theta)

    import minigpt.model as model_module

    monkeypatch.setattr(model_module, "apply_rotary", rotary_interleaved)
    with torch.no_grad():
        expected = interleaved(ids).logits
    monkeypatch.undo()
    converted = MiniGPT(config).eval()
    converted.load_state_dict(convert_rotary_layout(interleaved.state_dict(), config, to="halves"))
    with torch.no_grad():
        got = converted(ids).logits
        unconverted = interleaved(ids).logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert (unconverted - expected).abs().max() > 1e-2  # the bug chapter 6 shows: same weights, wrong pairs
    back = convert_rotary_layout(converted.state_dict(), config, to="interleaved")
    assert all(torch.equal(back[k], v) for k, v in interleaved.state_dict().items())


def test_a_wrong_head_count_says_which_to_pass():
    with pytest.raises(ValueError, match="num_heads for q_proj, num_kv_heads for k_proj"):
        interleaved_to_halves(torch.randn(48, 8), 5)
    with pytest.raises(ValueError, match='"halves"'):
        convert_rotary_layout({}, ModelConfig.from_preset("tiny"), to="meta")
