"""The shipped course model: it loads with no download, its card matches it, and the probe
evaluation scores a model that knows the answers differently from one that does not."""

import json

import pytest
import torch
from minigpt import ModelConfig
from minigpt.course import (
    COURSE_MODEL_DIR,
    complete_probes,
    course_model_card,
    evaluate_course_probes,
    load_course_model,
)
from minigpt.data import Probe, course_probes, probe_passes
from minigpt.tokenizer import Tokenizer

shipped = pytest.mark.skipif(not (COURSE_MODEL_DIR / "model.safetensors").exists(), reason="course model not built")


@shipped
def test_course_model_loads_and_matches_its_card():
    model, tokenizer = load_course_model()
    card = course_model_card()
    assert model.num_parameters() == card["parameters"]
    assert ModelConfig.from_dict({**card["config"], "source": ""}) == model.config
    assert tokenizer.vocab_size == card["tokenizer"]["vocab_size"] == model.config.vocab_size
    assert tokenizer.sha256 == card["tokenizer"]["sha256"] == card["training"]["tokenizer"]["sha256"]
    hf_config = json.loads((COURSE_MODEL_DIR / "config.json").read_text())
    assert hf_config["architectures"] == ["LlamaForCausalLM"] and hf_config["torch_dtype"] == "bfloat16"


@shipped
def test_course_model_passes_held_out_probes():
    """The first held-out probes of two kinds the card reports near 100%, decoded greedily: a
    broken export (wrong dtype, shuffled tensors, another tokenizer) would fail them."""
    model, tokenizer = load_course_model()
    probes = [p for p in course_probes(n=10) if p.kind in ("name", "count")]
    completions = complete_probes(model, tokenizer, probes)
    passed = [probe_passes(p.answer, c) for p, c in zip(probes, completions, strict=False)]
    assert sum(passed) / len(passed) >= 0.9, [
        (p.prompt, c) for p, c, ok in zip(probes, completions, passed, strict=False) if not ok
    ]


def test_missing_model_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make course-model"):
        load_course_model(path=tmp_path)


class _Oracle(torch.nn.Module):
    """A 'model' whose next token is always the one that continues `answer_ids`: it scores 100%
    on a probe whose answer is those ids, and 0% on a probe whose answer is anything else."""

    def __init__(self, config, answer_ids):
        super().__init__()
        self.config = config
        self.answer_ids = answer_ids
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.device = torch.device("cpu")

    def forward(self, input_ids, **kwargs):
        from minigpt.model import CausalLMOutput

        b, t = input_ids.shape
        kept = kwargs.get("logits_to_keep") or t
        logits = torch.full((b, kept, self.config.vocab_size), -1e4)
        cache = kwargs.get("kv_cache")
        seen = (cache.length if cache is not None else 0) + t  # tokens read so far, this call's included
        step = seen - self.prompt_len  # which answer token comes next
        if cache is not None:
            cache.advance(t)
        token = self.answer_ids[min(max(step, 0), len(self.answer_ids) - 1)]
        logits[:, -1, token] = 0
        return CausalLMOutput(logits=logits)


def test_probe_scoring_tells_right_from_wrong(tmp_path):
    tokenizer = Tokenizer.train(["hello world, the answer is Paris. " * 50], vocab_size=300)
    answer_ids = tokenizer.encode(" Paris.")
    prompt = "the answer is"
    oracle = _Oracle(ModelConfig.from_preset("tiny", vocab_size=tokenizer.vocab_size), answer_ids)
    oracle.prompt_len = 1 + len(tokenizer.encode(prompt))  # probes start with <|endoftext|>
    right, wrong = Probe("fact", "en", prompt, " Paris"), Probe("fact", "en", prompt, " Rome")
    scores = evaluate_course_probes(oracle, tokenizer, [right, wrong])
    assert scores["fact"] == 0.5 and scores["fact/en"] == 0.5
