"""Course corpus, probes, token files and datasets: checked against independent computations."""

import calendar
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from minigpt.data import (
    CORPUS_VERSION,
    IGNORE_INDEX,
    ExampleDataset,
    PackedDataset,
    PadCollate,
    ResumableSampler,
    SFTDataset,
    chat_example,
    chat_prompt_ids,
    course_probes,
    encode_documents,
    evaluate_probes,
    iter_texts,
    load_tokens,
    make_course_corpus,
    probe_ids,
    probe_passes,
    prompt_answer_example,
    save_tokens,
    shift,
    token_dtype,
    tokenize_files,
)
from minigpt.tokenizer import EOS, IM_END, IM_START, Tokenizer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus():
    return make_course_corpus(2_000_000, seed=0)


@pytest.fixture(scope="module")
def small():
    return make_course_corpus(200_000, seed=0)


@pytest.fixture(scope="module")
def tok(small):
    return Tokenizer.train(small.docs, vocab_size=800)


@pytest.fixture(scope="module")
def probes():
    return course_probes(n=40)


# ---- the course corpus -----------------------------------------------------------------------


def test_corpus_is_deterministic_and_hash_is_sha256_of_the_bytes(small):
    again = make_course_corpus(200_000, seed=0)
    assert again.text == small.text
    assert small.sha256 == hashlib.sha256(small.text.encode("utf-8")).hexdigest()
    assert make_course_corpus(200_000, seed=1).sha256 != small.sha256
    assert small.version == CORPUS_VERSION


def test_corpus_hash_does_not_depend_on_python_hash_seed(small):
    # Python randomizes str hashing per process; a generator that used hash() or set order
    # would give another corpus in a process with another PYTHONHASHSEED.
    code = "from minigpt.data import make_course_corpus; print(make_course_corpus(200_000, seed=0).sha256)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == small.sha256


def test_corpus_size_and_stream_format(small):
    data = small.text.encode("utf-8")
    longest = max(len(d.encode("utf-8")) for d in small.docs) + len(EOS)
    assert 200_000 <= len(data) < 200_000 + longest
    assert small.text.startswith(EOS) and small.text.endswith(EOS)
    assert small.text.split(EOS)[1:-1] == small.docs
    assert all(d and EOS not in d for d in small.docs)
    langs = {"zh" if re.search(r"[\u4e00-\u9fff]", d) else "en" for d in small.docs}
    assert langs == {"en", "zh"}
    assert set(small.kinds) == {"name", "dialogue", "count", "arith", "fact", "copy"}


def test_corpus_save_writes_bytes_and_sidecar(small, tmp_path):
    path = small.save(tmp_path / "course.txt")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == small.sha256
    info = json.loads(Path(str(path) + ".json").read_text())
    assert info["sha256"] == small.sha256 and info["version"] == CORPUS_VERSION
    assert info["documents"] == len(small.docs) and sum(info["documents_by_kind"].values()) == len(small.docs)


@pytest.mark.parametrize("bad", [0, -5, 1.5])
def test_corpus_size_must_be_positive(bad):
    with pytest.raises(ValueError, match="size_bytes"):
        make_course_corpus(bad)


# ---- probes ----------------------------------------------------------------------------------


def test_every_probe_kind_exists_in_both_languages(probes):
    got = {(p.kind, p.lang) for p in probes}
    kinds = ("name", "dialogue", "count", "arith_answer", "arith_steps", "fact", "copy")
    assert got == {(k, lang) for k in kinds for lang in ("en", "zh")}
    assert all(p.answer and p.prompt and not p.prompt.endswith(" ") for p in probes)


def test_probe_prompts_never_start_a_training_document(corpus, probes):
    for p in probes:
        if p.kind != "fact":
            assert EOS + p.prompt not in corpus.text, p


_OWN = {
    "en": (
        r"(?:I live in|My home is in|I come from) ([A-Z][a-z]+(?: [A-Z][a-z]+)?)\.",
        r"(?:I like|My favourite hobby is|In my free time I enjoy) ([a-z]+)\.",
    ),
    "zh": (r"(?:我住在|我的家在|我来自)(.+?)。", r"(?:^|。)(?:我喜欢|我最爱|空闲的时候我喜欢)(.+?)。"),
}


