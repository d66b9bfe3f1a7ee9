"""GenerationConfig: one validated object for generate, stream, beam search and the CLI."""

import dataclasses

import pytest
import torch
from conftest import randomize
from minigpt import MiniGPT, ModelConfig
from minigpt.beam import beam_search
from minigpt.generate import generate, stream
from minigpt.generation_config import GenerationConfig
from minigpt.sampling import choose_next, explain_logits


@pytest.fixture(scope="module")
def model():
    return randomize(MiniGPT(ModelConfig.from_preset("tiny"))).eval()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("top_p", 1.5, r"top_p must be in \(0, 1\], got 1.5"),
        ("top_p", 0, r"top_p must be in \(0, 1\], got 0.*0 would keep nothing"),
        ("temperature", -1.0, r"temperature must be >= 0, got -1.0\. Use 0 for greedy"),
        ("temperature", float("inf"), "temperature must be finite"),
        ("top_k", 2.5, r"top_k must be an integer >= 0 \(0 = no top-k filtering\), got 2.5"),
        ("repetition_penalty", 0, "repetition_penalty must be a positive number"),
        ("num_beams", 0, r"num_beams must be an integer >= 1 \(1 = no beam search\), got 0"),
        ("max_new_tokens", 0, "max_new_tokens must be a positive integer, got 0"),
        ("max_new_tokens", True, "max_new_tokens must be a positive integer, got True"),
        ("length_penalty", float("nan"), "length_penalty must be a finite number"),
        ("use_cache", "no", "use_cache must be True or False, got 'no'"),
        ("stop_strings", [""], "stop_strings must be non-empty strings"),
    ],
)
def test_a_bad_value_is_named_with_its_fix(field, value, message):
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**{field: value})


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(num_beams=2, temperature=0.7), "deterministic"),
        (dict(num_beams=2, compile=True), "beam search runs eagerly"),
        (dict(compile=True, use_cache=False), "leave use_cache=True"),
    ],
)
def test_settings_that_contradict_each_other(settings, message):
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**settings)


def test_unknown_setting_suggests_the_field(model):
    with pytest.raises(TypeError, match="Unknown generation setting 'top_pp'. Did you mean 'top_p'"):
        generate(model, [1, 2], 3, top_pp=0.9)


def test_keywords_and_config_are_the_same_thing(model):
    config = GenerationConfig(
        max_new_tokens=6, temperature=0.9, top_k=20, top_p=0.9, repetition_penalty=1.3, seed=3, eos_token_id=[]
    )
    by_config = generate(model, [1, 2, 3], config=config)
    by_keywords = generate(
        model, [1, 2, 3], 6, temperature=0.9, top_k=20, top_p=0.9, repetition_penalty=1.3, seed=3, eos_token_id=[]
    )
    assert by_config == by_keywords and len(by_config) == 9
    # a keyword wins over the config; the config itself is frozen
    assert len(generate(model, [1, 2, 3], 2, config=config)) == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.top_k = 1  # type: ignore[misc]
    steps = list(stream(model, [1, 2, 3], config=config))
    assert [int(s.token) for s in steps] == by_config[3:]


def test_beam_search_reads_the_same_config(model):
    config = GenerationConfig(max_new_tokens=5, num_beams=3, eos_token_id=[])
    by_config = beam_search(model, [[1, 2, 3]], config=config)[0][0].tokens
    assert by_config == beam_search(model, [[1, 2, 3]], 5, 3, eos_token_id=[])[0][0].tokens
    assert generate(model, [1, 2, 3], config=config)[3:] == by_config
    with pytest.raises(ValueError, match="beam search"):
        stream(model, [1, 2, 3], config=config)


def test_explanations_and_sampling_use_the_same_chain():
    # The distribution explain_logits reports last is the one choose_next draws from: with the same
    # generator state, a draw from it by hand picks the same tokens.
    torch.manual_seed(0)
    logits = torch.randn(4, 50) * 3
    seen = torch.zeros(4, 50, dtype=torch.bool)
    seen[:, :10] = True
    for settings in (
        dict(temperature=0.7, top_k=12, top_p=0.8, repetition_penalty=1.5),
        dict(temperature=1.3),
        dict(temperature=1.0, top_p=0.5),
        dict(temperature=0.0, repetition_penalty=2.0),
    ):
        probs = explain_logits(logits, seen=seen, **settings)
        final = probs[list(probs)[-1]]
        chosen = choose_next(logits, seen=seen, generator=torch.Generator().manual_seed(1), **settings)
        if settings["temperature"] == 0:
            assert torch.equal(chosen, final.argmax(-1))
        else:
            by_hand = torch.multinomial(final, 1, generator=torch.Generator().manual_seed(1)).squeeze(-1)
            assert torch.equal(chosen, by_hand)
        assert list(probs)[0] == "model" and torch.allclose(final.sum(-1), torch.ones(4))
