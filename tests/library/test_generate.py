"""The sampler: cache == no cache, minigpt == transformers, filters keep the right tokens,
beam search beats greedy where it should, and bad input fails with a message that helps."""

import importlib.util
import itertools
import math
import warnings

import pytest
import torch
import torch.nn as nn
from conftest import compiled_decode_graphs, randomize
from minigpt import MiniGPT, ModelConfig
from minigpt.beam import beam_search, sequence_logprob
from minigpt.cli.sample import main
from minigpt.counting import kv_cache_bytes_per_token
from minigpt.generate import CachedDecoder, generate, stream, stream_text
from minigpt.sampling import (
    apply_repetition_penalty,
    apply_temperature,
    choose_next,
    entropy,
    softmax,
    token_rank,
    top_k_filter,
    top_p_filter,
)
from minigpt.textstream import TextStream, TextStreams


def varied_model(num_kv_heads=2, max_seq_len=256, vocab_size=256, seed=1234):
    """A random model that makes a fair test. Weights of std 0.3 give varied text (about 110
    distinct tokens in 200, not a loop of one token). The untied lm_head is scaled down so the
    logits are of order 1 (max about 1.3): float32 rounding between two correct computations
    scales with the logits (about 5e-6 here, 3e-5 at |logit| 13), so 1e-5 is a real check.
    The smallest top-2 gap met while decoding (about 2e-4) is 30x that rounding, so equal
    greedy tokens are not luck, and a wrong cache (errors of order 0.1) fails both checks."""
    config = ModelConfig.from_preset(
        "tiny", num_kv_heads=num_kv_heads, tie_word_embeddings=False, max_seq_len=max_seq_len, vocab_size=vocab_size
    )
    model = randomize(MiniGPT(config), std=0.3, seed=seed).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(0.1)
    return model


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from a second thread, and on a shared 2-core machine another
    busy process makes multi-threaded small ops 10-50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return varied_model()


def run(model, prompt, n, **kw):
    steps = list(stream(model, prompt, n, **kw))
    return torch.stack([s.tokens for s in steps], 1), torch.stack([s.logits for s in steps], 1)


# ---- cache == no cache ------------------------------------------------------------------------