def _speaker(text, lang):
    """(name, own city, own hobby) of a self-introduction, read with regexes, not the generator."""
    name = re.search(r"(?:I'm|I am|my name is|我是|我叫) ?([^\s.。！，]+)", text).group(1)
    city, hobby = (re.search(rx, text).group(1) for rx in _OWN[lang])
    return name, city, hobby


def test_name_probes_are_new_name_city_hobby_combinations(corpus, probes):
    seen = {}
    for d, k in zip(corpus.docs, corpus.kinds, strict=False):
        if k == "name":
            lang = "zh" if re.search(r"[\u4e00-\u9fff]", d) else "en"
            seen.setdefault(_speaker(d, lang), 0)
            seen[_speaker(d, lang)] += 1
    assert len(seen) > 1000
    for p in (p for p in probes if p.kind == "name"):
        key = _speaker(p.prompt, p.lang)
        assert key[0] == p.answer.strip()
        assert key not in seen, p.prompt
        # ...while the name itself, and the name with that city, are common in training
        assert sum(n for s, n in seen.items() if s[0] == key[0]) > 20


_EN_OPS = {"buys": "+", "finds": "+", "gets": "+", "gives away": "-", "loses": "-", "gives": "-"}
_ZH_OPS = {"买了": "+", "找到了": "+", "得到": "+", "送出了": "-", "丢了": "-", "给了朋友": "-"}


def _parse_problem(doc):
    """(a, op, b, op, c) read back from a word problem's story, independently of the generator."""
    story = re.split(r" Answer:| Steps:|答：|步骤：", doc)[0]
    nums = [int(x) for x in re.findall(r"\d+", story)]
    table = _EN_OPS if re.match(r"[A-Za-z]", story) else _ZH_OPS
    words = "|".join(sorted(map(re.escape, table), key=len, reverse=True))
    ops = [table[w] for w in re.findall(rf"({words}) ?(?=\d)", story)]
    out = [nums[0]]
    for op, x in zip(ops, nums[1:], strict=False):
        out += [op, x]
    return tuple(out)


def test_arithmetic_probes_are_unseen_problems_with_correct_answers(corpus, probes):
    seen = {
        _parse_problem(d)
        for d, k in zip(corpus.docs, corpus.kinds, strict=False)
        if k == "arith" and not d.startswith(("Practice", "练习"))
    }
    assert len(seen) > 300
    answer_only = [p for p in probes if p.kind == "arith_answer"]
    steps = [p for p in probes if p.kind == "arith_steps"]
    assert len(answer_only) == len(steps)
    for a, s in zip(answer_only, steps, strict=False):
        problem = _parse_problem(a.prompt)
        assert problem == _parse_problem(s.prompt) == a.meta["problem"]
        assert problem not in seen
        value = eval(" ".join(map(str, problem)))  # left to right, as written
        assert a.answer.strip() == str(value)
        assert s.answer.endswith(f"{value}")
        # the same problem, the same words: only the last marker differs
        assert a.prompt.rsplit(" ", 1)[0] == s.prompt.rsplit(" ", 1)[0] or a.prompt[:-2] == s.prompt[:-3]
        first = f"{problem[0]} {problem[1]} {problem[2]} = {eval(' '.join(map(str, problem[:3])))}"
        assert s.answer.lstrip().startswith(first)


def test_count_probe_answers_are_the_next_item(probes):
    counts = [p for p in probes if p.kind == "count"]
    assert {p.meta["sequence"] for p in counts} >= {"number1", "weekday", "month"}
    zh_days = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]
    for p in counts:
        seq, ans = p.meta["sequence"], p.answer.strip()
        body = re.split(r"[:：]", p.prompt, maxsplit=1)[1]
        items = [x.strip() for x in re.split(r"[,，、]", body) if x.strip()]
        if seq.startswith("number"):
            nums = list(map(int, items))
            assert int(ans) == nums[-1] + (nums[-1] - nums[-2]) == nums[-1] + int(seq[6:])
        elif seq == "weekday" and p.lang == "en":
            days = list(calendar.day_name)  # Monday..Sunday, from the standard library
            assert ans == days[(days.index(items[-1]) + 1) % 7]
        elif seq == "weekday":
            assert ans == zh_days[(zh_days.index(items[-1]) + 1) % 7]
        elif seq == "month" and p.lang == "en":
            months = list(calendar.month_name)[1:]
            assert ans == months[(months.index(items[-1]) + 1) % 12]


