"""Chapter 3's exercises, each checked on fresh inputs:

1. `count_units(text, tokenizer)`: (UTF-8 bytes, characters, tokens), on new course documents in both
   languages and on text with 2- and 4-byte characters, with the course tokenizer and a freshly trained one;
2. `change_map(model, ids, position, new_id)`: the relative change of every hidden state when one token is
   replaced, on a small random model, against the chapter's computation;
3. `greedy_continue(model, tokenizer, prompt, max_new_tokens)`: the loop that feeds each written token back,
   against a reference loop (a small random model with well-separated logits) and, for the end-of-text
   token, the course model.
"""

from __future__ import annotations

import functools

import torch

from ..config import ModelConfig
from ..model import MiniGPT
from ..tokenizer import Tokenizer
from . import Exercise, Wrong, learner_call
from .compare import as_tensor, expect_close
from .fresh import fresh_generator as _generator


def _draw(generator: torch.Generator, high: int) -> int:
    return int(torch.randint(0, high, (1,), generator=generator))


@functools.cache
def _course():
    from ..course import load_course_model

    model, tokenizer = load_course_model()
    return model.eval(), tokenizer


def _course_tokenizer() -> Tokenizer:
    from ..course import COURSE_MODEL_DIR

    return Tokenizer.from_file(COURSE_MODEL_DIR / "tokenizer.json")


def _random_model(generator: torch.Generator, vocab_size: int, num_layers: int, peaked: bool = False) -> MiniGPT:
    """A small random model; `peaked`: an untied head and large weights, so that its greedy choices are far
    from ties (any correct loop, with or without a cache, writes the same tokens) and depend on the last
    token written (the continuation is not one token repeated)."""
    config = ModelConfig(vocab_size=vocab_size, hidden_size=32, num_layers=num_layers, num_heads=4, num_kv_heads=2,
                         intermediate_size=64, max_seq_len=128, tie_word_embeddings=not peaked)  # fmt: skip
    with torch.random.fork_rng(devices=[]):  # minigpt initializes from the global RNG: keep the notebook's intact
        torch.manual_seed(_draw(generator, 2**31))
        model = MiniGPT(config).eval()
    if peaked:
        with torch.no_grad():
            model.model.embed_tokens.weight.mul_(50)
            model.lm_head.weight.mul_(50)
    return model


# Exercise 1: bytes, characters, tokens -------------------------------------------------------------


def _texts(generator: torch.Generator) -> list[str]:
    from ..data import make_course_corpus

    docs = make_course_corpus(size_bytes=6000, seed=_draw(generator, 10**6)).docs
    english = [d for d in docs if d.isascii()]
    chinese = [d for d in docs if not d.isascii()]
    pick = [english[_draw(generator, len(english))], chinese[_draw(generator, len(chinese))]]
    pick += [chinese[_draw(generator, len(chinese))]]
    cafe = ["café", "naïve", "Zoë", "über"][_draw(generator, 4)]  # 2-byte characters
    emoji = ["🙂", "🚀", "🍎", "𝔸"][_draw(generator, 4)]  # 4-byte characters
    # separate texts: an é (2 bytes) and an emoji (4 bytes) in one text would hide "3 bytes each"
    pick += [f"{pick[0].split('.')[0]} at the {cafe}.", f"{emoji} 我叫小红。", f"Hello {emoji}{emoji}!"]
    return pick


def _check_count_units(count_units) -> None:
    generator = _generator()
    texts = _texts(generator)
    course = _course_tokenizer()
    other = Tokenizer.train(texts * 3 + ["abc def ghi"] * 3, vocab_size=280)  # another tokenizer: use the argument
    for tokenizer, name in ((course, "the course tokenizer"), (other, "a small tokenizer trained on other text")):
        for text in texts:
            got = learner_call(count_units, text, tokenizer)
            call = f"count_units({text!r}, {name})"
            if isinstance(got, list):
                got = tuple(got)
            if not isinstance(got, tuple) or len(got) != 3:
                raise Wrong(f"{call} returned {got!r}; return three numbers: (bytes, characters, tokens)")
            utf8, chars, tokens = len(text.encode("utf-8")), len(text), len(tokenizer.encode(text))
            want = (utf8, chars, tokens)
            if got == want:
                continue
            non_ascii = sum(not c.isascii() for c in text)
            suspects = {
                "the three numbers are right but in another order: return (bytes, characters, tokens)": [
                    p for p in {(utf8, tokens, chars), (chars, utf8, tokens), (chars, tokens, utf8),
                                (tokens, utf8, chars), (tokens, chars, utf8)} if p != want
                ],
                "len(text) counts characters, not bytes: the bytes are len(text.encode('utf-8'))": [
                    (chars, chars, tokens)
                ],
                "len(text.encode('utf-8')) counts bytes; the characters are len(text)": [(utf8, utf8, tokens)],
                "not every character outside ASCII is 3 bytes in UTF-8 (é is 2, an emoji 4): let Python count, "
                "len(text.encode('utf-8'))": [(chars + 2 * non_ascii, chars, tokens)],
                "words split at spaces are not tokens: count len(tokenizer.encode(text))": [
                    (utf8, chars, len(text.split()))
                ],
                "the tokens are not the characters: count len(tokenizer.encode(text))": [(utf8, chars, chars)],
                "those are the course tokenizer's tokens: count with the tokenizer passed in (the argument)": [
                    (utf8, chars, len(course.encode(text)))
                ],
            }  # fmt: skip
            for diagnosis, wrong in suspects.items():
                if got in wrong:
                    raise Wrong(f"{call}: {diagnosis}")
            raise Wrong(f"{call} returned {got!r}; the answer is {want!r}")


