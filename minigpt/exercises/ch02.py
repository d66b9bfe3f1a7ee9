"""Chapter 2's exercises, each checked on fresh, random model shapes:

1. `count_llama_parameters(config)`: a Llama/Qwen model's parameters, term by term, against the model itself
   built on the meta device (shapes, no memory);
2. `max_layers(budget, vocab_size)`: the most layers of MiniMind2-Small's shape within a parameter budget,
   against count_parameters, with budgets drawn at the edges (exactly a model's size, one parameter less);
3. `kv_cache_bytes(config, tokens, bytes_per_number)`: the KV cache of one sequence, against
   minigpt.counting.kv_cache_bytes_per_token.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..cache import KVCache
from ..config import ModelConfig
from ..counting import count_parameters, kv_cache_bytes_per_token
from ..model import MiniGPT
from . import Exercise, Wrong, learner_call
from .fresh import fresh_generator as _generator


def _pick(generator: torch.Generator, options) -> int:
    return options[int(torch.randint(0, len(options), (1,), generator=generator))]


def _random_config(generator: torch.Generator, *, tied: bool, qkv_bias: bool, free_head_dim: bool) -> ModelConfig:
    """A Llama/Qwen shape with grouped-query attention; `free_head_dim`: heads x head_dim != hidden (as Qwen3)."""
    num_heads = _pick(generator, [4, 6, 8, 12, 16])
    num_kv_heads = _pick(generator, [d for d in range(1, num_heads) if num_heads % d == 0])  # GQA: fewer KV heads
    head_dim = _pick(generator, [16, 32, 64, 128])
    hidden = num_heads * head_dim
    if free_head_dim:
        hidden = _pick(generator, [h for h in (256, 384, 512, 640, 768, 1024) if h != hidden])
    return ModelConfig(
        vocab_size=_pick(generator, [1000, 3001, 6400, 32000, 50257]),
        hidden_size=hidden,
        num_layers=_pick(generator, [1, 2, 3, 5, 12, 24]),
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        intermediate_size=_pick(generator, [96, 688, 1408, 2752, 4864]),
        max_seq_len=65536,
        tie_word_embeddings=tied,
        qkv_bias=qkv_bias,
    )


def _configs(generator: torch.Generator) -> list[ModelConfig]:
    """Every combination of tied/untied and bias/no bias, with head_dim tied to hidden or not."""
    return [
        _random_config(generator, tied=tied, qkv_bias=bias, free_head_dim=free)
        for tied in (False, True)
        for bias in (False, True)
        for free in (False, True)
    ]


def _describe(c: ModelConfig) -> str:
    return (
        f"ModelConfig(hidden_size={c.hidden_size}, num_layers={c.num_layers}, num_heads={c.num_heads}, "
        f"num_kv_heads={c.num_kv_heads}, head_dim={c.head_dim}, intermediate_size={c.intermediate_size}, "
        f"vocab_size={c.vocab_size}, tie_word_embeddings={c.tie_word_embeddings}, qkv_bias={c.qkv_bias})"
    )


def _as_int(value, call: str) -> int:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Wrong(f"{call} returned {value!r} ({type(value).__name__}); return a whole number (an int)")
    return value


def _diagnose(got: list[int], want: list[int], suspects: dict[str, list[int]], describe: Callable[[int], str]):
    """Raise Wrong unless got == want; name the first mistake that gives exactly `got` on every input."""
    if got == want:
        return
    for diagnosis, wrong in suspects.items():
        if got == wrong:
            raise Wrong(diagnosis)
    i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w)
    raise Wrong(f"{describe(i)} returned {got[i]:,}; the answer is {want[i]:,} ({got[i] - want[i]:+,})")


# Exercise 1: count a model's parameters ---------------------------------------------------------


def _built_count(c: ModelConfig) -> int:
    """The parameters of the model itself, built on the meta device (shapes only); a tied tensor counts once."""
    with torch.device("meta"):
        model = MiniGPT(c)
    return sum(p.numel() for p in model.parameters())


def _check_count(count_llama_parameters) -> str:
    configs = _configs(_generator())
    want = [_built_count(c) for c in configs]
    if want != [count_parameters(c).total for c in configs]:  # two references that must agree
        raise RuntimeError("minigpt's count_parameters disagrees with the built model")
    got = [_as_int(learner_call(count_llama_parameters, c), "count_llama_parameters(config)") for c in configs]

    def each(mistake: Callable[[ModelConfig], int]) -> list[int]:
        return [t + mistake(c) for t, c in zip(want, configs, strict=True)]

    def bias(c: ModelConfig) -> int:
        return 1 if c.qkv_bias else 0

    def qkv_bias(c: ModelConfig) -> int:
        return (c.num_heads + 2 * c.num_kv_heads) * c.head_dim if c.qkv_bias else 0

    suspects = {
        "the norms are missing: every block has two RMSNorm weights of hidden_size, and there is one final norm":
            each(lambda c: -(2 * c.num_layers + 1) * c.hidden_size),
        "the final norm (model.norm, hidden_size numbers after the last block) is missing":
            each(lambda c: -c.hidden_size),
        "each block has two norms (input_layernorm and post_attention_layernorm), not one":
            each(lambda c: -c.num_layers * c.hidden_size),
        "a tied LM head is the embedding matrix itself: count it once (add vocab_size x hidden_size only when "
        "tie_word_embeddings is False)": each(lambda c: c.vocab_size * c.hidden_size if c.tie_word_embeddings else 0),
        "the LM head is missing: when tie_word_embeddings is False it is a second vocab_size x hidden_size matrix":
            each(lambda c: 0 if c.tie_word_embeddings else -c.vocab_size * c.hidden_size),
        "k_proj and v_proj have num_kv_heads x head_dim rows, not num_heads x head_dim (grouped-query attention)":
            each(lambda c: 2 * c.num_layers * (c.num_heads - c.num_kv_heads) * c.head_dim * (c.hidden_size + bias(c))),
        "the q/k/v biases are missing: with qkv_bias each of q_proj, k_proj, v_proj has one bias per output":
            each(lambda c: -c.num_layers * qkv_bias(c)),
        "o_proj has no bias in Qwen2, only q_proj, k_proj and v_proj do":
            each(lambda c: c.num_layers * c.hidden_size if c.qkv_bias else 0),
        "the biases are counted even when qkv_bias is False": each(
            lambda c: 0 if c.qkv_bias else c.num_layers * (c.num_heads + 2 * c.num_kv_heads) * c.head_dim
        ),
        "a SwiGLU MLP has three matrices (gate_proj, up_proj, down_proj), not two":
            each(lambda c: -c.num_layers * c.hidden_size * c.intermediate_size),
        "q_proj and o_proj are (num_heads x head_dim) by hidden_size, which is not always hidden_size x hidden_size: "
        "use head_dim": each(lambda c: 2 * c.num_layers * c.hidden_size * (c.hidden_size - c.num_heads * c.head_dim)),
    }  # fmt: skip
    _diagnose(got, want, suspects, lambda i: f"count_llama_parameters({_describe(configs[i])})")
    qwen = ModelConfig.from_preset("qwen2.5-7b")
    return f"Qwen2.5-7B has {count_parameters(qwen).total:,} parameters: compare with your term-by-term count."


ex1 = Exercise(
    2,
    1,
    _check_count,
    hints=[
        "Count one block as in section 1: q_proj and o_proj are (num_heads * head_dim) x hidden_size, k_proj "
        "and v_proj (num_kv_heads * head_dim) x hidden_size, three MLP matrices hidden_size x intermediate_size, "
        "two norms.",
        "With qkv_bias, q_proj, k_proj and v_proj each add one bias per output row; o_proj has none.",
        "Outside the blocks: the embedding (vocab_size x hidden_size), the final norm (hidden_size), and a separate "
        "LM head of the embedding's size only when tie_word_embeddings is False.",
    ],
)


# Exercise 2: the most layers a budget affords ----------------------------------------------------


def _minimind(vocab_size: int, num_layers: int) -> ModelConfig:
    return ModelConfig.from_preset("minimind2-small", vocab_size=vocab_size, num_layers=num_layers)


def _max_layers(budget: int, vocab_size: int) -> int:
    layers = 0
    while count_parameters(_minimind(vocab_size, layers + 1)).total <= budget:
        layers += 1
    return layers


def _check_max_layers(max_layers) -> str:
    generator = _generator()
    cases = []  # budgets at the edges: a model's exact size (it fits), one parameter less (it does not)
    for _ in range(3):
        vocab = int(torch.randint(1000, 60000, (1,), generator=generator))
        layers = int(torch.randint(1, 20, (1,), generator=generator))
        size = count_parameters(_minimind(vocab, layers)).total
        cases += [
            (size, vocab),
            (size - 1, vocab),
            (size + int(torch.randint(1, 1000, (1,), generator=generator)), vocab),
        ]
    per_layer = count_parameters(_minimind(6400, 1)).per_layer
    for _ in range(2):  # a budget in the middle between two sizes, so that rounding to the nearest is wrong
        vocab = int(torch.randint(1000, 60000, (1,), generator=generator))
        layers = int(torch.randint(1, 20, (1,), generator=generator))
        cases.append((count_parameters(_minimind(vocab, layers)).total + per_layer * 3 // 4, vocab))
    vocab = int(torch.randint(40000, 60000, (1,), generator=generator))
    cases.append((vocab * 512 - 1, vocab))  # not even the embedding fits: no layer
    want = [_max_layers(b, v) for b, v in cases]
    got = [_as_int(learner_call(max_layers, b, v), f"max_layers({b}, {v})") for b, v in cases]

    def per_case(fn: Callable[[int, int], float]) -> list[int]:
        return [max(0, int(fn(b, v))) for b, v in cases]

    def fits_exactly(b: int, v: int, layers: int) -> bool:
        return count_parameters(_minimind(v, layers)).total == b

    def rest(b: int, v: int, embedding: int, final_norm: int = 512) -> float:
        return (b - embedding - final_norm) / per_layer

    suspects = {
        "a budget of exactly the model's size affords it: keep layers while the count is <= budget, not < budget":
            [w - 1 if w and fits_exactly(b, v, w) else w for w, (b, v) in zip(want, cases, strict=True)],
        "rounded to the nearest number of layers: a layer that does not fit whole does not fit; round down":
            per_case(lambda b, v: round(rest(b, v, v * 512))),
        "one layer too many: that is the first count over the budget, the answer is the one before it":
            [w + 1 for w in want],
        "the embedding (vocab_size x 512) is part of the budget too": per_case(lambda b, v: rest(b, v, 0)),
        "MiniMind2-Small ties its LM head to the embedding: the vocabulary costs vocab_size x 512 once, not twice":
            per_case(lambda b, v: rest(b, v, 2 * v * 512)),
    }  # fmt: skip
    _diagnose(got, want, suspects, lambda i: f"max_layers({cases[i][0]}, {cases[i][1]})")
    budget = count_parameters(_minimind(6400, 8)).total  # MiniMind2-Small itself
    return (
        f"MiniMind2-Small's own {budget:,} parameters afford {_max_layers(budget, 32000)} layers at vocabulary 32000."
    )


ex2 = Exercise(
    2,
    2,
    _check_max_layers,
    hints=[
        'Build the model\'s config for a number of layers: ModelConfig.from_preset("minimind2-small", '
        "vocab_size=vocab_size, num_layers=n), and count it with count_parameters(...).total.",
        "Add layers one at a time while the count stays <= budget; the answer is the last count that fitted "
        "(0 if even one layer does not).",
        "Or in closed form: (budget - embedding - final norm) // per_layer, where per_layer is "
        "count_parameters(config).per_layer; round down, and never below 0.",
    ],
)


# Exercise 3: the KV cache of one sequence --------------------------------------------------------


def _check_kv_cache(kv_cache_bytes) -> str:
    generator = _generator()
    configs = _configs(generator)
    # every width in turn, not drawn: if all cases drew 1 (or 2) byte, a missing (or hard-coded) factor would pass
    tokens = [int(torch.randint(1, 40000, (1,), generator=generator)) for _ in configs]
    cases = [(c, t, [1, 2, 4][i % 3]) for i, (c, t) in enumerate(zip(configs, tokens, strict=True))]
    want = [kv_cache_bytes_per_token(c, bytes_per_value=b) * t for c, t, b in cases]
    # Independently: the cache minigpt generates with, allocated for `t` tokens on the meta device (no memory).
    dtypes = {1: torch.uint8, 2: torch.bfloat16, 4: torch.float32}
    if want != [KVCache(c, 1, max_len=t, device="meta", dtype=dtypes[b]).nbytes for c, t, b in cases]:
        raise RuntimeError("minigpt's kv_cache_bytes_per_token disagrees with the KVCache it allocates")
    got = [_as_int(learner_call(kv_cache_bytes, c, t, b), "kv_cache_bytes(config, tokens, bytes_per_number)")
           for c, t, b in cases]  # fmt: skip

    def each(fn: Callable[[ModelConfig, int, int], int]) -> list[int]:
        return [fn(c, t, b) for c, t, b in cases]

    suspects = {
        "the cache holds two tensors per layer, K and V: multiply by 2": [w // 2 for w in want],
        "the cache stores num_kv_heads heads, not num_heads: grouped-query attention shares each K/V head "
        "among several query heads": each(lambda c, t, b: 2 * c.num_layers * c.num_heads * c.head_dim * t * b),
        "one K/V head is head_dim wide, num_kv_heads x head_dim in all, not hidden_size": each(
            lambda c, t, b: 2 * c.num_layers * c.hidden_size * t * b
        ),
        "that is one layer's cache: every layer keeps its own K and V, multiply by num_layers": each(
            lambda c, t, b: 2 * c.num_kv_heads * c.head_dim * t * b
        ),
        "that is a count of numbers, not bytes: multiply by bytes_per_number (2 in bf16)": each(
            lambda c, t, b: 2 * c.num_layers * c.num_kv_heads * c.head_dim * t
        ),
        "that is bits: a byte is 8 bits, and bytes_per_number is already in bytes": [8 * w for w in want],
    }
    _diagnose(
        got,
        want,
        suspects,
        lambda i: f"kv_cache_bytes({_describe(cases[i][0])}, tokens={cases[i][1]}, bytes_per_number={cases[i][2]})",
    )
    llama = ModelConfig.from_preset("llama-7b")
    return f"LLaMA-7B at 4096 tokens in bf16: {kv_cache_bytes_per_token(llama) * 4096 / 2**30:.2f} GiB."


ex3 = Exercise(
    2,
    3,
    _check_kv_cache,
    hints=[
        "Per token, every layer stores one key and one value vector for each KV head.",
        "One token: 2 (K and V) x num_layers x num_kv_heads x head_dim numbers; with GQA num_kv_heads < num_heads.",
        "Multiply by the number of tokens and by bytes_per_number to get bytes.",
    ],
)
