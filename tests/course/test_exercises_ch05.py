"""Chapter 5's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker (a layer switched off by
zeroing o_proj's input, as the chapter's heads_off does, where the checker zeroes the attention's
output; the pooling by a reshape, where the checker loops; the cache from the bytes of real tensors)."""

import pytest
import torch
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch05


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: each_layer_off -------------------------------------------------------------------


def zero_o_proj_input(module, args):
    return (torch.zeros_like(args[0]),)


def layers_off(model, measure, *, restore=True, where="o_proj", count=None):
    """Correct with the defaults: every head of one layer off (o_proj reads zeros), measured, restored."""
    results, handles = [], []
    for layer in model.model.layers[:count]:
        attn = layer.self_attn
        if where == "o_proj":
            handles.append(attn.o_proj.register_forward_pre_hook(zero_o_proj_input))
        elif where == "q_proj":
            handles.append(attn.q_proj.register_forward_hook(lambda m, a, out: torch.zeros_like(out)))
        elif where == "block":
            handles.append(layer.register_forward_hook(lambda m, a, out: (a[0], out[1])))
        results.append(measure(model))
        if restore:
            for handle in handles:
                handle.remove()
            handles.clear()
    for handle in handles:
        handle.remove()
    return results


def test_ex1_starter_is_not_attempted():
    assert ch05.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch05.ex1.check(layers_off)
    assert result.status == CORRECT, result.message


def never_restored(model, measure):
    for layer in model.model.layers:
        layer.self_attn.o_proj.register_forward_pre_hook(zero_o_proj_input)
    return [measure(model) for _ in model.model.layers]


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda m, f: layers_off(m, f, restore=False), "restore each layer"),
        (lambda m, f: layers_off(m, f, where="q_proj"), "queries were zeroed"),
        (lambda m, f: layers_off(m, f, where="block"), "whole block was skipped"),
        (lambda m, f: [f(m) for _ in m.model.layers], "nothing was switched off"),
        (lambda m, f: layers_off(m, f) + [f(m)] * (6 - m.config.num_layers), "model.config.num_layers"),
        (never_restored, "still differs from before"),
    ],
    ids=["cumulative", "queries", "block", "nothing-off", "six-layers", "hooks-left"],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch05.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex1_leaves_the_notebook_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ch05.ex1.check(layers_off)
    assert torch.equal(torch.rand(3), expected)


# ---- exercise 2: pool_kv_heads ----------------------------------------------------------------------


def pool(weight, num_kv_heads, new_kv_heads):
    head_dim = weight.shape[0] // num_kv_heads
    return weight.reshape(new_kv_heads, num_kv_heads // new_kv_heads, head_dim, -1).mean(1).flatten(0, 1)


def test_ex2_starter_is_not_attempted():
    assert ch05.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch05.ex2.check(pool)
    assert result.status == CORRECT, result.message


def strided(weight, kv, new):
    hd = weight.shape[0] // kv
    return weight.view(kv // new, new, hd, -1).mean(0).reshape(new * hd, -1)


def repeated_back(weight, kv, new):
    """The pooled heads copied back to kv heads, as the chapter writes them into k_proj."""
    pooled = pool(weight, kv, new).view(new, 1, -1, weight.shape[1])
    return pooled.expand(new, kv // new, -1, weight.shape[1]).reshape(weight.shape)


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (strided, "not neighbours"),
        (lambda w, kv, new: pool(w, kv, new) * (kv // new), "summed"),
        (repeated_back, "repeated back"),
        (lambda w, kv, new: w.view(kv, w.shape[0] // kv, -1).mean(0), "whatever new_kv_heads"),
    ],
    ids=["strided", "summed", "repeated", "all-into-one"],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch05.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: kv_bytes_per_token ---------------------------------------------------------------


def bytes_of_tensors(config, dtype_bytes):
    """One token's keys and values for every layer, as tensors on the meta device: their bytes."""
    dtype = {1: torch.int8, 2: torch.bfloat16, 4: torch.float32}[dtype_bytes]
    k = torch.empty(config.num_layers, config.num_kv_heads, 1, config.head_dim, dtype=dtype, device="meta")
    return 2 * k.numel() * k.element_size()


def test_ex3_starter_is_not_attempted():
    assert ch05.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch05.ex3.check(bytes_of_tensors)
    assert result.status == CORRECT, result.message
    assert "57,344 bytes per token" in result.message  # the chapter's answer for Qwen2.5-7B


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda c, b: 2 * c.num_layers * c.num_heads * c.head_dim * b, "query heads were counted"),
        (lambda c, b: c.num_layers * c.num_kv_heads * c.head_dim * b, "factor 2 for K and V"),
        (lambda c, b: 2 * c.num_kv_heads * c.head_dim * b, "one layer's cache"),
        (lambda c, b: 2 * c.num_layers * c.hidden_size * b, "not the hidden size"),
    ],
    ids=["query-heads", "no-factor-2", "one-layer", "hidden-size"],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch05.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 4: mla_cache_bytes ------------------------------------------------------------------


def latent_and_rope_tensors(num_layers, num_heads, kv_lora_rank, qk_rope_head_dim, dtype_bytes=2):
    """What a token leaves in MLA's cache, as tensors on the meta device (one latent and one shared
    rotary key per layer): their bytes."""
    dtype = {1: torch.int8, 2: torch.bfloat16, 4: torch.float32}[dtype_bytes]
    latent = torch.empty(num_layers, 1, kv_lora_rank, dtype=dtype, device="meta")
    rope_key = torch.empty(num_layers, 1, qk_rope_head_dim, dtype=dtype, device="meta")
    return (latent.numel() + rope_key.numel()) * latent.element_size()


def test_ex4_starter_is_not_attempted():
    assert ch05.ex4.check(starter).status == NOT_ATTEMPTED


def test_ex4_correct():
    result = ch05.ex4.check(latent_and_rope_tensors)
    assert result.status == CORRECT, result.message
    # DeepSeek-V2: (512 + 64) x 60 layers x 2 bytes, the paper's (d_c + d_h^R) l in bf16
    assert "69,120 bytes per token" in result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda n, h, c, r, b=2: n * c * b, "rotary key is missing"),
        (lambda n, h, c, r, b=2: n * h * (c + r) * b, "latent for every head"),
        (lambda n, h, c, r, b=2: n * (c + h * r) * b, "rotary key per head"),
        (lambda n, h, c, r, b=2: 2 * n * (c + r) * b, "K and V of ordinary attention"),
        (lambda n, h, c, r, b=2: (c + r) * b, "one layer's cache"),
        (lambda n, h, c, r, b=2: n * (c + r), "numbers, not bytes"),
        # the rotary key counted twice: no listed mistake, and never equal to one, whatever the draw
        # (multi-head attention's cache, 2 n h 128 b, equals "latent for every head" when d_c + rope = 256)
        (lambda n, h, c, r, b=2: n * (c + 2 * r) * b, "that is not it"),
    ],
    ids=["no-rope", "per-head", "rope-per-head", "k-and-v", "one-layer", "numbers", "rope-twice"],
)
def test_ex4_names_the_mistake(wrong, phrase):
    result = ch05.ex4.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
