"""Chapter 8's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker (min-p: transformers' own
logits warpers; speculative decoding: a loop written here; the KV cache: bytes of real tensors)."""

import pytest
import torch
from minigpt import MiniGPT
from minigpt.cache import KVCache
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch08
from transformers.generation.logits_process import MinPLogitsWarper, TemperatureLogitsWarper


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: min_p_filter ------------------------------------------------------------------


def min_p_transformers(logits, min_p, temperature=1.0):
    """Correct, by transformers: its temperature warper, then its min-p warper (the order it applies them)."""
    scores = TemperatureLogitsWarper(temperature)(None, logits)
    return MinPLogitsWarper(min_p)(None, scores)


def min_p_inverted(logits, min_p, temperature=1.0):
    scaled = logits / temperature
    probs = scaled.softmax(-1)
    return scaled.masked_fill(probs >= min_p * probs.max(-1, keepdim=True).values, float("-inf"))


def min_p_of_the_sum(logits, min_p, temperature=1.0):
    scaled = logits / temperature
    return scaled.masked_fill(scaled.softmax(-1) < min_p, float("-inf"))


def min_p_before_temperature(logits, min_p, temperature=1.0):
    probs = logits.softmax(-1)
    return (logits / temperature).masked_fill(probs < min_p * probs.max(-1, keepdim=True).values, float("-inf"))


def min_p_batch_max(logits, min_p, temperature=1.0):
    scaled = logits / temperature
    probs = scaled.softmax(-1)
    return scaled.masked_fill(probs < min_p * probs.max(), float("-inf"))


def test_ex1_starter_is_not_attempted():
    assert ch08.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct_by_transformers():
    result = ch08.ex1.check(min_p_transformers)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (min_p_inverted, "keeps the tokens below the threshold"),
        (min_p_of_the_sum, "the sum of the probabilities"),
        (min_p_before_temperature, "computed before the temperature"),
        (min_p_batch_max, "over the whole batch"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch08.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 2: speculative_greedy --------------------------------------------------------------


def draft_by_lookup(seq, k):
    """The k tokens after the latest earlier occurrence of the last two tokens (else of the last one)."""
    for n in (2, 1):
        for start in range(len(seq) - n - 1, -1, -1):
            if seq[start : start + n] == seq[-n:]:
                return seq[start + n : start + n + k]
    return []


def speculate(model, prompt_ids, n_new, k=4, *, offset=0, check_draft=True, own_token=True):
    """Correct with the defaults; offset=1 reads the logits one position late, check_draft=False keeps
    every drafted token."""
    seq, passes = list(prompt_ids), 0
    while len(seq) < len(prompt_ids) + n_new:
        draft = draft_by_lookup(seq, k)
        with torch.no_grad():
            logits = model(torch.tensor([seq + draft])).logits[0]
        passes += 1
        choice = logits[len(seq) - 1 + offset :].argmax(-1).tolist() + [0]
        accepted = 0
        while accepted < len(draft) and (not check_draft or draft[accepted] == choice[accepted]):
            accepted += 1
        seq += draft[:accepted] + ([choice[accepted]] if own_token else [])
    return seq[: len(prompt_ids) + n_new], passes


def plain_greedy_loop(model, prompt_ids, n_new, k=4):
    seq = list(prompt_ids)
    for _ in range(n_new):
        with torch.no_grad():
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    return seq, n_new


def test_ex2_starter_is_not_attempted():
    assert ch08.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch08.ex2.check(speculate)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda m, p, n, k=4: speculate(m, p, n, k, offset=1), "position i + 1"),
        (lambda m, p, n, k=4: speculate(m, p, n, k, check_draft=False), "a drafted token was kept"),
        (plain_greedy_loop, "one per token"),
        (lambda m, p, n, k=4: (speculate(m, p, n, k)[0], 1), "the number of forward passes"),
        (lambda m, p, n, k=4: speculate(m, p, n + 3, k), "cut to prompt + n_new"),
    ],
    ids=["logits-one-late", "draft-unchecked", "no-speculation", "passes-miscounted", "too-many-tokens"],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch08.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex2_a_loop_that_never_ends_is_stopped():
    result = ch08.ex2.check(lambda m, p, n, k=4: speculate(m, p, n, k, own_token=False))
    assert result.status == WRONG and "every forward pass must add at least one token" in result.message


