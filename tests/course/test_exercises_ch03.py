"""Chapter 3's checks: each says "not attempted" for the untouched starter, names plausible mistakes,
and accepts a correct answer written here independently of the checker."""

import pytest
import torch
from minigpt.course import load_course_model
from minigpt.exercises import CORRECT, NOT_ATTEMPTED, WRONG, ch03


def starter(*args):
    raise NotImplementedError


# ---- exercise 1: count_units -----------------------------------------------------------------


def units(text, tokenizer):
    """Correct, counting the bytes by hand: UTF-8 writes a code point in 1 to 4 bytes by its size."""
    n_bytes = sum(1 if ord(c) < 0x80 else 2 if ord(c) < 0x800 else 3 if ord(c) < 0x10000 else 4 for c in text)
    return n_bytes, len(list(text)), len(tokenizer.encode(text))


_, COURSE_TOKENIZER = load_course_model()


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (lambda text, tok: (len(text), len(text), len(tok.encode(text))), "len(text) counts characters"),
        (lambda text, tok: (len(text.encode()), len(text), len(text.split())), "words split at spaces"),
        (lambda text, tok: (len(text.encode()), len(tok.encode(text)), len(text)), "in another order"),
        (lambda text, tok: (len(text.encode()), len(text), len(COURSE_TOKENIZER.encode(text))), "the argument"),
        (
            lambda text, tok: (len(text) + 2 * sum(not c.isascii() for c in text), len(text), len(tok.encode(text))),
            "not every character outside ASCII is 3 bytes",
        ),
        (lambda text, tok: len(text.encode()), "return three numbers"),
    ],
)
def test_ex1_names_the_mistake(wrong, phrase):
    result = ch03.ex1.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


def test_ex1_starter_is_not_attempted():
    assert ch03.ex1.check(starter).status == NOT_ATTEMPTED


def test_ex1_correct():
    result = ch03.ex1.check(units)
    assert result.status == CORRECT, result.message


# ---- exercise 2: change_map ------------------------------------------------------------------


def hidden_states(model, ids):
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
    return [h[0] for h in out.hidden_states]  # num_layers + 1 tensors of (T, hidden)


def change_by_layers(model, ids, position, new_id):
    """Correct, layer by layer and position by position."""
    edited = ids.clone()
    edited[0, position] = new_id
    rows = []
    for a, b in zip(hidden_states(model, ids), hidden_states(model, edited), strict=True):
        rows.append(torch.stack([torch.linalg.vector_norm(b[t] - a[t]) / torch.linalg.vector_norm(a[t])
                                 for t in range(a.shape[0])]))  # fmt: skip
    return torch.stack(rows)


def change_absolute(model, ids, position, new_id):
    edited = ids.clone()
    edited[0, position] = new_id
    return torch.stack(
        [(b - a).norm(dim=-1) for a, b in zip(hidden_states(model, ids), hidden_states(model, edited), strict=True)]
    )


def change_in_place(model, ids, position, new_id):
    before = hidden_states(model, ids)
    ids[0, position] = new_id
    after = hidden_states(model, ids)
    return torch.stack([(b - a).norm(dim=-1) / a.norm(dim=-1) for a, b in zip(before, after, strict=True)])


def test_ex2_starter_is_not_attempted():
    assert ch03.ex2.check(starter).status == NOT_ATTEMPTED


def test_ex2_correct():
    result = ch03.ex2.check(change_by_layers)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (change_absolute, "not the relative change"),
        (change_in_place, "changed the ids it was given"),
        (lambda *args: change_by_layers(*args).T, "layers and positions are swapped"),
        (lambda *args: change_by_layers(*args)[1:], "the first row is missing"),
        (lambda model, ids, position, new_id: change_by_layers(model, ids, position + 1, new_id), "one position"),
    ],
)
def test_ex2_names_the_mistake(wrong, phrase):
    result = ch03.ex2.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message


# ---- exercise 3: greedy_continue -------------------------------------------------------------


def continue_greedily(model, tokenizer, prompt, max_new_tokens):
    """Correct, growing a tensor of ids and reading the top token with torch.topk."""
    ids = torch.tensor([tokenizer.encode(prompt)])
    start = ids.shape[1]
    with torch.no_grad():
        while ids.shape[1] - start < max_new_tokens:
            best = model(ids).logits[0, -1].topk(1).indices
            if best.item() == tokenizer.eos_id:
                break
            ids = torch.cat([ids, best[None]], dim=1)
    return tokenizer.decode(ids[0, start:].tolist())


def continue_past_the_end(model, tokenizer, prompt, max_new_tokens):
    ids = tokenizer.encode(prompt)
    with torch.no_grad():
        for _ in range(max_new_tokens):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return tokenizer.decode(ids[len(tokenizer.encode(prompt)) :])


def continue_without_feedback(model, tokenizer, prompt, max_new_tokens):
    ids = tokenizer.encode(prompt)
    new = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            token = int(model(torch.tensor([ids])).logits[0, -1].argmax())  # the prompt alone, every step
            if token == tokenizer.eos_id:
                break
            new.append(token)
    return tokenizer.decode(new)


def continue_from_first_position(model, tokenizer, prompt, max_new_tokens):
    ids = tokenizer.encode(prompt)
    new = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            token = int(model(torch.tensor([ids + new])).logits[0, 0].argmax())
            if token == tokenizer.eos_id:
                break
            new.append(token)
    return tokenizer.decode(new)


def continue_by_sampling(model, tokenizer, prompt, max_new_tokens):
    ids = tokenizer.encode(prompt)
    new = []
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(max_new_tokens):
            probs = (model(torch.tensor([ids + new])).logits[0, -1] / 5.0).softmax(-1)  # a hot temperature
            token = int(torch.multinomial(probs, 1, generator=g))
            if token == tokenizer.eos_id:
                break
            new.append(token)
    return tokenizer.decode(new)


def test_ex3_starter_is_not_attempted():
    assert ch03.ex3.check(starter).status == NOT_ATTEMPTED


def test_ex3_correct():
    result = ch03.ex3.check(continue_greedily)
    assert result.status == CORRECT, result.message


@pytest.mark.parametrize(
    "wrong, phrase",
    [
        (continue_past_the_end, "end-of-text token"),
        (continue_without_feedback, "each new token must be fed back"),
        (continue_from_first_position, "LAST position's logits"),
        (lambda model, tok, prompt, n: prompt + continue_greedily(model, tok, prompt, n), "without the prompt"),
        (continue_by_sampling, "greedy decoding writes"),
        (lambda model, tok, prompt, n: tok.encode(prompt), "return the continuation as text"),
    ],
)
def test_ex3_names_the_mistake(wrong, phrase):
    result = ch03.ex3.check(wrong)
    assert result.status == WRONG and phrase in result.message, result.message