@pytest.mark.parametrize("kv_heads", [4, 2], ids=["mha", "gqa"])
def test_cached_greedy_equals_uncached_over_a_long_generation(kv_heads):
    model = varied_model(num_kv_heads=kv_heads)
    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    cached_tokens, cached_logits = run(model, prompt, 200)
    plain_tokens, plain_logits = run(model, prompt, 200, use_cache=False)
    assert len(set(cached_tokens[0].tolist())) > 50  # varied text, not a loop of one token
    assert torch.equal(cached_tokens, plain_tokens)
    torch.testing.assert_close(cached_logits, plain_logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize("use_cache", [True, False], ids=["cached", "uncached"])
def test_left_padded_batch_rows_equal_each_row_alone(model, use_cache):
    prompts = [[7, 8, 9, 10, 11], list(range(20, 41)), [99]]  # lengths 5, 21, 1: two rows padded
    batch_tokens, batch_logits = run(model, prompts, 40, use_cache=use_cache)
    for row, prompt in enumerate(prompts):
        alone_tokens, alone_logits = run(model, prompt, 40, use_cache=True)
        assert torch.equal(batch_tokens[row], alone_tokens[0]), f"row {row}"
        torch.testing.assert_close(batch_logits[row], alone_logits[0], atol=1e-5, rtol=0)


def test_cache_gives_full_forward_logits_for_any_tokens(model):
    """Teacher forcing random tokens through the cached decoder (left-padded batch) equals one
    forward over the whole sequence: the cache is right whatever the sampler would choose."""
    torch.manual_seed(0)
    ids = torch.randint(0, 256, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, :4] = 0
    forced = torch.randint(0, 256, (2, 30))
    decoder = CachedDecoder(model, ids, mask, 30)
    with torch.inference_mode():
        got = [decoder.prefill()] + [decoder.step(forced[:, i]) for i in range(29)]
        full = torch.cat([ids, forced], 1)
        full_mask = torch.cat([mask, torch.ones(2, 30, dtype=torch.long)], 1)
        positions = (full_mask.cumsum(-1) - 1).clamp(min=0)
        want = model(full, attention_mask=full_mask, position_ids=positions).logits[:, 9:-1]
    torch.testing.assert_close(torch.stack(got, 1), want, atol=1e-5, rtol=0)


def test_cache_is_preallocated_in_the_grouped_query_layout(model):
    decoder = CachedDecoder(model, torch.tensor([[1, 2, 3]]), None, 50)
    c = model.config
    assert decoder.cache.k.shape == (c.num_layers, 1, c.num_kv_heads, 53, c.head_dim)  # kv heads, not query heads
    assert decoder.cache.nbytes == kv_cache_bytes_per_token(c, bytes_per_value=4) * 53


# ---- compile=True: the static cache and the compiled decode step -----------------------------


def forced_decode(model, decoder_args, forced):
    decoder = CachedDecoder(model, *decoder_args)
    with torch.inference_mode():
        return torch.stack([decoder.prefill()] + [decoder.step(forced[:, i]) for i in range(forced.shape[1] - 1)], 1)


@pytest.mark.parametrize("padded", [False, True], ids=["same-length", "left-padded"])
@pytest.mark.parametrize("kv_heads", [4, 2], ids=["mha", "gqa"])
def test_static_cache_gives_the_same_logits(kv_heads, padded, monkeypatch):
    """The static cache attends over its whole buffer and masks the unwritten slots; teacher-
    forced through a batch it must give the growing cache's logits."""
    model = varied_model(num_kv_heads=kv_heads)
    torch.manual_seed(0)
    ids, forced = torch.randint(0, 256, (2, 10)), torch.randint(0, 256, (2, 30))
    mask = None
    if padded:
        mask = torch.ones(2, 10, dtype=torch.long)
        mask[1, :4] = 0
    growing = forced_decode(model, (ids, mask, 30), forced)
    monkeypatch.setattr(torch, "compile", lambda m, **kw: m)  # static cache, eager step
    static = forced_decode(model, (ids, mask, 30, True), forced)
    torch.testing.assert_close(static, growing, atol=1e-5, rtol=0)


def test_the_model_advances_a_growing_cache_and_a_static_one_is_written_where_told(model):
    from minigpt.cache import KVCache, StaticKVCache

    growing = KVCache(model.config, 1, max_len=20)
    static = StaticKVCache(model.config, 1, max_len=20)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.inference_mode():
        model(ids[:, :3], kv_cache=growing)
        assert growing.length == 3  # the model counted them; nobody else does
        last = model(ids[:, 3:], kv_cache=growing).logits
        assert growing.length == 4
        with pytest.raises(ValueError, match="cache_position"):
            model(ids, kv_cache=static)  # a static cache does not count: the caller says where
        model(ids[:, :3], kv_cache=static, cache_position=torch.arange(3))
        slot = torch.tensor([3])
        same = model(ids[:, 3:], kv_cache=static, cache_position=slot).logits
        assert static.length is None and slot.item() == 3  # the model moved nothing of the caller's
    torch.testing.assert_close(same, last, atol=1e-5, rtol=0)
    # static: the whole buffer is handed to attention, slots 0-3 written, the rest still empty
    assert (
        static.k.shape[3] == 20 and bool(static.k[0, :, :, 4:].eq(0).all()) and bool(static.k[0, :, :, 3].ne(0).any())
    )
    torch.testing.assert_close(static.k[:, :, :, :4], growing.k[:, :, :, :4], atol=1e-5, rtol=0)


def test_compiled_decode_compiles_once_and_matches_eager(model, monkeypatch):
    """fullgraph=True: a graph break would raise. A counting backend sees every compilation:
    one for a whole generation (the shapes never change), none for a second same-shape call."""
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda m, mode=None, **kw: real(m, backend=counting_backend, **kw))
    torch._dynamo.reset()
    prompts = [[7, 8, 9, 10, 11], list(range(20, 41))]  # left-padded batch
    eager = generate(model, prompts, 40, eos_token_id=[])
    compiled = generate(model, prompts, 40, eos_token_id=[], compile=True)
    assert compiled == eager
    assert len(graphs) == 1
    one = [3, 1, 4, 1, 5]  # no padding, no mask: the causal part of the mask hides the empty slots
    assert generate(model, one, 40, eos_token_id=[], compile=True) == generate(model, one, 40, eos_token_id=[])
    graphs.clear()
    assert generate(model, prompts, 40, eos_token_id=[], compile=True) == eager
    assert len(graphs) == 0
    torch._dynamo.reset()


def test_compiled_step_writes_each_layers_cache_in_place_and_joins_its_products(model, monkeypatch):
    """The compiled step's graph after functionalization (what inductor gets): each layer's K and V
    are written into their own buffer, so no layer's write rebuilds another's (no select_scatter,
    which a stacked (layers, ...) buffer cost at every layer), and q/k/v and gate/up are one product
    each, as in eager decoding: 4 products per layer and the output head's."""
    compiled, graphs = compiled_decode_graphs(model, [3, 1, 4, 1, 5], 12, monkeypatch)
    assert compiled == generate(model, [3, 1, 4, 1, 5], 12, eos_token_id=[])
    assert len(graphs) == 1
    ops = [str(node.target) for node in graphs[0].graph.nodes if node.op == "call_function"]
    assert not [op for op in ops if "scatter" in op]
    products = [op for op in ops if op in ("aten.mm.default", "aten.addmm.default")]
    assert len(products) == 4 * model.config.num_layers + 1


def test_compile_needs_the_cache_and_no_beams(model):
    with pytest.raises(ValueError, match="use_cache=True"):
        generate(model, [1, 2, 3], 5, compile=True, use_cache=False)
    with pytest.raises(ValueError, match="beam search"):
        generate(model, [1, 2, 3], 5, compile=True, num_beams=2)


