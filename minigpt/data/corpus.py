"""The course corpus: short bilingual documents written so that a 5M-parameter model can learn
the behaviours the chapters then open up. One file over 400 lines, its six generators: each
writes a document as (held-out key, prompt, answer, rest), so one function makes both the
corpus's documents and the probes' prompts (minigpt/data/probes.py) and decides what is held
out, and the generators are read, and changed, side by side. The word lists are in words.py.

Nothing is downloaded: the corpus is generated, deterministically, from `random.Random(seed)`
(never Python's `hash()` or set order), so the same (version, size, seed) gives the same bytes
and the same sha256 on every machine.

Document kinds (each in 简体中文 and English, several phrasings each):

    name      a self-introduction that ends by repeating the speaker's name      (who is speaking)
    dialogue  two people meet; the last line names the other one                (copy across lines)
    count     numbers, number words, weekdays, months from a random start        (position, order)
    arith     word problems, answer alone or steps first ("5 - 2 = 3, 3 + 4 = 7"), and drills
    fact      sentences about 16 invented countries, in varied wording           (knowledge in weights)
    copy      a random word span or code, then the same span again               (induction)

The stream is `<|endoftext|>doc<|endoftext|>doc ... doc<|endoftext|>`: every document is
preceded and followed by the separator, so a model always starts a document right after it.

Held out by construction. Every document is drawn as a *combination* (a key): for a
self-introduction (language, name, city, hobby); for a counting line (language, sequence,
header, start); for a word problem its numbers and operations (in both languages); for a copy
span its words. A combination is held out when crc32 of its key is divisible by 8
(`is_held_out`). The corpus draws again whenever it meets a held-out combination; the probes
draw *only* held-out ones. So every probe prompt is new text: the name, city and hobby each occur
thousands of times, but never together, so the name can only be found by looking back in the
prompt; no counting line starts at the probe's start under that header; no problem with those
numbers appears in either form. Facts are the exception by nature (a fact must be seen to be
known): each fact has one phrasing that the corpus never uses for it, and the probe asks in
exactly that phrasing. All of this holds for every seed and size.

The probes drawn from the held-out combinations, and how they are scored: minigpt/data/probes.py.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

from .words import (  # re-exported: tests and chapters read the lists from here
    ATTRIBUTES,
    CITIES,
    CODE_CHARS,
    COPY_WORDS,
    COUNTRIES,
    FACT_ATTRS,
    FACT_TEMPLATES,
    HOBBIES,
    ITEMS,
    JOBS,
    MONTHS,
    NAMES,
    NUMBER_WORDS_MAX,
    PLACES,
    WEEKDAYS,
    number_word,
)

CORPUS_VERSION = "course-corpus-1"
EOS = "<|endoftext|>"
HELD_OUT_EVERY = 8
KINDS = ("name", "dialogue", "count", "arith", "fact", "copy")
WEIGHTS = (0.20, 0.08, 0.20, 0.20, 0.14, 0.18)  # share of documents of each kind
LANGS = ("en", "zh")


def is_held_out(key: tuple) -> bool:
    """True for the 1/8 of combinations reserved for probes (crc32 is the same on every machine)."""
    return zlib.crc32(repr(key).encode("utf-8")) % HELD_OUT_EVERY == 0


# ---- document generators ---------------------------------------------------------------------
# Each returns (key, prefix, answer, suffix): the document is prefix + answer + suffix, and
# a probe made from it is (prompt=prefix, answer=answer). key is the combination that
# `is_held_out` judges, or None for documents that hold nothing out.


def _sentence_join(parts: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(parts)


def gen_name(rng: random.Random, lang: str):
    n, c, h = rng.randrange(40), rng.randrange(16), rng.randrange(16)
    name, city, hobby = NAMES[lang][n], CITIES[lang][c], HOBBIES[lang][h]
    friend = rng.choice([x for x in NAMES[lang] if x != name])
    if lang == "en":
        opening = rng.choice(
            [
                "Hello, I'm {n}.",
                "Hi everyone, my name is {n}.",
                "Good morning! I am {n}.",
                "Let me introduce myself: I'm {n}.",
            ]
        )
        fillers = [
            rng.choice(["I live in {c}.", "My home is in {c}.", "I come from {c}."]),
            rng.choice(["I like {h}.", "My favourite hobby is {h}.", "In my free time I enjoy {h}."]),
        ]
        if rng.random() < 0.5:
            fillers.append(rng.choice(["I work as a {j}.", "I am a {j}."]))
        if rng.random() < 0.5:
            fillers.append(rng.choice(["My friend {m} likes {h2}.", "My best friend is {m}."]))
        if rng.random() < 0.3:
            fillers.append("Every weekend I go to {p}.")
        closing = rng.choice(
            [
                "Once again, my name is",
                "Nice to meet you all, I'm",
                "Remember, I am",
                "Who is speaking? It is",
                "Thank you for listening, this was",
            ]
        )
        answer, suffix = " " + name, "."
    else:
        opening = rng.choice(
            ["大家好，我是{n}。", "你好，我叫{n}。", "早上好！我是{n}。", "我来介绍一下自己：我叫{n}。"]
        )
        fillers = [
            rng.choice(["我住在{c}。", "我的家在{c}。", "我来自{c}。"]),
            rng.choice(["我喜欢{h}。", "我最爱{h}。", "空闲的时候我喜欢{h}。"]),
        ]
        if rng.random() < 0.5:
            fillers.append(rng.choice(["我是一名{j}。", "我的工作是{j}。"]))
        if rng.random() < 0.5:
            fillers.append(rng.choice(["我的朋友{m}喜欢{h2}。", "我最好的朋友是{m}。"]))
        if rng.random() < 0.3:
            fillers.append("每个周末我都去{p}。")
        closing = rng.choice(
            ["再说一遍，我叫", "很高兴认识大家，我是", "记住哦，我是", "谁在说话？是", "谢谢大家，我是"]
        )
        answer, suffix = name, "。"
    rng.shuffle(fillers)
    words = dict(
        n=name,
        c=city,
        h=hobby,
        j=rng.choice(JOBS[lang]),
        m=friend,
        h2=rng.choice(HOBBIES[lang]),
        p=rng.choice(PLACES[lang]),
    )
    body = _sentence_join([opening] + fillers, lang).format(**words)
    prefix = body + (" " if lang == "en" else "") + closing
    return (lang, "name", n, c, h), prefix, answer, suffix


def gen_dialogue(rng: random.Random, lang: str):
    a, b = rng.sample(range(40), 2)
    h, c = rng.randrange(16), rng.randrange(16)
    A, B, hobby, city = NAMES[lang][a], NAMES[lang][b], HOBBIES[lang][h], CITIES[lang][c]
    if lang == "en":
        hi = rng.choice(["Hi", "Hello", "Hey"])
        line1 = f"{A}: {hi}, I'm {A}. " + rng.choice([f"I like {hobby}.", f"I enjoy {hobby}."])
        line2 = (
            f"{B}: "
            + rng.choice([f"Hello {A}, I'm {B}.", f"Hi {A}! My name is {B}."])
            + " "
            + rng.choice([f"I live in {city}.", f"I come from {city}."])
        )
        prefix = f"{line1}\n{line2}\n{A}: " + rng.choice(["Nice to meet you,", "Good to see you,", "See you soon,"])
        answer, suffix = " " + B, "!"
    else:
        line1 = f"{A}：你好，我是{A}。" + rng.choice([f"我喜欢{hobby}。", f"我爱{hobby}。"])
        line2 = (
            f"{B}："
            + rng.choice([f"你好，{A}！我叫{B}。", f"{A}你好，我是{B}。"])
            + rng.choice([f"我住在{city}。", f"我来自{city}。"])
        )
        prefix = f"{line1}\n{line2}\n{A}：" + rng.choice(["很高兴认识你，", "见到你真好，", "下次见，"])
        answer, suffix = B, "！"
    return (lang, "dialogue", a, b, h, c), prefix, answer, suffix


COUNT_HEADERS = {
    "en": {
        "number1": ["Count: ", "Let's count: ", "Counting up: "],
        "number2": ["Count by twos: ", "Counting by two: "],
        "number10": ["Count by tens: ", "Counting by ten: "],
        "word": ["Count in words: ", "Counting in words: "],
        "weekday": ["Days of the week: ", "The days go: ", "Day after day: "],
        "month": ["Months: ", "The months go: ", "Month after month: "],
    },
    "zh": {
        "number1": ["数数：", "我们来数数：", "往下数："],
        "number2": ["两个两个地数：", "隔一个数："],
        "number10": ["十个十个地数：", "按十数："],
        "word": ["用汉字数数：", "用中文数："],
        "weekday": ["一周的日子：", "星期的顺序：", "一天接一天："],
        "month": ["月份：", "月份的顺序：", "一个月接一个月："],
    },
}
COUNT_SEQS = ("number1", "number1", "number1", "number2", "number10", "word", "weekday", "month")


def gen_count(rng: random.Random, lang: str, probe_len: int | None = None):
    seq = rng.choice(COUNT_SEQS)
    h = rng.randrange(len(COUNT_HEADERS[lang][seq]))
    length = rng.randint(4, 10)
    if probe_len is not None:
        length = max(length, probe_len + 1)
    if seq.startswith("number"):
        step = int(seq[6:])
        start = rng.randint(0, 150 if step == 1 else 100)
        items = [str(start + step * i) for i in range(length)]
    elif seq == "word":
        length = min(length, NUMBER_WORDS_MAX)
        start = rng.randint(1, NUMBER_WORDS_MAX - length + 1)
        items = [number_word(start + i, lang) for i in range(length)]
    else:
        names = WEEKDAYS[lang] if seq == "weekday" else MONTHS[lang]
        start = rng.randrange(len(names))
        items = [names[(start + i) % len(names)] for i in range(length)]
    sep, end = (", ", ".") if lang == "en" else ("、" if seq == "word" else "，", "。")
    k = probe_len if probe_len is not None else rng.randint(3, length - 1)  # items shown before the slot
    head = sep.rstrip()
    tail = sep[len(head) :]
    prefix = COUNT_HEADERS[lang][seq][h] + sep.join(items[:k]) + head
    suffix = "".join(sep + x for x in items[k + 1 :]) + end
    return (lang, "count", seq, h, start), prefix, tail + items[k], suffix


ARITH_NAMES = {"en": NAMES["en"][:20], "zh": NAMES["zh"][:20]}
_OPS_EN = {
    "+": ["buys {x} more", "finds {x} more", "gets {x} more from a friend"],
    "-": ["gives away {x}", "loses {x}", "gives {x} to a friend"],
}
_OPS_ZH = {
    "+": ["又买了{x}{m}", "又找到了{x}{m}", "从朋友那里得到{x}{m}"],
    "-": ["送出了{x}{m}", "丢了{x}{m}", "给了朋友{x}{m}"],
}


def _apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b


def arith_problem(rng: random.Random, steps: int = 2) -> tuple:
    """Numbers and operations (a, op1, b, op2, c): operands 1..9, every result in 0..27."""
    while True:
        nums = [rng.randint(2, 9)] + [rng.randint(1, 9) for _ in range(steps)]
        ops = [rng.choice("+-") for _ in range(steps)]
        value, ok = nums[0], True
        for op, x in zip(ops, nums[1:], strict=True):
            value = _apply(value, op, x)
            ok = ok and value >= 0
        if ok:
            out = [nums[0]]
            for op, x in zip(ops, nums[1:], strict=True):
                out += [op, x]
            return tuple(out)


def arith_steps(problem: tuple) -> list[str]:
    """'5 - 2 = 3', '3 + 4 = 7': one binary operation per step, left to right."""
    value, lines = problem[0], []
    for i in range(1, len(problem), 2):
        op, x = problem[i], problem[i + 1]
        new = _apply(value, op, x)
        lines.append(f"{value} {op} {x} = {new}")
        value = new
    return lines


def render_arith(rng: random.Random, lang: str, problem: tuple, form: str):
    """A word problem in `form` 'answer' (answer alone) or 'steps' (steps, then the answer)."""
    steps = arith_steps(problem)
    result = int(steps[-1].split("= ")[1])
    name = rng.choice(ARITH_NAMES[lang])
    item, m = rng.choice(ITEMS[lang])
    ops = [(problem[i], problem[i + 1]) for i in range(1, len(problem), 2)]
    if lang == "en":
        acts = [rng.choice(_OPS_EN[op]).format(x=x) for op, x in ops]
        story = (
            f"{name} has {problem[0]} {item}. {name} "
            + " and then ".join(acts)
            + ". "
            + rng.choice(
                [
                    f"How many {item} does {name} have now?",
                    f"How many {item} are there now?",
                    f"Now how many {item} does {name} have?",
                ]
            )
        )
        if form == "answer":
            return story + " Answer:", f" {result}", "."
        return story + " Steps:", " " + ", ".join(steps) + f". Answer: {result}", "."
    acts = [rng.choice(_OPS_ZH[op]).format(x=x, m=m) for op, x in ops]
    story = (
        f"{name}有{problem[0]}{m}{item}。{name}"
        + "，然后".join(acts)
        + "。"
        + rng.choice([f"{name}现在有几{m}{item}？", f"现在{name}一共有几{m}{item}？"])
    )
    if form == "answer":
        return story + "答：", f"{result}", "。"
    return story + "步骤：", "，".join(steps) + f"。答：{result}", "。"


def gen_arith(rng: random.Random, lang: str):
    r = rng.random()
    if r < 0.2:  # a drill of single steps: every fact a two-step problem needs, none of its chains
        facts = []
        for _ in range(rng.randint(4, 8)):
            x, op, y = rng.randint(0, 18), rng.choice("+-"), rng.randint(1, 9)
            if op == "-" and y > x:
                x, y = y, x
            facts.append(f"{x} {op} {y} = {_apply(x, op, y)}")
        head, sep, end = ("Practice: ", ", ", ".") if lang == "en" else ("练习：", "，", "。")
        text = head + sep.join(facts) + end
        return None, text, "", ""
    problem = arith_problem(rng, steps=1 if r < 0.35 else 2)
    prefix, answer, suffix = render_arith(rng, lang, problem, rng.choice(["answer", "steps"]))
    return ("arith",) + problem, prefix, answer, suffix


def fact_held_out_template(lang: str, e: int, attr: str) -> int:
    """The one phrasing of fact (e, attr) that the corpus never uses: the probe asks in it."""
    return (e + 2 * FACT_ATTRS.index(attr) + (lang == "zh")) % len(FACT_TEMPLATES[attr][lang])


def fact_sentence(lang: str, e: int, attr: str, t: int) -> tuple[str, str, str]:
    value = ATTRIBUTES[attr][lang][e]
    template = FACT_TEMPLATES[attr][lang][t].replace("{e}", COUNTRIES[lang][e])
    prefix, suffix = template.split("{v}")
    return prefix, (" " + value if lang == "en" else value), suffix


def gen_fact(rng: random.Random, lang: str):
    e = rng.randrange(len(COUNTRIES[lang]))
    attrs = rng.sample(FACT_ATTRS, rng.randint(1, 4))
    sentences = [f"About {COUNTRIES[lang][e]}." if lang == "en" else f"关于{COUNTRIES[lang][e]}。"]
    for attr in attrs:
        held = fact_held_out_template(lang, e, attr)
        t = rng.choice([i for i in range(len(FACT_TEMPLATES[attr][lang])) if i != held])
        sentences.append("".join(fact_sentence(lang, e, attr, t)))
    text = _sentence_join(sentences, lang)
    return None, text, "", ""  # a fact holds out one phrasing instead of a combination


def gen_copy(rng: random.Random, lang: str):
    if rng.random() < 0.3:
        span = "".join(rng.choice(CODE_CHARS) for _ in range(rng.randint(4, 6)))
        key = (lang, "code", span)
        if lang == "en":
            prefix = f"The code is {span}. " + rng.choice(["Please repeat the code:", "Say the code again:"])
            return key, prefix, " " + span, "."
        return key, f"密码是{span}。" + rng.choice(["请重复密码：", "再说一遍密码："]), span, "。"
    idx = [rng.randrange(len(COPY_WORDS[lang])) for _ in range(rng.randint(3, 7))]
    words = [COPY_WORDS[lang][i] for i in idx]
    key = (lang, "copy", tuple(idx))
    if lang == "en":
        span = " ".join(words)
        first, again = rng.choice(
            [("Repeat after me:", "Again:"), ("Say these words:", "Now once more:"), ("Listen:", "Repeat:")]
        )
        return key, f"{first} {span}. {again}", " " + span, "."
    span = "".join(words)
    first, again = rng.choice([("跟我读：", "再读一遍："), ("请记住这些词：", "现在重复一遍："), ("听好：", "重复：")])
    return key, f"{first}{span}。{again}", span, "。"


GENERATORS = {
    "name": gen_name,
    "dialogue": gen_dialogue,
    "count": gen_count,
    "arith": gen_arith,
    "fact": gen_fact,
    "copy": gen_copy,
}


# ---- the corpus ------------------------------------------------------------------------------


@dataclass
class CourseCorpus:
    docs: list[str]
    kinds: list[str]
    seed: int
    size_bytes: int
    version: str = CORPUS_VERSION

    @property
    def text(self) -> str:
        """The whole stream: <|endoftext|> before and after every document."""
        return EOS + EOS.join(self.docs) + EOS

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def info(self) -> dict:
        counts = {k: self.kinds.count(k) for k in KINDS}
        return {
            "version": self.version,
            "seed": self.seed,
            "size_bytes": self.size_bytes,
            "bytes": len(self.text.encode("utf-8")),
            "documents": len(self.docs),
            "documents_by_kind": counts,
            "sha256": self.sha256,
        }

    def save(self, path: str | Path) -> Path:
        """Write the stream as UTF-8 text and `<path>.json` with version, seed and hash."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.text.encode("utf-8"))
        Path(str(path) + ".json").write_text(json.dumps(self.info(), indent=2), encoding="utf-8")
        return path


