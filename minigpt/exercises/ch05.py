"""Chapter 5's exercises (multi-head and grouped-query attention), checked on fresh inputs.

    ex1  each_layer_off(model, measure)              measure(model) with one layer's attention off at a time
    ex2  pool_kv_heads(weight, num_kv_heads, new_kv_heads)
                                                      Ainslie et al.'s mean-pooling of key/value heads (GQA/MQA)
    ex3  kv_bytes_per_token(config, dtype_bytes)     the KV cache of one token
    ex4  mla_cache_bytes(num_layers, num_heads, kv_lora_rank, qk_rope_head_dim, dtype_bytes)
                                                      multi-head latent attention's cache of one token

Exercise 1 runs small models with random weights (the course model's heads, 8 of 32, and 2 to 4
layers) and compares with the attention output set to zero by a hook; exercise 2 compares with a
loop over the groups; exercises 3 and 4 with minigpt.counting. Inputs are drawn with a local
torch.Generator, and the models are built under torch.random.fork_rng, so the notebook's random
state is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import cast

import torch

from ..config import ModelConfig
from ..counting import kv_cache_bytes_per_token, latent_attention
from ..model import Block, MiniGPT
from . import Exercise, Wrong, learner_call
from .compare import as_tensor, expect_close, expect_equal
from .fresh import choice as _choice
from .fresh import fresh_seed as _fresh_seed
from .fresh import randint as _randint

# ---- exercise 1: one layer's attention off at a time -------------------------------------------


@contextmanager
def _one_thread():
    """Run the small models on one thread: a second one only waits for the first on matrices this small
    (and on a busy machine it waits a long time), then restore the notebook's setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _random_model(seed: int) -> MiniGPT:
    """A small model with the course model's heads (8 of 32) and weights large enough that every
    layer's attention changes the logits visibly."""
    g = torch.Generator().manual_seed(seed)
    config = ModelConfig(
        vocab_size=_randint(g, 64, 200),
        hidden_size=_choice(g, [64, 96, 128]),
        num_layers=_randint(g, 2, 4),
        num_heads=8,
        num_kv_heads=_choice(g, [1, 2, 4, 8]),
        head_dim=32,
        intermediate_size=_choice(g, [128, 192, 256]),
    )
    with torch.random.fork_rng(devices=[]):  # the model's own initialisation must not move the notebook's RNG
        torch.manual_seed(seed)
        model = MiniGPT(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:  # unit-scale activations: std 1 for the embedding, 1/sqrt(fan-in) for the others
                std = 1.0 if "embed" in name else p.shape[1] ** -0.5
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def _with_hooks(model: MiniGPT, measure: Callable, hooks: Sequence[tuple[torch.nn.Module, Callable]]):
    handles = [module.register_forward_hook(hook) for module, hook in hooks]
    try:
        return measure(model)
    finally:
        for handle in handles:
            handle.remove()


def _zero_attention(module, args, output):
    return torch.zeros_like(output[0]), output[1]


def _check_each_layer_off(each_layer_off) -> str:
    with _one_thread():
        return _check_layers(each_layer_off)


def _check_layers(each_layer_off) -> str:
    seed = _fresh_seed()
    model = _random_model(seed)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randint(0, model.config.vocab_size, (2, _randint(g, 8, 16)), generator=g)
    calls = []

    def measure(m):
        """The logits of a fixed batch: what the model does, in full."""
        calls.append(1)
        with torch.no_grad():
            return m(x).logits.clone()

    layers = cast(list[Block], list(model.model.layers))
    n = len(layers)
    before = measure(model)
    attention = [(layer.self_attn, _zero_attention) for layer in layers]
    want = [_with_hooks(model, measure, [attention[i]]) for i in range(n)]

    def suspects(i: int) -> dict[str, torch.Tensor]:
        """What the plausible mistakes give for layer i (computed only for a wrong answer)."""
        return {
            f"layer {i}'s result also has the layers before it switched off: restore each layer before you switch "
            "off the next": _with_hooks(model, measure, attention[: i + 1]),
            "the queries were zeroed: a head whose scores are all 0 averages the values uniformly, it is not off. "
            "Zero what the heads hand to o_proj (or the attention's output)": _with_hooks(
                model, measure, [(layers[i].self_attn.q_proj, lambda m, a, out: torch.zeros_like(out))]
            ),
            "the whole block was skipped (attention and MLP); switch off the attention only": _with_hooks(
                model, measure, [(layers[i], lambda m, a, out: (a[0], out[1]))]
            ),
            "that switched off the layer's MLP, not its attention": _with_hooks(
                model, measure, [(layers[i].mlp, lambda m, a, out: torch.zeros_like(out))]
            ),
            "that is the model with every head on: nothing was switched off": before,
        }

    calls.clear()
    got = learner_call(each_layer_off, model, measure)
    if not isinstance(got, (list, tuple)):
        raise Wrong(f"return a list with one result of measure(model) per layer, got {type(got).__name__}")
    if len(got) != n:
        hint = " (read the number of layers from model.config.num_layers)" if len(got) == 6 else ""
        raise Wrong(f"{len(got)} results for a model of {n} layers: return one per layer, in order{hint}")
    if len(calls) < n:
        raise Wrong(f"measure was called {len(calls)} times for {n} layers: call it once per layer")
    after = measure(model)
    if not torch.allclose(after, before, atol=1e-5, rtol=1e-5):
        raise Wrong(
            "after each_layer_off the model still differs from before: remove your hooks (or restore the weights) "
            "before you return"
        )
    for i in range(n):
        result = as_tensor(got[i], f"the result for layer {i}")
        if result.shape == want[i].shape and torch.allclose(result, want[i], atol=1e-4, rtol=1e-4):
            continue
        expect_close(result, want[i], f"the result for layer {i}", atol=1e-4, rtol=1e-4, suspects=suspects(i))
    return "Each layer switched off in turn on a model with random weights, and the model left as it was."


# ---- exercise 2: mean-pool key/value heads --------------------------------------------------------


def _pooled(weight: torch.Tensor, num_kv_heads: int, new_kv_heads: int) -> torch.Tensor:
    """Group j of consecutive heads (j*g .. j*g+g-1) becomes its mean; a loop, head by head."""
    head_dim = weight.shape[0] // num_kv_heads
    g = num_kv_heads // new_kv_heads
    heads = [weight[h * head_dim : (h + 1) * head_dim] for h in range(num_kv_heads)]
    return torch.cat([torch.stack(heads[j * g : (j + 1) * g]).mean(0) for j in range(new_kv_heads)])


def _check_pool_kv_heads(pool_kv_heads) -> str:
    g = torch.Generator().manual_seed(_fresh_seed())
    cases = [(8, 2), (4, 1), (16, 4), (8, 4), (6, 3), (4, 2)]
    order = torch.randperm(len(cases), generator=g).tolist()[:4]
    for kv, new in [cases[i] for i in order] + [(2, 1)]:  # the last: the course model's layer 0, to one KV head
        head_dim = _choice(g, [8, 16, 32, 64])
        hidden = _choice(g, [48, 64, 96, 128, 256])
        weight = torch.randn(kv * head_dim, hidden, generator=g)
        want = _pooled(weight, kv, new)
        by_head = weight.view(kv, head_dim, hidden)
        suspects = {
            "heads that are not neighbours were averaged: a group is num_kv_heads // new_kv_heads consecutive "
            "heads, since query head h reads key/value head h // groups": weight.view(kv // new, new, head_dim, hidden)
            .mean(0)
            .reshape(new * head_dim, hidden),
            "the rows of one head are head_dim consecutive rows of the weight: view it as "
            "(num_kv_heads, head_dim, hidden), not (head_dim, num_kv_heads, hidden)": weight.view(head_dim, kv, hidden)
            .view(head_dim, new, kv // new, hidden)
            .mean(2)
            .reshape(new * head_dim, hidden),
            "the heads of a group were summed; take their mean": want * (kv // new),
            "the pooled heads were repeated back to num_kv_heads heads; return new_kv_heads heads, shape "
            "(new_kv_heads * head_dim, hidden)": want.view(new, 1, head_dim, hidden)
            .expand(new, kv // new, head_dim, hidden)
            .reshape(kv * head_dim, hidden),
            "each head's rows were averaged (over head_dim); average the heads of a group, row by row": by_head.mean(1),
            "every head was averaged into one, whatever new_kv_heads is": by_head.mean(0),
        }
        got = learner_call(pool_kv_heads, weight.clone(), kv, new)
        expect_close(
            got,
            want,
            f"pool_kv_heads(weight of {kv} heads of {head_dim}, {kv}, {new})",
            atol=1e-5,
            rtol=1e-5,
            suspects={k: v for k, v in suspects.items() if v.shape != want.shape or not torch.allclose(v, want)},
        )
    return "Ainslie et al. (2023) start GQA and MQA from a multi-head checkpoint this way, then train a little."


# ---- exercise 3: KV-cache bytes per token ---------------------------------------------------------


def _random_config(g: torch.Generator) -> ModelConfig:
    """A shape whose widths all differ: hidden size, num_heads x head_dim, num_kv_heads x head_dim."""
    num_heads = _choice(g, [8, 12, 14, 16, 28, 32, 40, 64])
    num_kv_heads = _choice(g, [n for n in range(1, num_heads) if num_heads % n == 0])  # GQA: fewer KV heads
    head_dim = _choice(g, [64, 80, 96, 128, 256])
    hidden = 128 * _randint(g, 8, 64)
    while hidden in (num_heads * head_dim, num_kv_heads * head_dim):
        hidden += 128
    return ModelConfig(
        vocab_size=32000,
        hidden_size=hidden,
        num_layers=_randint(g, 2, 80),
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
    )


def _check_kv_bytes_per_token(kv_bytes_per_token) -> str:
    g = torch.Generator().manual_seed(_fresh_seed())
    checked = 0
    while checked < 6:
        c = _random_config(g)
        dtype_bytes = _choice(g, [1, 2, 4])
        want = kv_cache_bytes_per_token(c, dtype_bytes)
        layers, kv, hd = c.num_layers, c.num_kv_heads, c.head_dim
        suspects = {
            "the query heads were counted: the cache stores only the key/value heads (num_kv_heads), which is "
            "what grouped-query attention saves": 2 * layers * c.num_heads * hd * dtype_bytes,
            "the factor 2 for K and V is missing: every position caches a key AND a value": layers
            * kv
            * hd
            * dtype_bytes,
            "that is one layer's cache: every layer stores its own keys and values": 2 * kv * hd * dtype_bytes,
            "a cached key is num_kv_heads x head_dim numbers, not the hidden size": 2
            * layers
            * c.hidden_size
            * dtype_bytes,
            "that counts numbers, not bytes: multiply by dtype_bytes": 2 * layers * kv * hd,
        }
        values = [want, *suspects.values()]
        if len(set(values)) < len(values):
            continue  # a draw where two answers coincide cannot tell them apart
        heads = f"{c.num_heads} query and {kv} KV heads of {hd}"
        what = f"kv_bytes_per_token for {layers} layers, {heads}, {dtype_bytes} bytes"
        got = learner_call(kv_bytes_per_token, c, dtype_bytes)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Wrong(f"{what} should be a number of bytes, got {type(got).__name__}")
        expect_equal(got, want, what, suspects=suspects)
        checked += 1
    qwen = ModelConfig.from_preset("qwen2.5-7b")
    per_token = learner_call(kv_bytes_per_token, qwen, 2)
    return f"Qwen2.5-7B in bf16: {int(per_token):,} bytes per token; compare with what you wrote down first."


# ---- exercise 4: multi-head latent attention's cache per token ----------------------------------


def _check_mla_cache_bytes(mla_cache_bytes) -> str:
    g = torch.Generator().manual_seed(_fresh_seed())
    checked = 0
    while checked < 6:
        layers, heads = _randint(g, 2, 96), _choice(g, [8, 16, 32, 64, 128])
        d_c, rope = 64 * _randint(g, 2, 12), _choice(g, [16, 32, 64])
        dtype_bytes = _choice(g, [1, 2, 4])
        config = ModelConfig(
            vocab_size=1000, hidden_size=1024, num_layers=layers, num_heads=heads, num_kv_heads=heads, head_dim=128
        )
        want = latent_attention(config, d_c, rope, bytes_per_value=dtype_bytes).cache_bytes_per_token
        suspects = {
            "the rotary key is missing: besides the latent c_KV, every layer caches one rotary key of "
            "qk_rope_head_dim numbers": layers * d_c * dtype_bytes,
            "that counts the latent for every head: the latent is one vector per token and layer, which "
            "all heads share": layers * heads * (d_c + rope) * dtype_bytes,
            "that counts a rotary key per head: DeepSeek-V2 caches one rotary key per layer, shared by all "
            "heads (only the queries have one per head)": layers * (d_c + heads * rope) * dtype_bytes,
            "the factor 2 belongs to K and V of ordinary attention: MLA caches one latent from which both "
            "are projected": 2 * layers * (d_c + rope) * dtype_bytes,
            "that is one layer's cache: every layer has its own latent and rotary key": (d_c + rope) * dtype_bytes,
            "that counts numbers, not bytes: multiply by dtype_bytes": layers * (d_c + rope),
        }
        values = [want, *suspects.values()]
        if len(set(values)) < len(values):
            continue  # a draw where two answers coincide cannot tell them apart
        what = f"mla_cache_bytes({layers}, {heads}, {d_c}, {rope}, {dtype_bytes})"
        got = learner_call(mla_cache_bytes, layers, heads, d_c, rope, dtype_bytes)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Wrong(f"{what} should be a number of bytes, got {type(got).__name__}")
        expect_equal(got, want, what, suspects=suspects)
        checked += 1
    per_token = learner_call(mla_cache_bytes, 60, 128, 512, 64, 2)
    return f"DeepSeek-V2 in bf16: {int(per_token):,} bytes per token; compare with what you wrote down first."


ex1 = Exercise(
    5,
    1,
    _check_each_layer_off,
    [
        "Switching off all heads of a layer is section 3's heads_off with every head of that layer: "
        "[(layer, h) for h in range(model.config.num_heads)].",
        "Loop over range(model.config.num_layers); inside the loop, `with heads_off(...):` call measure(model). "
        "Leaving the `with` block restores the layer before the next one is switched off.",
        "return [measure_off(layer) for layer in range(model.config.num_layers)], where measure_off runs "
        "measure(model) inside heads_off(model, [(layer, h) for h in range(model.config.num_heads)])",
    ],
)
ex2 = Exercise(
    5,
    2,
    _check_pool_kv_heads,
    [
        "Rows h * head_dim to (h + 1) * head_dim of k_proj's weight make key head h; head_dim is "
        "weight.shape[0] // num_kv_heads.",
        "New head j replaces the g = num_kv_heads // new_kv_heads consecutive heads j*g .. j*g + g - 1, the heads "
        "whose query heads now share it.",
        "weight.view(new_kv_heads, g, head_dim, -1).mean(1).reshape(new_kv_heads * head_dim, -1)",
    ],
)
ex3 = Exercise(
    5,
    3,
    _check_kv_bytes_per_token,
    [
        "Per token, every layer caches one key and one value for each key/value head.",
        "A key is head_dim numbers; the model has num_kv_heads key/value heads (not num_heads) in each of "
        "num_layers layers.",
        "return 2 * config.num_layers * config.num_kv_heads * config.head_dim * dtype_bytes",
    ],
)
ex4 = Exercise(
    5,
    4,
    _check_mla_cache_bytes,
    [
        "Per token and layer, MLA caches the latent c_KV (kv_lora_rank numbers) and one rotary key "
        "(qk_rope_head_dim numbers); keys and values of every head are projected up from the latent.",
        "num_heads does not enter: the latent and the rotary key are shared by all heads, and there is no "
        "separate K and V to count twice.",
        "return num_layers * (kv_lora_rank + qk_rope_head_dim) * dtype_bytes",
    ],
)