# ---- the same tokens as transformers ------------------------------------------------------


@pytest.mark.parametrize("kv_heads", [4, 2], ids=["mha", "gqa"])
def test_greedy_equals_transformers_generate_on_the_same_weights(kv_heads, tmp_path):
    transformers = pytest.importorskip("transformers")
    ours = varied_model(num_kv_heads=kv_heads)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    ids = torch.randint(0, 256, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # row 1 is left-padded
    ids[1, :5] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.generate(ids, attention_mask=mask, max_new_tokens=40, do_sample=False, pad_token_id=0)
    assert torch.equal(generate(ours, ids, 40, attention_mask=mask), expected)


def test_beam_search_equals_transformers_beam_search(model, tmp_path):
    transformers = pytest.importorskip("transformers")
    model.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    ids = torch.tensor([[5, 6, 7, 8], [0, 0, 9, 10]])
    mask = torch.tensor([[1, 1, 1, 1], [0, 0, 1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.generate(
            ids, attention_mask=mask, max_new_tokens=12, num_beams=3, do_sample=False, pad_token_id=0
        )
        ours = generate(model, ids, 12, attention_mask=mask, num_beams=3)
        assert torch.equal(ours, expected)
        # with an end token that the best beams meet: hypotheses finish at different lengths
        eos = ours[0, 4 + 5].item()
        expected = theirs.generate(
            ids,
            attention_mask=mask,
            max_new_tokens=12,
            num_beams=3,
            do_sample=False,
            pad_token_id=0,
            eos_token_id=eos,
            early_stopping=True,
        )
    ours = generate(model, ids, 12, attention_mask=mask, num_beams=3, eos_token_id=eos, pad_token_id=255)
    assert ours[0, :10].tolist() == expected[0, :10].tolist() and ours[0, 9] == eos  # ended, eos included
    assert ours[0, 10:].eq(255).all()  # then padding (transformers pads beams with eos here)
    assert torch.equal(ours[1], expected[1])


# ---- the logits transformations, on distributions made by hand ----------------------------


def kept(logits):
    return set(torch.nonzero(logits[0] > float("-inf")).flatten().tolist())


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]])
    assert kept(top_k_filter(logits, 2)) == {1, 3}
    assert kept(top_k_filter(logits, 3)) == {1, 2, 3}
    assert kept(top_k_filter(logits, 1)) == {1}
    assert kept(top_k_filter(logits, 0)) == kept(top_k_filter(logits, 9)) == {0, 1, 2, 3, 4}
    rows = top_k_filter(torch.tensor([[1.0, 5.0, 3.0], [9.0, 0.0, 8.0]]), 2)  # each row its own top 2
    assert torch.isinf(rows).tolist() == [[True, False, False], [False, True, False]]
    assert torch.equal(top_k_filter(logits, 2)[0, [1, 3]], logits[0, [1, 3]])  # kept logits unchanged


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.3, {2}),
        (0.5, {2}),
        (0.51, {2, 0}),
        (0.75, {2, 0}),
        (0.76, {2, 0, 4}),
        (0.875, {2, 0, 4}),
        (0.9, {2, 0, 4, 3}),
        (0.9375, {2, 0, 4, 3}),
        (1.0, {0, 1, 2, 3, 4, 5}),
    ],
)
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    # probabilities 1/2, 1/4, 1/8, 1/16, 1/32, 1/32 (exact in binary), shuffled; cumulative
    # 0.5, 0.75, 0.875, 0.9375, ... so p = 0.5 needs one token, p = 0.51 two, p = 0.9 four
    probs = torch.tensor([[1 / 4, 1 / 32, 1 / 2, 1 / 16, 1 / 8, 1 / 32]])
    assert kept(top_p_filter(probs.log(), p)) == expected


def test_top_p_on_the_source_notes_example():
    """The notes' example: [0.4, 0.3, 0.15, 0.1, 0.03, 0.02], p = 0.9 keeps four tokens
    (0.4+0.3+0.15 = 0.85 < 0.9), renormalized to about [0.42, 0.32, 0.16, 0.11]; p = 0.5 keeps two."""
    probs = torch.tensor([[0.4, 0.3, 0.15, 0.1, 0.03, 0.02]])
    filtered = top_p_filter(probs.log(), 0.9)
    assert kept(filtered) == {0, 1, 2, 3}
    torch.testing.assert_close(softmax(filtered)[0, :4], torch.tensor([0.4, 0.3, 0.15, 0.1]) / 0.95)
    assert kept(top_p_filter(probs.log(), 0.5)) == {0, 1}


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = torch.tensor([[2.0, -2.0, 1.0, -1.0]])
    seen = torch.tensor([[True, True, False, False]])
    assert apply_repetition_penalty(logits, seen, 2.0).tolist() == [[1.0, -4.0, 1.0, -1.0]]
    assert apply_repetition_penalty(logits, seen, 1.0) is logits