def test_number_words():
    from minigpt.data.corpus import number_word

    expected = {
        1: ("one", "一"),
        10: ("ten", "十"),
        11: ("eleven", "十一"),
        20: ("twenty", "二十"),
        21: ("twenty-one", "二十一"),
        39: ("thirty-nine", "三十九"),
        40: ("forty", "四十"),
    }
    for n, (en, zh) in expected.items():
        assert (number_word(n, "en"), number_word(n, "zh")) == (en, zh)


def test_fact_probes_ask_known_facts_in_an_unseen_phrasing(corpus, probes):
    from minigpt.data.corpus import COUNTRIES

    facts = [p for p in probes if p.kind == "fact"]
    for p in facts:
        country = COUNTRIES[p.lang][p.meta["country"]]
        assert (p.prompt + p.answer) not in corpus.text  # this phrasing of this fact: never
        stated = [d for d in corpus.docs if country in d and p.answer.strip() in d]
        assert len(stated) >= 3  # the fact itself: many times, in other phrasings


def test_copy_probes_repeat_the_span_from_the_prompt(probes):
    for p in (p for p in probes if p.kind == "copy"):
        assert p.prompt.count(p.answer.strip()) == 1


def test_probe_scoring_rule():
    assert probe_passes(" 20", " 20, 21")
    assert probe_passes(" 20", " 20")
    assert not probe_passes(" 20", " 200")
    assert not probe_passes(" 20", "20")
    assert not probe_passes(" twenty", " twenty-one")
    assert probe_passes("小红", "小红。再")
    assert not probe_passes("小红", "小明")
    assert probe_passes(" 4 - 1 = 3, 3 - 3 = 0. Answer: 0", " 4 - 1 = 3, 3 - 3 = 0. Answer: 0.")
    assert not probe_passes(" 4 - 1 = 3, 3 - 3 = 0. Answer: 0", " 4 - 1 = 3, 3 - 3 = 1. Answer: 0.")


def test_evaluate_probes_and_probe_ids(probes, tok):
    right = evaluate_probes(lambda p: p.answer + ".", probes)
    wrong = evaluate_probes(lambda p: "?" + p.answer, probes)
    assert right["name/zh"] == right["arith_steps"] == 1.0 and set(right.values()) == {1.0}
    assert set(wrong.values()) == {0.0}
    p = probes[0]
    assert probe_ids(tok, p)[0] == tok.eos_id and tok.decode(probe_ids(tok, p)) == EOS + p.prompt
    assert all(p.max_new_tokens >= len(tok.encode(p.answer)) for p in probes)


def test_probes_are_deterministic():
    assert course_probes(n=5, seed=3) == course_probes(n=5, seed=3)
    assert course_probes(n=5, seed=3) != course_probes(n=5, seed=4)


# ---- token files -----------------------------------------------------------------------------


def test_encode_documents_equals_encoding_the_stream(small, tok):
    ids = encode_documents(tok, small.docs)
    assert ids.dtype == np.uint16
    assert ids.tolist() == tok.encode(small.text)


def test_token_dtype_fits_every_id():
    for vocab in (259, 4096, 65536, 65537, 151_936):
        dtype = token_dtype(vocab)
        assert np.iinfo(dtype).max >= vocab - 1
        assert dtype == (np.uint16 if vocab - 1 <= np.iinfo(np.uint16).max else np.uint32)


TXT = "First line of a book.\n\n  Indented: 大家好，我是小红。\nThe end.   \n" * 40 + "tail without newline"


def test_tokenize_files_txt_and_jsonl_stream_equals_whole_encoding(small, tmp_path):
    # A tokenizer that has merged whitespace runs ("\n\n", "   \n"): cutting the text inside
    # such a run would change the ids, so this checks where the reader cuts its pieces.
    tok = Tokenizer.train(small.docs[:2000] + [TXT] * 20, vocab_size=600)
    assert any(tok.id_to_token(i) in ("\n\n", "   \n", "\n\n ", "\n  ") for i in range(tok.vocab_size))
    (tmp_path / "a.txt").write_text(TXT, encoding="utf-8")
    docs = ["Hello, I'm Susan.", "数数：1，2，3。", "", "two\n\nparagraphs  \n"]
    with open(tmp_path / "b.jsonl", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d, "id": 1}, ensure_ascii=False) + "\n")
        f.write("\n")  # blank lines are skipped
    out = tmp_path / "tokens.bin"
    meta = tokenize_files([tmp_path / "a.txt", tmp_path / "b.jsonl"], tok, out, chunk_bytes=64, progress=False)
    expected = [tok.eos_id] + tok.encode(TXT) + [tok.eos_id]
    for d in docs:
        if d:
            expected += tok.encode(d) + [tok.eos_id]
    ids = load_tokens(out, tokenizer=tok)
    assert isinstance(ids, np.memmap) and ids.dtype == np.uint16
    assert ids.tolist() == expected
    assert meta["count"] == len(expected) and meta["documents"] == 4
    assert out.stat().st_size == 2 * len(expected)
    # a folder is read the same way (files sorted by name)
    assert tokenize_files(tmp_path, tok, tmp_path / "again.bin", progress=False)["count"] == len(expected)


