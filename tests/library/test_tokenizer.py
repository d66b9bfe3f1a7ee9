"""Byte-level BPE tokenizer: exact round trip, transformers compatibility, readable tokens."""

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from minigpt.data import make_course_corpus
from minigpt.tokenizer import EOS, IM_END, IM_START, Tokenizer

SAMPLES = [
    "Hello, I'm Susan. Once again, my name is Susan.",
    "大家好，我是小红。我住在上海。再说一遍，我叫小红。",
    "Count: 17, 18, 19, 20.\n\n  indented line\twith tab\r\n",
    "emoji 🙂 and rare 𠀀 and accents: café, naïve",
    f"doc one{EOS}doc two{IM_START}user\nhi{IM_END}\n",
    "   leading and trailing spaces   ",
    "",
]


@pytest.fixture(scope="module")
def corpus():
    return make_course_corpus(300_000, seed=0)


@pytest.fixture(scope="module")
def tok(corpus):
    return Tokenizer.train(corpus.docs, vocab_size=1024)


def test_special_tokens_have_fixed_ids_and_encode_as_one_token(tok):
    assert (tok.eos_id, tok.im_start_id, tok.im_end_id) == (0, 1, 2)
    assert tok.encode(EOS) == [0]
    assert tok.encode(f"a{IM_START}b{IM_END}") == tok.encode("a") + [1] + tok.encode("b") + [2]
    assert tok.vocab_size == 1024 == len(tok)


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip_samples(tok, text):
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_round_trip_any_unicode(tok, text):
    # Cs (lone surrogates) are not Unicode scalar values and cannot be UTF-8 encoded at all.
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from([EOS, IM_START, IM_END])), max_size=8))
def test_round_trip_with_special_tokens_mixed_in(tok, parts):
    parts = ["".join(c for c in p if not 0xD800 <= ord(c) <= 0xDFFF) for p in parts]
    text = "".join(parts)
    assert tok.decode(tok.encode(text)) == text


def test_lone_surrogate_is_a_clear_error(tok):
    with pytest.raises(ValueError, match="valid Unicode"):
        tok.encode("a\ud800b")


def test_encode_batch_equals_encode(tok, corpus):
    docs = corpus.docs[:50] + SAMPLES
    assert tok.encode_batch(docs) == [tok.encode(d) for d in docs]


def test_save_load_and_transformers_encode_identically(tok, corpus, tmp_path):
    transformers = pytest.importorskip("transformers")
    path = tok.save(tmp_path / "tokenizer.json")
    again = Tokenizer.from_file(path)
    assert again.sha256 == tok.sha256
    hf = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
    for text in corpus.docs[:100] + SAMPLES:
        ids = tok.encode(text)
        assert again.encode(text) == ids
        assert hf.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids, clean_up_tokenization_spaces=False) == text
    assert Tokenizer.from_file(tmp_path).sha256 == tok.sha256  # a folder works too


def test_save_pretrained_loads_with_autotokenizer(tok, tmp_path):
    transformers = pytest.importorskip("transformers")
    tok.save_pretrained(tmp_path)
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert hf.eos_token_id == tok.eos_id
    for text in SAMPLES:
        assert hf.encode(text, add_special_tokens=False) == tok.encode(text)
    chat = hf.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert chat == f"{IM_START}user\nhi{IM_END}\n{IM_START}assistant\n"


def test_training_is_deterministic(corpus):
    a = Tokenizer.train(corpus.docs[:2000], vocab_size=600)
    b = Tokenizer.train(corpus.docs[:2000], vocab_size=600)
    assert a.sha256 == b.sha256


def test_tokens_are_readable_and_join_back_to_the_text(tok):
    text = "大家好，我是小红。Hello, I'm Susan."
    pieces = tok.tokens(text)
    assert "".join(pieces) == text
    assert "小" in "".join(pieces) and not any("ä" in p or "Ġ" in p for p in pieces)
    assert b"".join(tok.token_bytes(i) for i in tok.encode(text)) == text.encode("utf-8")
    for i in tok.encode(text):
        assert tok.token_to_id(tok.id_to_token(i)) == i


def test_partial_utf8_bytes_are_shown_as_hex(tok):
    # U+20000 never occurs in the corpus, so it stays as its 4 raw bytes F0 A0 80 80.
    expected = [f"<0x{b:02X}>" for b in "𠀀".encode()]
    assert tok.tokens("𠀀") == expected
    assert tok.id_to_token(tok.eos_id) == EOS


def test_split_cjk_keeps_chinese_merges_inside_one_character(corpus):
    han = re.compile(r"[\u4e00-\u9fff]")
    docs = corpus.docs[:3000]

    def max_han_per_token(t):
        return max(len(han.findall(t.id_to_token(i))) for i in range(t.vocab_size))

    assert max_han_per_token(Tokenizer.train(docs, 800, split_cjk=True)) == 1
    # Without the split, BPE glues template words together ("我是", "小红", ...).
    assert max_han_per_token(Tokenizer.train(docs, 800, split_cjk=False)) >= 2


@pytest.mark.parametrize("bad", [100, 258, 0, "4096"])
def test_vocab_too_small_is_a_clear_error(corpus, bad):
    with pytest.raises(ValueError, match=r"256 byte tokens.*259"):
        Tokenizer.train(corpus.docs[:10], vocab_size=bad)


def test_smallest_vocab_works():
    t = Tokenizer.train(["abc abc"], vocab_size=259)
    assert t.vocab_size == 259
    assert t.decode(t.encode("你好 abc")) == "你好 abc"


def test_empty_training_text_is_an_error():
    with pytest.raises(ValueError, match="no text"):
        Tokenizer.train([], vocab_size=300)


def test_missing_tokenizer_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No tokenizer file"):
        Tokenizer.from_file(tmp_path / "nope.json")


def test_out_of_range_ids_are_errors(tok):
    with pytest.raises(ValueError, match="outside"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="outside"):
        tok.id_to_token(tok.vocab_size + 5)


def test_a_byte_order_mark_is_read_past(tok, tmp_path):
    """Some Windows editors save UTF-8 with a byte-order mark; it is not part of the JSON."""
    path = tok.save(tmp_path / "tokenizer.json")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert Tokenizer.from_file(path).sha256 == tok.sha256


def test_batch_decode_decodes_each_row_and_decode_takes_one(tok):
    rows = [tok.encode("Susan has three apples."), tok.encode("你好")]
    width = max(map(len, rows))
    batch = torch.tensor([r + [tok.eos_id] * (width - len(r)) for r in rows])  # generate's 2-D output
    texts = tok.batch_decode(batch)
    assert texts == [tok.decode(batch[0]), tok.decode(batch[1])]
    assert texts[0].startswith("Susan has three apples.") and texts[1].startswith("你好")
    assert tok.decode(torch.tensor(rows[1][0])) == tok.decode(rows[1][:1])  # a 0-d tensor is one id
    with pytest.raises(ValueError, match="batch_decode"):
        tok.decode(batch)