def test_temperature_to_zero_becomes_argmax():
    logits = torch.tensor([[1.0, 3.0, 2.9, -1.0]])
    top = [softmax(apply_temperature(logits, t))[0, 1].item() for t in (1.0, 0.1, 0.01, 0.001)]
    assert top == sorted(top) and top[-1] == pytest.approx(1.0, abs=1e-12)
    assert softmax(apply_temperature(logits, 100.0)).std() < 0.01  # T -> infinity: uniform


def test_tiny_temperature_samples_the_greedy_text(model):
    greedy = generate(model, [1, 2, 3], 60)
    assert generate(model, [1, 2, 3], 60, temperature=1e-6, seed=0) == greedy
    assert generate(model, [1, 2, 3], 60, temperature=1e-6, top_k=5, top_p=0.5, seed=1) == greedy


def test_entropy_and_rank():
    assert entropy(torch.full((8,), 1 / 8)).item() == pytest.approx(3.0)
    assert entropy(torch.tensor([0.0, 1.0, 0.0])).item() == pytest.approx(0.0)
    logits = torch.tensor([[0.5, 2.0, -1.0, 1.0]])
    assert token_rank(logits, torch.tensor([1])).item() == 1
    assert token_rank(logits, torch.tensor([3])).item() == 2
    assert token_rank(logits, torch.tensor([2])).item() == 4


def test_explain_shows_each_stage_and_does_not_change_the_tokens(model):
    args = dict(temperature=0.7, top_k=20, top_p=0.9, repetition_penalty=1.2, seed=3)
    plain = [s.token for s in stream(model, [4, 5, 6], 25, **args)]
    explained = list(stream(model, [4, 5, 6], 25, explain=True, **args))
    assert [s.token for s in explained] == plain
    step = explained[0]
    assert list(step.probs) == ["model", "repetition_penalty", "temperature", "top_k", "top_p"]
    for probs in step.probs.values():
        assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert (step.probs["top_k"] > 0).sum().item() == 20
    assert (step.probs["top_p"] > 0).sum().item() <= 20
    assert step.prob.item() == pytest.approx(step.probs["top_p"][0, step.token].item())
    assert step.rank.item() == token_rank(step.logits, step.tokens).item()
    greedy = list(stream(model, [4, 5, 6], 10, explain=True))
    assert all(s.rank.item() == 1 and s.prob.item() == 1.0 for s in greedy)
    assert list(greedy[0].probs) == ["model", "greedy"]


# ---- beam search --------------------------------------------------------------------------