def test_iter_texts_feeds_tokenizer_training(tmp_path):
    (tmp_path / "a.txt").write_text(TXT, encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(
        '{"text": "你好，世界"}\n{"text": ""}\n{"text": "hello world"}\n', encoding="utf-8"
    )
    texts = list(iter_texts(tmp_path, chunk_bytes=100))
    assert "".join(texts[:-2]) == TXT and texts[-2:] == ["你好，世界", "hello world"]
    tok = Tokenizer.train(iter_texts(tmp_path), vocab_size=300)
    assert tok.decode(tok.encode(TXT)) == TXT
    (tmp_path / "c.jsonl").write_text('{"txt": "typo"}\n')
    with pytest.raises(ValueError, match=r'c\.jsonl, line 1: no "text" field'):
        Tokenizer.train(iter_texts(tmp_path), vocab_size=300)


def test_load_tokens_refuses_another_tokenizer_and_truncation(tok, small, tmp_path):
    out = tmp_path / "t.bin"
    save_tokens(encode_documents(tok, small.docs[:20]), out, tok)
    other = Tokenizer.train(small.docs[:500], vocab_size=300)
    with pytest.raises(ValueError, match="made with tokenizer"):
        load_tokens(out, tokenizer=other)
    with open(out, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="truncated"):
        load_tokens(out)
    (tmp_path / "bare.bin").write_bytes(b"\0\0")
    with pytest.raises(FileNotFoundError, match="sidecar"):
        load_tokens(tmp_path / "bare.bin")


def test_bad_input_missing_file(tok, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.txt does not exist"):
        tokenize_files(tmp_path / "nope.txt", tok, tmp_path / "o.bin", progress=False)


def test_bad_input_unsupported_suffix(tok, tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(ValueError, match=r"x\.csv: unsupported file type"):
        tokenize_files(tmp_path / "x.csv", tok, tmp_path / "o.bin", progress=False)


def test_bad_input_empty_corpus(tok, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "empty.jsonl").write_text('{"text": ""}\n\n')
    with pytest.raises(ValueError, match="No text found"):
        tokenize_files([tmp_path / "empty.txt", tmp_path / "empty.jsonl"], tok, tmp_path / "o.bin", progress=False)
    assert not (tmp_path / "o.bin").exists()


def test_bad_input_not_utf8_names_line_and_byte_offset(tok, tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(b"hello\n" + "你好\n".encode("gbk"))  # GBK bytes C4 E3 BA C3
    with pytest.raises(ValueError, match=r"gbk\.txt, line 2: byte 0xC4 at byte offset 6 .*iconv"):
        tokenize_files(path, tok, tmp_path / "o.bin", progress=False)


def test_bad_input_jsonl_line_without_text(tok, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok"}\n{"content": "no text here"}\n')
    with pytest.raises(ValueError, match=r'd\.jsonl, line 2: no "text" field \(found \[\'content\'\]\)'):
        tokenize_files(path, tok, tmp_path / "o.bin", progress=False)
    path.write_text('{"text": "ok"}\n{"text": "cut\n')
    with pytest.raises(ValueError, match=r"d\.jsonl, line 2: not valid JSON"):
        tokenize_files(path, tok, tmp_path / "o.bin", progress=False)


# ---- packed windows and the sampler ----------------------------------------------------------


def test_packed_windows_are_shifted_by_one():
    ids = np.arange(100, dtype=np.uint16)  # id == position, so a shift is visible as +1
    ds = PackedDataset(ids, block_size=10)
    assert len(ds) == 9  # starts 0, 10, ..., 80; start 90 would need ids[90:101]
    for k in range(len(ds)):
        x, y = ds[k]
        assert x.dtype == y.dtype == torch.int64
        assert x.tolist() == list(range(10 * k, 10 * k + 10))
        assert y.tolist() == list(range(10 * k + 1, 10 * k + 11))
    every = PackedDataset(ids, block_size=10, stride=1)
    assert len(every) == 90 and every[89][1].tolist()[-1] == 99
    with pytest.raises(IndexError):
        ds[9]


def test_packed_windows_from_a_memmap(tok, small, tmp_path):
    out = tmp_path / "c.bin"
    save_tokens(encode_documents(tok, small.docs), out, tok)
    mm = load_tokens(out, tok)
    ds = PackedDataset(mm, block_size=64)
    x, y = ds[3]
    assert x.tolist() == [int(i) for i in mm[192:256]] and y.tolist() == [int(i) for i in mm[193:257]]


def test_window_longer_than_the_data_is_a_clear_error():
    with pytest.raises(ValueError, match=r"has 50 tokens.*block_size <= 49"):
        PackedDataset(np.arange(50), block_size=64)


def test_resumable_sampler_is_a_function_of_seed_and_position():
    n = 37
    full = [i for _, i in zip(range(3 * n), ResumableSampler(n, seed=7), strict=False)]
    for e in range(3):  # each epoch is a permutation, and epochs differ
        assert sorted(full[e * n : (e + 1) * n]) == list(range(n))
    assert full[:n] != full[n : 2 * n]
    resumed = [i for _, i in zip(range(50), ResumableSampler(n, seed=7, start=40), strict=False)]
    assert resumed == full[40:90]
    assert [i for _, i in zip(range(n), ResumableSampler(n, seed=8), strict=False)] != full[:n]
    assert list(ResumableSampler(5, shuffle=False, num_samples=7)) == [0, 1, 2, 3, 4, 0, 1]
    r0 = list(ResumableSampler(n, seed=7, num_samples=20, rank=0, world_size=2))
    r1 = list(ResumableSampler(n, seed=7, num_samples=20, rank=1, world_size=2))
    assert [v for pair in zip(r0, r1, strict=False) for v in pair] == full[:40]


def test_sampler_drives_a_dataloader(small, tok):
    ds = PackedDataset(encode_documents(tok, small.docs), block_size=32, stride=1)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, sampler=ResumableSampler(len(ds), seed=0, num_samples=8))
    batches = list(loader)
    assert len(batches) == 2 and batches[0][0].shape == (4, 32)
    assert torch.equal(batches[0][0][:, 1:], batches[0][1][:, :-1])


# ---- padding and loss masks ------------------------------------------------------------------


def test_shift_and_loss_mask():
    x, y = shift([5, 6, 7, 8], [0, 0, 1, 1])
    assert x == [5, 6, 7] and y == [IGNORE_INDEX, 7, 8]
    assert shift([5, 6, 7]) == ([5, 6], [6, 7])


def test_pad_collate_masks_padding():
    ds = ExampleDataset([[1, 2, 3, 4, 5], [6, 7, 8], ([9, 10, 11, 12], [0, 0, 1, 1])])
    batch = PadCollate(pad_id=0)([ds[0], ds[1], ds[2]])
    assert batch["input_ids"].tolist() == [[1, 2, 3, 4], [6, 7, 0, 0], [9, 10, 11, 0]]
    assert batch["targets"].tolist() == [[2, 3, 4, 5], [7, 8, -100, -100], [-100, 11, 12, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]]
    assert PadCollate(0, pad_to_multiple_of=8)([ds[1]])["input_ids"].shape == (1, 8)


def test_collate_keeps_the_name_of_the_targets():
    from minigpt.data import collate

    windows = collate([(torch.tensor([1, 2]), torch.tensor([2, 3])), (torch.tensor([4, 5]), torch.tensor([5, 6]))])
    assert sorted(windows) == ["input_ids", "targets"] and windows["targets"].tolist() == [[2, 3], [5, 6]]
    # Hugging Face examples keep their unshifted labels (the trainer shifts them), padded with -100
    hf = collate([{"input_ids": [1, 2, 3], "labels": [1, 2, 3]}, {"input_ids": [4], "labels": [4]}])
    assert hf["labels"].tolist() == [[1, 2, 3], [4, -100, -100]] and "targets" not in hf
    with pytest.raises(ValueError, match="needs 'targets'"):
        collate([{"input_ids": [1, 2]}])


def test_example_dataset_truncates_and_drops_examples_with_nothing_to_learn():
    ds = ExampleDataset([list(range(10)), ([1, 2, 3, 4, 5], [0, 0, 0, 0, 1]), [7]], max_len=3)
    assert ds[0]["input_ids"].tolist() == [0, 1, 2] and ds[0]["targets"].tolist() == [1, 2, 3]
    assert len(ds) == 1 and ds.dropped == 2
    with pytest.raises(ValueError, match="No example has anything to learn"):
        ExampleDataset([[1]])


def test_chat_sft_learns_exactly_the_answer_and_im_end(tok):
    prompt, answer = "What is 3 + 4?", "3 + 4 = 7."
    ids, mask = prompt_answer_example(tok, prompt, answer)
    text = f"{IM_START}user\n{prompt}{IM_END}\n{IM_START}assistant\n{answer}{IM_END}\n"
    assert ids == tok.encode(text)  # piecewise encoding equals encoding the whole chat
    item = SFTDataset(tok, [(prompt, answer)])[0]
    learned = [t for t in item["targets"].tolist() if t != IGNORE_INDEX]
    assert tok.decode(learned) == answer + IM_END
    assert item["targets"].tolist()[-1] == IGNORE_INDEX  # the final "\n" is not learned
    assert chat_prompt_ids(tok, [{"role": "user", "content": prompt}]) == tok.encode(
        f"{IM_START}user\n{prompt}{IM_END}\n{IM_START}assistant\n"
    )


def test_multi_turn_chat_learns_only_assistant_turns(tok):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "数数"},
        {"role": "assistant", "content": "一、二、三"},
    ]
    ids, mask = chat_example(tok, messages)
    learned = [i for i, m in zip(ids, mask, strict=False) if m]
    assert tok.decode(learned) == "Hello!" + IM_END + "一、二、三" + IM_END
    ds = SFTDataset(tok, [{"conversations": messages}, {"prompt": "a", "answer": "b"}])
    assert len(ds) == 2
    with pytest.raises(ValueError, match="SFT item 0"):
        SFTDataset(tok, [{"question": "?"}])


def test_plain_sft_template(tok):
    ids, mask = prompt_answer_example(tok, "Q: 2 + 2? Answer:", " 4.", chat=False)
    assert ids[0] == tok.eos_id and ids[-1] == tok.eos_id
    assert tok.decode([i for i, m in zip(ids, mask, strict=False) if m]) == " 4." + EOS


def test_padded_batch_loss_equals_unpadded_loss(tok):
    model_mod = pytest.importorskip("minigpt.model")
    from minigpt.config import ModelConfig

    torch.manual_seed(0)
    model = model_mod.MiniGPT(ModelConfig.from_preset("tiny", vocab_size=tok.vocab_size)).eval()
    pairs = [
        ("Count: 1, 2, 3,", " 4, 5."),
        ("大家好，我是小红。再说一遍，我叫", "小红。"),
        ("Hi", " there, my friend Omar."),
    ]
    ds = SFTDataset(tok, pairs, chat=False)
    examples = [ds[i] for i in range(len(ds))]
    assert len({len(e["input_ids"]) for e in examples}) == 3  # really different lengths

    # Reference: every example on its own (no padding), summed cross-entropy / learned tokens.
    total, count = 0.0, 0
    with torch.no_grad():
        for e in examples:
            logits = model(e["input_ids"][None]).logits[0]
            total += F.cross_entropy(logits, e["targets"], ignore_index=IGNORE_INDEX, reduction="sum").item()
            count += int((e["targets"] != IGNORE_INDEX).sum())
        reference = total / count

        batch = PadCollate(tok.pad_id)(examples)
        padded = model(batch["input_ids"], targets=batch["targets"], attention_mask=batch["attention_mask"]).loss.item()
        assert padded == pytest.approx(reference, rel=1e-5, abs=1e-6)

        # Leave the mask out (pads and prompts learned like any token): a different loss.
        unmasked = batch["input_ids"].roll(-1, dims=1)
        no_mask = model(batch["input_ids"], targets=unmasked, attention_mask=batch["attention_mask"]).loss.item()
        assert abs(no_mask - reference) > 1e-3
        # Only the padding mask left out (labels on pads = the pad id): also different.
        pads_learned = batch["targets"].masked_fill(batch["attention_mask"] == 0, tok.pad_id)
        loss = model(batch["input_ids"], targets=pads_learned, attention_mask=batch["attention_mask"]).loss.item()
        assert abs(loss - reference) > 1e-3
