"""Chapter 2's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker."""

import pytest
from minigpt import ModelConfig
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch02


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: count_llama_parameters ------------------------------------------------------


def tensor_shapes(c):
    """Every tensor of the model by its Hugging Face name pattern, as (rows, cols) or (size,)."""
    q_out, kv_out = c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim
    block = [(c.hidden_size,), (q_out, c.hidden_size), (kv_out, c.hidden_size), (kv_out, c.hidden_size)]
    block += [(c.hidden_size, q_out), (c.hidden_size,)] + [(c.intermediate_size, c.hidden_size)] * 3
    if c.qkv_bias:
        block += [(q_out,), (kv_out,), (kv_out,)]
    shapes = [(c.vocab_size, c.hidden_size)] + block * c.num_layers + [(c.hidden_size,)]
    if not c.tie_word_embeddings:
        shapes.append((c.vocab_size, c.hidden_size))
    return shapes


def count_by_shapes(c):
    """Correct, another way: the product of every tensor's shape, summed."""
    total = 0
    for shape in tensor_shapes(c):
        size = 1
        for n in shape:
            size *= n
        total += size
    return total


def count_without_norms(c):
    return count_by_shapes(c) - (2 * c.num_layers + 1) * c.hidden_size


def count_tied_twice(c):
    return count_by_shapes(c) + (c.vocab_size * c.hidden_size if c.tie_word_embeddings else 0)


def count_without_gqa(c):
    return count_by_shapes(ModelConfig(**{**c.to_dict(), "num_kv_heads": c.num_heads}))


def count_without_biases(c):
    return count_by_shapes(ModelConfig(**{**c.to_dict(), "qkv_bias": False}))


def count_plain_mlp(c):
    return count_by_shapes(c) - c.num_layers * c.hidden_size * c.intermediate_size


def test_ex1_starter_is_not_attempted():
    assert ch02.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch02.ex1.check(count_by_shapes)
    assert result.status == CORRECT, result.message
    assert "7,615,616,512" in result.message  # Qwen2.5-7B, published: huggingface.co/Qwen/Qwen2.5-7B


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (count_without_norms, "the norms are missing"),
        (count_tied_twice, "count it once"),
        (count_without_gqa, "not num_heads x head_dim"),
        (count_without_biases, "biases are missing"),
        (count_plain_mlp, "three matrices"),
        (lambda c: count_by_shapes(c) + 1, "returned"),
        (lambda c: str(count_by_shapes(c)), "return a whole number"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch02.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 2: max_layers ------------------------------------------------------------------

HIDDEN, MLP = 512, 1408  # MiniMind2-Small: 8 heads, 2 KV heads of 64, tied embedding


def per_layer():
    return 2 * HIDDEN * HIDDEN + 2 * HIDDEN * 128 + 3 * HIDDEN * MLP + 2 * HIDDEN


def layers_closed_form(budget, vocab_size):
    """Correct, in closed form: what is left after the embedding and the final norm, in whole layers."""
    return max(0, (budget - vocab_size * HIDDEN - HIDDEN) // per_layer())


def layers_strict(budget, vocab_size):
    layers = layers_closed_form(budget, vocab_size)
    exact = vocab_size * HIDDEN + HIDDEN + layers * per_layer() == budget
    return layers - 1 if exact and layers else layers


def layers_rounded(budget, vocab_size):
    return max(0, round((budget - vocab_size * HIDDEN - HIDDEN) / per_layer()))


def layers_embedding_twice(budget, vocab_size):
    return max(0, (budget - 2 * vocab_size * HIDDEN - HIDDEN) // per_layer())


def layers_without_embedding(budget, vocab_size):
    return max(0, (budget - HIDDEN) // per_layer())


def test_ex2_starter_is_not_attempted():
    assert ch02.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch02.ex2.check(layers_closed_form)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (layers_strict, "<= budget, not < budget"),
        (layers_rounded, "round down"),
        (layers_embedding_twice, "once, not twice"),
        (layers_without_embedding, "the embedding (vocab_size x 512) is part of the budget"),
        (lambda budget, vocab_size: layers_closed_form(budget, vocab_size) + 1, "one layer too many"),
    ],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch02.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: kv_cache_bytes --------------------------------------------------------------


def cache_bytes(config, tokens, bytes_per_number=2):
    """Correct: per layer a K and a V tensor of (num_kv_heads, tokens, head_dim) numbers."""
    per_layer = 2 * config.num_kv_heads * tokens * config.head_dim
    return config.num_layers * per_layer * bytes_per_number


def test_ex3_starter_is_not_attempted():
    assert ch02.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch02.ex3.check(cache_bytes)
    assert result.status == CORRECT, result.message
    assert "2.00 GiB" in result.message  # LLaMA-7B, 4096 tokens: 2 x 32 x 32 x 128 x 2 x 4096 bytes


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda c, t, b=2: cache_bytes(c, t, b) // 2, "K and V: multiply by 2"),
        (lambda c, t, b=2: 2 * c.num_layers * c.num_heads * c.head_dim * t * b, "num_kv_heads heads, not num_heads"),
        (lambda c, t, b=2: cache_bytes(c, t, b) // b, "a count of numbers, not bytes"),
        (lambda c, t, b=2: cache_bytes(c, t, b) // c.num_layers, "one layer's cache"),
        (lambda c, t, b=2: 8 * cache_bytes(c, t, b), "that is bits"),
    ],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch02.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