class TableModel(nn.Module):
    """A language model given as a table: next-token probabilities depend on the last token.
    It speaks the MiniGPT forward protocol (cache included), so the real sampler runs on it."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        v = table.shape[0]
        self.config = ModelConfig(vocab_size=v, hidden_size=8, num_layers=1, num_heads=1, max_seq_len=32)
        self.logits = nn.Parameter(table.clamp_min(1e-9).log(), requires_grad=False)

    @property
    def device(self):
        return self.logits.device

    def forward(
        self, input_ids, attention_mask=None, position_ids=None, kv_cache=None, cache_position=None, logits_to_keep=0
    ):
        if kv_cache is not None:
            kv_cache.advance(input_ids.shape[1])
        logits = self.logits[input_ids]
        return type("Out", (), {"logits": logits[:, -logits_to_keep:] if logits_to_keep else logits})


def notes_example():
    """Source notes, Q12: after "今天天气": 很 0.4, 非常 0.35, 特别 0.25; after 很: 好 0.5,
    不错 0.3, 糟糕 0.2; after 非常: 棒 0.6, 好 0.3, 舒适 0.1. Greedy says 很好 (0.4 x 0.5 = 0.20),
    the best pair is 非常棒 (0.35 x 0.6 = 0.21). Then end of text (id 0)."""
    words = ["<eos>", "今天天气", "很", "非常", "特别", "好", "不错", "糟糕", "棒", "舒适"]
    w = {s: i for i, s in enumerate(words)}
    table = torch.zeros(len(words), len(words))
    for prev, nxt in {
        "今天天气": {"很": 0.4, "非常": 0.35, "特别": 0.25},
        "很": {"好": 0.5, "不错": 0.3, "糟糕": 0.2},
        "非常": {"棒": 0.6, "好": 0.3, "舒适": 0.1},
        "特别": {"好": 0.5, "棒": 0.5},
    }.items():
        for word, p in nxt.items():
            table[w[prev], w[word]] = p
    table[[0, 5, 6, 7, 8, 9], 0] = 1.0  # after an adjective (or eos): end of text
    return TableModel(table), w


def test_beam_search_finds_the_more_probable_sentence_greedy_misses():
    model, w = notes_example()
    prompt = [w["今天天气"]]
    greedy = generate(model, prompt, 3, eos_token_id=0)[1:]
    assert greedy == [w["很"], w["好"], 0]
    best = beam_search(model, prompt, 3, num_beams=2, eos_token_id=0)[0][0]
    assert best.tokens == [w["非常"], w["棒"], 0]
    assert best.logprob == pytest.approx(math.log(0.21), abs=1e-6)
    assert sequence_logprob(model, prompt, greedy) == pytest.approx(math.log(0.20), abs=1e-6)
    assert generate(model, prompt, 3, num_beams=2, eos_token_id=0)[1:] == best.tokens


def test_beam_search_keeps_other_beams_going_after_one_ends():
    """After P: A 0.5, <eos> 0.3, B 0.2; after A: C 0.3 and four others; after B and C: <eos>.
    "<eos>" ends at once (0.3); the beam must still continue B, whose "B <eos>" (0.2 over two
    tokens) wins per token with length_penalty=1 (log 0.2 / 2 > log 0.3 / 1) but loses with 0.
    Width 1 is greedy: an <eos> ranked second must not end it."""
    table = torch.zeros(9, 9)
    table[1, [2, 0, 3]] = torch.tensor([0.5, 0.3, 0.2])
    table[2, 4:9] = torch.tensor([0.3, 0.2, 0.2, 0.15, 0.15])
    table[[0, 3, 4, 5, 6, 7, 8], 0] = 1.0
    model = TableModel(table)
    assert beam_search(model, [1], 5, num_beams=2, eos_token_id=0)[0][0].tokens == [3, 0]
    assert beam_search(model, [1], 5, num_beams=2, eos_token_id=0, length_penalty=0.0)[0][0].tokens == [0]
    assert generate(model, [1], 5, eos_token_id=0) == [1, 2, 4, 0]
    assert beam_search(model, [1], 5, num_beams=1, eos_token_id=0)[0][0].tokens == [2, 4, 0]


@pytest.mark.parametrize("use_cache", [True, False], ids=["cached", "uncached"])
def test_beam_width_one_is_greedy(model, use_cache):
    prompts = [[1, 2, 3], [40, 41, 42, 43, 44, 45]]
    greedy = generate(model, prompts, 30)
    assert generate(model, prompts, 30, num_beams=1, use_cache=use_cache) == greedy
    hyps = beam_search(model, prompts, 30, num_beams=1, use_cache=use_cache)
    assert [p + h[0].tokens for p, h in zip(prompts, hyps, strict=True)] == greedy
    eos = greedy[0][3 + 10]  # a token greedy emits: both must stop right there
    with_eos = generate(model, prompts[0], 30, eos_token_id=eos)
    assert with_eos[-1] == eos and len(with_eos) <= 3 + 11
    assert generate(model, prompts[0], 30, eos_token_id=eos, num_beams=1, use_cache=use_cache) == with_eos
    assert beam_search(model, prompts[0], 30, 1, eos_token_id=eos, use_cache=use_cache)[0][0].tokens == with_eos[3:]


def test_beam_scores_are_the_sequences_log_probabilities(model):
    for h in beam_search(model, [9, 8, 7], 8, num_beams=4)[0]:
        assert h.logprob == pytest.approx(sequence_logprob(model, [9, 8, 7], h.tokens), abs=1e-4)
        assert h.score == pytest.approx(h.logprob / len(h.tokens))


# ---- sampling, stopping, streaming ----------------------------------------------------------


def test_seeded_sampling_is_reproducible(model):
    args = dict(temperature=1.0, top_k=50, top_p=0.95)
    a = generate(model, [[1, 2], [3, 4, 5]], 30, seed=42, **args)
    assert a == generate(model, [[1, 2], [3, 4, 5]], 30, seed=42, **args)
    assert a != generate(model, [[1, 2], [3, 4, 5]], 30, seed=43, **args)
    assert a == generate(model, [[1, 2], [3, 4, 5]], 30, generator=torch.Generator().manual_seed(42), **args)
    assert a != generate(model, [[1, 2], [3, 4, 5]], 30, **args)  # unseeded: global RNG


def test_sampling_follows_the_filtered_distribution():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]]).expand(4000, 4)
    tokens = choose_next(logits, temperature=1.0, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(tokens.tolist()) == {2, 3}
    share = (tokens == 3).float().mean().item()  # e^3 / (e^2 + e^3) = 0.731
    assert share == pytest.approx(math.e / (1 + math.e), abs=0.03)


def test_repetition_penalty_stops_repeats_and_ignores_padding(model):
    alone = generate(model, [1, 2, 3], 30, repetition_penalty=1000.0)
    assert len(set(alone)) == len(alone)  # no token twice, prompt included
    pad = alone[3]  # pad with the very token the row picks first: if pads counted as seen, it would not
    ids = torch.tensor([[pad] * 5 + [1, 2, 3], list(range(10, 18))])
    mask = torch.tensor([[0] * 5 + [1] * 3, [1] * 8])
    batch = generate(model, ids, 30, attention_mask=mask, repetition_penalty=1000.0, eos_token_id=[])
    assert batch[0, 5:].tolist() == alone


def test_eos_ends_each_row_on_its_own(model):
    prompts = [[1, 2, 3], [50, 60]]
    free = generate(model, prompts, 30, eos_token_id=[])
    eos = free[0][3 + 5]  # row 0 emits it at its 6th new token
    assert eos not in free[1][2:]
    stopped = generate(model, prompts, 30, eos_token_id=eos)
    assert stopped[0] == free[0][: 3 + 6]  # eos kept, as in transformers
    assert stopped[1] == free[1]  # row 1 never emits it
    as_tensor = generate(model, torch.tensor([[1, 2, 3]]), 30, eos_token_id=eos, pad_token_id=255)
    assert as_tensor.shape == (1, 3 + 6)  # all rows done: stop early
    both = generate(
        model,
        torch.tensor([[1, 2, 3], [0, 50, 60]]),
        30,
        attention_mask=torch.tensor([[1, 1, 1], [0, 1, 1]]),
        eos_token_id=eos,
        pad_token_id=255,
    )
    assert both[0, 3 + 6 :].eq(255).all() and both[0, : 3 + 6].tolist() == free[0][: 3 + 6]


def test_tensor_input_with_mask_equals_ragged_lists(model):
    lists = generate(model, [[5, 6, 7], [8]], 10)
    tensor = generate(
        model, torch.tensor([[5, 6, 7], [0, 0, 8]]), 10, attention_mask=torch.tensor([[1, 1, 1], [0, 0, 1]])
    )
    assert tensor[0].tolist() == lists[0] and tensor[1, 2:].tolist() == lists[1]
    assert generate(model, torch.tensor([5, 6, 7]), 10).tolist() == lists[0]  # 1-D in, 1-D out


def test_stream_is_lazy(model):
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    try:
        steps = stream(model, [1, 2, 3], 50)
        assert calls == []  # nothing runs before the first next()
        first = next(steps)
        assert len(calls) == 1 and first.index == 0  # the prefill gave the first token
        next(steps)
        assert len(calls) == 2
    finally:
        handle.remove()


class ByteTokenizer:
    """ids 0..255 are bytes, 256 is end of text; with or without token_bytes."""

    vocab_size, eos_id, pad_id = 257, 256, 256

    def __init__(self, exact=True):
        if exact:
            self.token_bytes = lambda i: bytes([i]) if i < 256 else b""

    def encode(self, text):
        return list(text.encode("utf-8"))

    def decode(self, ids):
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


@pytest.mark.parametrize("exact", [True, False], ids=["token_bytes", "decode"])
def test_text_stream_never_splits_a_character(exact):
    text = "ab你好, 世界!\n"
    ts = TextStream(ByteTokenizer(exact), skip_ids=[256])
    pieces = [ts.push(b) for b in text.encode("utf-8")] + [ts.push(256), ts.flush()]
    assert "".join(pieces) == text
    assert pieces[2:5] == ["", "", "你"]  # 3 bytes: nothing until the character is whole


@pytest.mark.parametrize("exact", [True, False], ids=["token_bytes", "decode"])
def test_stop_strings_are_found_across_token_boundaries(exact):
    tok = ByteTokenizer(exact)
    streams = TextStreams(tok, 2, stop_strings=["\n\n", "停下"], skip_ids=[256])
    rows = ["hi\nthere\n\nmore", "走停下来"]
    ids = [tok.encode(r) for r in rows]
    stopped_at = [None, None]
    for i in range(max(map(len, ids))):
        tokens = [r[i] if i < len(r) else 256 for r in ids]
        _, stopped = streams.push(tokens, [s is not None for s in stopped_at], [False, False], last=False)
        for row, hit in enumerate(stopped):
            if hit and stopped_at[row] is None:
                stopped_at[row] = i
    assert stopped_at[0] == rows[0].encode().index(b"\n\n") + 1  # at the second newline
    assert stopped_at[1] == len("走停下".encode()) - 1  # at the last byte of 下


def test_generate_stops_at_a_stop_string():
    model, tok = varied_model(vocab_size=257), ByteTokenizer()
    steps = list(stream(model, [104, 105], 60, tokenizer=tok, eos_token_id=[]))
    texts = list(itertools.accumulate(s.text[0] for s in steps))  # the text after each step
    stop = texts[-1][len(texts[-1]) // 2 :][:2]
    first = next(i for i, t in enumerate(texts) if stop in t)
    out = generate(model, [104, 105], 60, tokenizer=tok, eos_token_id=[], stop_strings=[stop])
    assert out == [104, 105] + [s.token for s in steps[: first + 1]]  # up to the token completing it


def test_stream_text_with_a_real_tokenizer(tmp_path):
    from minigpt.tokenizer import Tokenizer

    text = ["The cat sat on the mat. 小猫坐在垫子上。", "A dog ran in the park. 小狗在公园里跑。"] * 20
    tok = Tokenizer.train(text, vocab_size=300)
    model = varied_model(vocab_size=tok.vocab_size)
    pieces = list(stream_text(model, tok, "The cat", 60, eos_token_id=[]))
    ids = generate(model, tok.encode("The cat"), 60, eos_token_id=[])
    assert "".join(pieces) == tok.decode(ids[len(tok.encode("The cat")) :])


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    [[], [[]], [[1, 2], []], torch.empty(1, 0, dtype=torch.long)],
    ids=["list", "list-of-empty", "one-row-empty", "tensor"],
)
def test_empty_prompt_is_an_error(model, prompt):
    with pytest.raises(ValueError, match="empty"):
        generate(model, prompt, 5)


def test_a_prompt_that_leaves_less_room_gets_what_fits_with_a_warning(model):
    """Context 256: a 200-token prompt leaves room for 56 of the 100 new tokens asked for. Before,
    the command line clipped silently (a 506-token prompt gave 6 of 200 tokens and no note)."""
    prompt = list(range(200))
    with pytest.warns(UserWarning) as record:
        out = generate(model, prompt, 100, eos_token_id=[])
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller's line
    message = str(record[0].message)
    assert "200 tokens" in message and "context is 256" in message
    assert "only 56 new tokens fit, not the 100 asked for" in message and "last 156 prompt tokens" in message
    assert out == generate(model, prompt, 56, eos_token_id=[])  # exactly fits: no warning
    with pytest.warns(UserWarning, match="only 1 new token fit"):
        assert len(list(stream(model, list(range(255)), 5))) == 1
    with pytest.raises(ValueError, match="fills the model's context of 256 tokens"):
        generate(model, list(range(256)), 5)


def test_no_warning_when_everything_fits(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate(model, list(range(200)), 56, eos_token_id=[])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(temperature=-0.5), "temperature must be >= 0"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
        (dict(top_k=-1), "top_k must be an integer >= 0"),
        (dict(top_k=2.5), "top_k must be an integer"),
        (dict(repetition_penalty=0.0), "repetition_penalty"),
        (dict(num_beams=0), "num_beams"),
        (dict(num_beams=2, temperature=0.8), "deterministic"),
        (dict(stop_strings=["x"]), "tokenizer"),
        (dict(seed=1, generator=torch.Generator()), "seed or generator"),
    ],
)
def test_bad_settings_are_errors(model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(model, [1, 2, 3], 5, **kwargs)


def test_bad_ids_and_masks_are_errors(model):
    with pytest.raises(ValueError, match=r"0\.\.255"):
        generate(model, [1, 256], 5)
    with pytest.raises(ValueError, match="pad on the left"):
        generate(model, torch.tensor([[1, 2, 0]]), 5, attention_mask=torch.tensor([[1, 1, 0]]))
    with pytest.raises(ValueError, match="max_new_tokens must be a positive integer"):
        generate(model, [1], 0)


def test_tokenizer_that_does_not_match_the_model_is_an_error(model):
    class Big(ByteTokenizer):
        vocab_size = 5000

    with pytest.raises(ValueError, match="5000 ids but the model's vocab_size is 256"):
        generate(model, [1, 2], 5, tokenizer=Big())
    with pytest.raises(ValueError, match="5000"):
        list(stream_text(model, Big(), "hi", 5))


# ---- command line -------------------------------------------------------------------------


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--prompt", "--temperature", "--top-p", "--model", "--tokenizer", "--seed", "--explain"):
        assert flag in out


def test_cli_without_the_course_model_says_what_to_pass(capsys):
    if importlib.util.find_spec("minigpt.course") is not None:
        pytest.skip("the course model ships in this checkout")
    with pytest.raises(SystemExit) as e:
        main(["--prompt", "hi"])
    assert e.value.code == 2 and "--model" in capsys.readouterr().err


def test_cli_streams_text_from_a_model_folder(tmp_path, capsys):
    from minigpt.tokenizer import Tokenizer

    tok = Tokenizer.train(["hello world, hello there"] * 10, vocab_size=270)
    model = varied_model(vocab_size=tok.vocab_size)
    model.save_pretrained(tmp_path)
    tok.save(tmp_path / "tokenizer.json")
    assert main(["--model", str(tmp_path), "--prompt", "hello", "--max-new-tokens", "20", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("hello")
    assert main(["--model", str(tmp_path), "--prompt", "hello", "--max-new-tokens", "5", "--explain"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 5


def test_ids_beyond_the_tokenizer_are_never_chosen():
    """A model may have more vocabulary rows than the tokenizer has ids (Qwen2.5 pads 151,665 ids
    to 151,936 rows); with the tokenizer given, those rows are never sampled."""
    model, tok = varied_model(vocab_size=400), ByteTokenizer()
    free = generate(model, [1, 2, 3], 60, eos_token_id=[])
    assert max(free) >= 257  # without the tokenizer the model does pick such ids
    for args in (dict(), dict(temperature=1.5, seed=0), dict(repetition_penalty=1.3)):
        out = generate(model, [1, 2, 3], 60, eos_token_id=[], tokenizer=tok, **args)
        assert max(out) < 257


# ---- silent wrong answers, now said out loud ---------------------------------------------------


def test_right_padding_without_a_mask_is_warned_about(model):
    """Right-padded rows continue after their pads, not after their text (transformers warns too).
    Pad id 0 (no eos, no tokenizer)."""
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    with pytest.warns(UserWarning, match=r"rows \[1\] end with more pad ids \(0\).*continues after its pads.*left"):
        generate(model, ids, 3)
    with pytest.warns(UserWarning, match=r"rows \[1\] start with more pad ids"):
        generate(model, torch.tensor([[5, 6, 7, 8], [0, 0, 9, 10]]), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same rows padded on the left with their mask: nothing to say
        generate(
            model, torch.tensor([[5, 6, 7, 8], [0, 0, 9, 10]]), 3, attention_mask=torch.tensor([[1] * 4, [0, 0, 1, 1]])
        )


def dropout_model():
    config = ModelConfig.from_preset("tiny", dropout=0.5, max_seq_len=64)
    return randomize(MiniGPT(config), std=0.3).train()  # as a model is right after Trainer.train()


@pytest.mark.parametrize("entry", ["generate", "stream", "beam", "sequence_logprob"])
def test_generation_runs_in_eval_mode_and_puts_the_mode_back(entry):
    """Right after training a model is in train mode; with dropout on, two greedy calls used to
    differ. Generation now runs without dropout, and each module gets its own mode back."""
    model = dropout_model()
    model.lm_head.eval()  # a module the user set apart keeps its own mode
    runs = {
        "generate": lambda: generate(model, [1, 2, 3], 12, eos_token_id=[]),
        "stream": lambda: [s.token for s in stream(model, [1, 2, 3], 12, eos_token_id=[])],
        "beam": lambda: beam_search(model, [1, 2, 3], 6, num_beams=2, eos_token_id=[])[0][0].tokens,
        "sequence_logprob": lambda: sequence_logprob(model, [1, 2, 3], [4, 5, 6]),
    }
    first, second = runs[entry](), runs[entry]()
    assert first == second
    assert model.training and model.model.layers[0].self_attn.training and not model.lm_head.training
    model.eval()
    assert runs[entry]() == first  # the eval-mode answer


def test_do_sample_says_that_sampling_is_a_temperature(model):
    with pytest.raises(TypeError, match=r"'do_sample'\. Sampling here is temperature > 0") as e:
        generate(model, [1, 2, 3], 5, do_sample=True)
    assert "compile" not in str(e.value).split("The settings are")[0]  # no "Did you mean 'compile'?"
    with pytest.raises(TypeError, match="max_new_tokens"):
        generate(model, [1, 2, 3], max_length=20)


def test_a_seed_past_64_bits_is_a_clear_error(model):
    with pytest.raises(ValueError, match=r"seed must be below 2\*\*64"):
        generate(model, [1, 2, 3], 5, temperature=1.0, seed=2**64)
    generate(model, [1, 2, 3], 5, temperature=1.0, seed=2**64 - 1)  # the largest one works


def test_a_mask_of_the_wrong_shape_is_a_clear_error(model):
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 4\) but input_ids \(2, 3\)"):
        generate(model, ids, 5, attention_mask=torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(6,\)"):
        generate(model, ids, 5, attention_mask=torch.ones(6, dtype=torch.long))


@pytest.mark.parametrize(
    "setting",
    [
        dict(top_k=5),
        dict(top_p=0.9),
        dict(temperature=0.8),
        dict(repetition_penalty=1.3),
        dict(stop_strings=["x"]),
        dict(compile=True),
    ],
    ids=lambda s: next(iter(s)),
)
def test_beam_search_refuses_what_it_does_not_do(model, setting):
    """Before, top_k and top_p were dropped without a word under num_beams > 1."""
    name = next(iter(setting))
    for run in (
        lambda: generate(model, [1, 2, 3], 5, num_beams=2, **setting),
        lambda: beam_search(model, [1, 2, 3], 5, num_beams=2, **setting),
    ):
        with pytest.raises(ValueError, match=rf"Beam search \(num_beams=2\).*does not do: {name}="):
            run()


def test_check_beam_search_names_every_conflict_and_explain():
    """What the command line calls with its --explain flag: one error that lists them all."""
    from minigpt.generation_config import GenerationConfig

    config = GenerationConfig(num_beams=3)
    config.check_beam_search()  # nothing to refuse
    with pytest.raises(ValueError, match=r"explain=True \(use False; explaining is for sampling"):
        config.check_beam_search(explain=True)
    with pytest.raises(ValueError, match=r"top_k=5 .*; top_p=0\.9 .*; repetition_penalty=1\.2"):
        GenerationConfig(num_beams=3, top_k=5, top_p=0.9, repetition_penalty=1.2)