ex1 = Exercise(
    3,
    1,
    _check_count_units,
    hints=[
        "A str in Python is a sequence of characters: len(text) counts them. Its UTF-8 bytes are text.encode('utf-8').",
        "The tokens are what tokenizer.encode(text) returns (a list of ids): count them.",
        "Return a tuple in this order: (len(text.encode('utf-8')), len(text), len(tokenizer.encode(text))).",
    ],
)


# Exercise 2: what a one-token edit changes, layer by layer ---------------------------------------------


def _hidden(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack(model(ids, output_hidden_states=True).hidden_states)[:, 0].float()  # (layers+1, T, hidden)


def _check_change_map(change_map) -> None:
    generator = _generator()
    model = _random_model(generator, vocab_size=64, num_layers=3)
    length = 8 + _draw(generator, 8)
    ids = torch.randint(0, 64, (1, length), generator=generator)
    for position in (2 + _draw(generator, length - 4), 0):
        new_id = (int(ids[0, position]) + 1 + _draw(generator, 63)) % 64  # another token
        original = ids.clone()
        got = learner_call(change_map, model, ids, position, new_id)
        if not torch.equal(ids, original):
            raise Wrong(
                "change_map changed the ids it was given: edit a copy (edited = ids.clone()), so the original "
                "sentence stays as it was for the comparison"
            )

        def edit_at(p: int, new_id: int = new_id) -> torch.Tensor:
            edited = ids.clone()
            edited[0, p] = new_id
            return _hidden(model, edited)

        before, after = _hidden(model, ids), edit_at(position)
        difference = (after - before).norm(dim=-1)
        want = difference / before.norm(dim=-1)
        suspects = {
            "that is the size of the change, not the relative change: divide by the norm of the hidden state "
            "before the edit": difference,
            "divide by the norm of the hidden state before the edit (the original), not after it": difference
            / after.norm(dim=-1),
            "the squares of the norms: use .norm(dim=-1), not the sum of squares": (after - before).pow(2).sum(-1)
            / before.pow(2).sum(-1),
            "the norm runs over the hidden dimension (dim=-1), one number per layer and position": (
                (after - before).norm(dim=1) / before.norm(dim=1)
            ),
            "layers and positions are swapped: return (num_layers + 1, T), one row per layer": want.T,
            "the first row is missing: hidden_states starts with the embeddings (layer 0), so there are "
            "num_layers + 1 rows": want[1:],
            "the edit lands one position later: replace ids[0, position] itself": (
                (edit_at(position + 1) - before).norm(dim=-1) / before.norm(dim=-1)
            ),
        }
        if position > 0:
            suspects["the edit lands one position earlier: replace ids[0, position] itself"] = (
                edit_at(position - 1) - before
            ).norm(dim=-1) / before.norm(dim=-1)
        expect_close(
            as_tensor(got, "change_map(...)").float(),
            want,
            f"change_map(model, ids, position={position}, new_id={new_id}) for a {model.config.num_layers}-layer "
            f"model and {length} tokens",
            atol=1e-5,
            rtol=1e-3,
            suspects=suspects,
        )


ex2 = Exercise(
    3,
    2,
    _check_change_map,
    hints=[
        "Run the model twice, on ids and on an edited copy (edited = ids.clone(); edited[0, position] = new_id), "
        "with output_hidden_states=True.",
        "torch.stack(out.hidden_states)[:, 0] is (num_layers + 1, T, hidden): the embeddings, then every layer.",
        "The relative change is (after - before).norm(dim=-1) / before.norm(dim=-1): one number per layer and "
        "position.",
    ],
)


# Exercise 3: the loop that feeds every written token back --------------------------------------------


def _greedy(model, tokenizer, prompt: str, max_new_tokens: int, *, position: int = -1, stop: bool = True) -> str:
    return _greedy_with_gap(model, tokenizer, prompt, max_new_tokens, position=position, stop=stop)[0]


def _greedy_with_gap(model, tokenizer, prompt, max_new_tokens, *, position=-1, stop=True) -> tuple[str, float]:
    """The greedy continuation, and the smallest margin between the best and the second-best logit on the way."""
    ids = tokenizer.encode(prompt)
    new: list[int] = []
    gap = float("inf")
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits = model(torch.tensor([ids + new])).logits[0, position]
            top = logits.topk(2).values
            gap = min(gap, float(top[0] - top[1]))
            token = int(logits.argmax())
            if stop and token == tokenizer.eos_id:
                break
            new.append(token)
    return tokenizer.decode(new), gap


def _repeat_first(model, tokenizer, prompt: str, max_new_tokens: int) -> str:
    """The loop that never feeds back: the prompt's next token, written max_new_tokens times."""
    first = _greedy(model, tokenizer, prompt, 1)
    return first * max_new_tokens if first else ""


def _continuation_mistakes(got: str, want: str, model, tokenizer, prompt: str, n: int) -> list[str]:
    """Every known mistake that writes exactly `got` (two can coincide on one prompt: the first position and
    the last may predict the same token)."""
    eos = tokenizer.decode([tokenizer.eos_id])
    suspects = {
        "return only the continuation, without the prompt": [prompt + want],
        f"stop when the model writes the end-of-text token (tokenizer.eos_id, shown as {eos!r}), and leave it "
        f"out of the text": [want + eos, _greedy(model, tokenizer, prompt, n, stop=False)],
        "each new token must be fed back: append it to the ids and run the model on the longer sequence "
        "(here every step reads the prompt alone)": [_repeat_first(model, tokenizer, prompt, n)],
        "the next token is the argmax of the LAST position's logits (logits[0, -1]); the first position "
        "predicts the prompt's second token": [_greedy(model, tokenizer, prompt, n, position=0)],
        f"one token too many: write at most max_new_tokens = {n} tokens": [_greedy(model, tokenizer, prompt, n + 1)],
        f"one token too few: write {n} tokens, unless the end-of-text token comes first": [
            _greedy(model, tokenizer, prompt, n - 1)
        ],
    }
    return [diagnosis for diagnosis, wrong in suspects.items() if got in wrong]


def _check_greedy_continue(greedy_continue) -> None:
    generator = _generator()
    tokenizer = _course_tokenizer()
    prompts = ["小红有5个苹果。", "My name is Susan and I live in", "Count by twos: 4, 6, 8,"]
    lengths = [3 + _draw(generator, 6) for _ in prompts]
    for _ in range(10):  # a model whose greedy choices are nowhere near a tie (float rounding cannot flip one)
        model = _random_model(generator, vocab_size=tokenizer.vocab_size, num_layers=2, peaked=True)
        references = [_greedy_with_gap(model, tokenizer, p, n) for p, n in zip(prompts, lengths, strict=True)]
        if min(gap for _, gap in references) > 1e-3:
            break
    cases = [
        (model, "a small random model", p, n, ref) for p, n, (ref, _) in zip(prompts, lengths, references, strict=True)
    ]
    course, _ = _course()
    story = "小红有5个苹果。小红送出了2个，然后又买了4个。小红现在有几个苹果？"
    answered = story + "步骤：5 - 2 = 3，3 + 4 = 7。答：7"  # the course model writes "。", then the end-of-text token
    cases.append((course, "the course model", answered, 4, _greedy(course, tokenizer, answered, 4)))
    unnamed: Wrong | None = None
    for model_i, name, prompt, n, want in cases:
        got = learner_call(greedy_continue, model_i, tokenizer, prompt, n)
        call = f"greedy_continue({name}, tokenizer, {prompt!r}, max_new_tokens={n})"
        if not isinstance(got, str):
            raise Wrong(f"{call} returned {type(got).__name__}; return the continuation as text (tokenizer.decode)")
        if got == want:
            continue
        mistakes = _continuation_mistakes(got, want, model_i, tokenizer, prompt, n)
        if len(mistakes) == 1:
            raise Wrong(f"{call}: {mistakes[0]}")
        # none known, or two that this prompt cannot tell apart: another case may name the mistake
        unnamed = unnamed or Wrong(
            f"{call} returned {got!r}; greedy decoding writes {want!r}. Take the argmax (no sampling) and append "
            f"each new token to the input of the next step"
        )
    if unnamed:
        raise unnamed


ex3 = Exercise(
    3,
    3,
    _check_greedy_continue,
    hints=[
        "Start from ids = tokenizer.encode(prompt). Each step: logits = model(torch.tensor([ids])).logits, then "
        "the next token is logits[0, -1].argmax().",
        "Append the new token to ids and run the model again: that is how a written token becomes the next input. "
        "Stop after max_new_tokens tokens, or earlier at tokenizer.eos_id (not part of the text).",
        "Return tokenizer.decode(...) of the new tokens only, without the prompt's.",
    ],
)