# ---- exercise 3: sequences_that_fit ----------------------------------------------------------


def fit_by_tensors(config, free_bytes, tokens, dtype_bytes):
    """Correct, from the bytes of one layer's K and V tensors for one token, as a cache would hold them."""
    dtype = {1: torch.int8, 2: torch.bfloat16, 4: torch.float32}[dtype_bytes]
    k = torch.empty(config.num_kv_heads, 1, config.head_dim, dtype=dtype, device="meta")
    per_token = 2 * k.numel() * k.element_size() * config.num_layers
    return free_bytes // (per_token * tokens)


def fit_query_heads(config, free_bytes, tokens, dtype_bytes):
    return free_bytes // (2 * config.num_layers * config.num_heads * config.head_dim * dtype_bytes * tokens)


def fit_hidden_size(config, free_bytes, tokens, dtype_bytes):
    return free_bytes // (2 * config.num_layers * config.hidden_size * dtype_bytes * tokens)


def fit_no_factor_two(config, free_bytes, tokens, dtype_bytes):
    return free_bytes // (config.num_layers * config.num_kv_heads * config.head_dim * dtype_bytes * tokens)


def fit_fraction(config, free_bytes, tokens, dtype_bytes):
    return free_bytes / (2 * config.num_layers * config.num_kv_heads * config.head_dim * dtype_bytes * tokens)


def test_ex3_starter_is_not_attempted():
    assert ch08.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct_and_its_note_has_qwen():
    result = ch08.ex3.check(fit_by_tensors)
    assert result.status == CORRECT, result.message
    assert "601 sequences; with 28 KV heads, 85" in result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (fit_query_heads, "not the query heads"),
        (fit_hidden_size, "not the hidden size"),
        (fit_no_factor_two, "a factor of 2 is missing"),
        (fit_fraction, "round"),
    ],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch08.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 4: decode_speed_limit -------------------------------------------------------------


def bytes_of_real_tensors(config, weight_bytes, cache_bytes, context):
    """Bytes one decode step of one row reads, counted from tensors: the parameters of the built
    model (meta device, no memory) and minigpt's cache for one token, times `context`."""
    with torch.device("meta"):
        n_params = sum(p.numel() for p in MiniGPT(config).parameters())
    cache = KVCache(config, 1, max_len=1, device="meta", dtype=torch.float32)
    return n_params * weight_bytes, cache.nbytes // 4 * cache_bytes * context


def limit_by_tensors(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    """Correct, from real tensors' sizes: batch tokens per step, each step reading the weights once
    and every row's cache."""
    weights, one_cache = bytes_of_real_tensors(config, weight_bytes, cache_bytes, context)
    return batch * bandwidth / (weights + batch * one_cache)


def limit_in_bits(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    return limit_by_tensors(config, 8 * weight_bytes, 8 * cache_bytes, context, bandwidth, batch)


def limit_without_cache(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    weights, _ = bytes_of_real_tensors(config, weight_bytes, cache_bytes, context)
    return batch * bandwidth / weights


def limit_one_cache(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    weights, one_cache = bytes_of_real_tensors(config, weight_bytes, cache_bytes, context)
    return batch * bandwidth / (weights + one_cache)


def limit_one_token_per_step(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    return limit_by_tensors(config, weight_bytes, cache_bytes, context, bandwidth, batch) / batch


def seconds_per_token(config, weight_bytes, cache_bytes, context, bandwidth, batch=1):
    return 1 / limit_by_tensors(config, weight_bytes, cache_bytes, context, bandwidth, batch)


def test_ex4_starter_is_not_attempted():
    assert ch08.ex4.check(starter).status == NOT_ATTEMPTED


def test_ex4_correct_by_tensors_and_its_note_has_qwen():
    result = ch08.ex4.check(limit_by_tensors)
    assert result.status == CORRECT, result.message
    # 3.35e12 / (7,615,616,512 x 2 + 2,048 x 57,344 bytes), worked out by hand
    assert "at most 218 tokens/s at batch 1" in result.message, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (limit_in_bits, "not bits"),
        (limit_without_cache, "also reads the KV cache"),
        (limit_one_cache, "each row reads its own cache"),
        (limit_one_token_per_step, "one token for each row"),
        (seconds_per_token, "seconds per token"),
    ],
)
def test_ex4_names_the_mistake(wrong, phrase):
    result = ch08.ex4.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