def make_course_corpus(size_bytes: int = 8_000_000, seed: int = 0) -> CourseCorpus:
    """Generate documents until the stream holds at least `size_bytes` UTF-8 bytes.

    The default 8 MB is ~2.2M tokens at vocabulary 4096 and takes under a second; a 20-minute
    CPU run of the course model (~15M tokens) then sees each document ~7 times. Held-out
    combinations are drawn again, so the probes stay unseen at any size."""
    if not isinstance(size_bytes, int) or size_bytes <= 0:
        raise ValueError(f"size_bytes must be a positive integer, got {size_bytes!r}.")
    rng = random.Random(seed)
    docs, kinds, total = [], [], len(EOS)
    eos_bytes = len(EOS)
    while total < size_bytes:
        kind = rng.choices(KINDS, weights=WEIGHTS)[0]
        lang = rng.choice(LANGS)
        while True:
            key, prefix, answer, suffix = GENERATORS[kind](rng, lang)
            if key is None or not is_held_out(key):
                break  # key None: nothing to hold out (drills; facts hold out a phrasing instead)
        doc = prefix + answer + suffix
        docs.append(doc)
        kinds.append(kind)
        total += len(doc.encode("utf-8")) + eos_bytes
    return CourseCorpus(docs, kinds, seed, size_bytes)
