"""Equivalence with transformers: same weights, same logits, both directions of conversion."""

import json

import pytest
import torch
from conftest import randomize
from minigpt import MiniGPT, ModelConfig

transformers = pytest.importorskip("transformers")

# Written in Hugging Face's own vocabulary, independently of minigpt.hf's translation.
HF_CONFIGS = {
    "llama-mha-tied": ("llama", dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True)),
    "llama-gqa-untied": ("llama", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)),
    "llama-mqa-theta": (
        "llama",
        dict(num_attention_heads=8, num_key_value_heads=1, rope_theta=1e6, tie_word_embeddings=False),
    ),
    "qwen2-gqa-tied": ("qwen2", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)),
    "qwen2-mha-untied": ("qwen2", dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False)),
}


def hf_model(name):
    family, extra = HF_CONFIGS[name]
    common = dict(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=3,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        hidden_act="silu",
    )
    if family == "llama":
        config = transformers.LlamaConfig(**common, **extra)
        model = transformers.LlamaForCausalLM(config)
    else:
        config = transformers.Qwen2Config(**common, **extra)
        model = transformers.Qwen2ForCausalLM(config)
    with torch.no_grad():  # move norms off 1 and biases off 0 so a dropped one would show
        g = torch.Generator().manual_seed(7)
        for n, p in model.named_parameters():
            p.copy_((1.0 if "norm" in n else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def logits_of(model, ids, **kwargs):
    with torch.no_grad():
        return model(ids, **kwargs).logits.float()


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_transformers_folder_loads_into_minigpt_with_equal_logits(name, tmp_path):
    reference = hf_model(name)
    reference.save_pretrained(tmp_path)
    ours = MiniGPT.from_pretrained(tmp_path)
    ids = torch.randint(0, 300, (2, 33))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(reference, ids), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(num_kv_heads=4),
        dict(num_kv_heads=2, tie_word_embeddings=False),
        dict(num_kv_heads=1, qkv_bias=True),
        dict(num_kv_heads=2, qkv_bias=True, tie_word_embeddings=False, rope_theta=5e5),
    ],
    ids=["mha", "gqa-untied", "mqa-qwen2", "gqa-qwen2-untied"],
)
def test_minigpt_folder_loads_into_transformers_with_equal_logits(overrides, tmp_path):
    ours = randomize(MiniGPT(ModelConfig.from_preset("tiny", **overrides))).eval()
    ours.save_pretrained(tmp_path)
    reference = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    expected_class = "Qwen2ForCausalLM" if overrides.get("qkv_bias") else "LlamaForCausalLM"
    assert type(reference).__name__ == expected_class
    ids = torch.randint(0, 256, (3, 40))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(reference, ids), atol=1e-5, rtol=0)
    # and back: a folder written by transformers from that model loads into minigpt unchanged
    reference.save_pretrained(tmp_path / "again")
    again = MiniGPT.from_pretrained(tmp_path / "again")
    torch.testing.assert_close(logits_of(again, ids), logits_of(ours, ids), atol=0, rtol=0)


@pytest.mark.parametrize("name", ["llama-gqa-untied", "qwen2-gqa-tied"])
def test_labels_give_the_loss_of_transformers(name, tmp_path):
    # Hugging Face semantics: labels are the input ids (-100 = no loss), shifted inside the model.
    reference = hf_model(name)
    reference.save_pretrained(tmp_path)
    ours = MiniGPT.from_pretrained(tmp_path)
    ids = torch.randint(0, 300, (3, 25))
    labels = ids.clone()
    labels[0, :6] = -100  # a prompt that takes no loss
    labels[2, -3:] = -100
    with torch.no_grad():
        theirs = reference(ids, labels=labels).loss
        mine = ours(ids, labels=labels).loss
        shifted = ours(ids, targets=torch.cat([labels[:, 1:], torch.full((3, 1), -100)], 1)).loss
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)
    torch.testing.assert_close(shifted, mine, atol=0, rtol=0)  # targets= is the same loss, shifted by hand


def test_left_padded_batch_matches_transformers(tmp_path):
    reference = hf_model("llama-gqa-untied")
    reference.save_pretrained(tmp_path)
    ours = MiniGPT.from_pretrained(tmp_path)
    ids = torch.randint(0, 300, (2, 20))
    mask = torch.ones(2, 20, dtype=torch.long)
    mask[0, :6] = 0
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    kwargs = dict(attention_mask=mask, position_ids=positions)
    a, b = logits_of(ours, ids, **kwargs), logits_of(reference, ids, **kwargs)
    torch.testing.assert_close(a[mask.bool()], b[mask.bool()], atol=1e-5, rtol=0)


def test_bf16_export_keeps_bf16_on_disk(tmp_path):
    from safetensors import safe_open

    ours = MiniGPT(ModelConfig.from_preset("tiny"))
    ours.save_pretrained(tmp_path, dtype=torch.bfloat16)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
        assert "lm_head.weight" not in f.keys()  # tied: stored once, as transformers does
    assert json.loads((tmp_path / "config.json").read_text())["torch_dtype"] == "bfloat16"
    loaded = MiniGPT.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert loaded.lm_head.weight is loaded.model.embed_tokens.weight


def _write(tmp_path, **changes):
    ours = MiniGPT(ModelConfig.from_preset("tiny"))
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config.update(changes)
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize(
    "changes, fragment",
    [
        (dict(model_type="gpt2"), "model_type='gpt2' is not supported"),
        (dict(rope_parameters={"rope_type": "longrope", "rope_theta": 5e5}), "rope_type='longrope'"),
        (dict(vocab_size=512), r"embed_tokens.weight has shape \(256, 64\).*implies \(512, 64\)"),
        (dict(num_hidden_layers=3), r"Missing: \['model.layers.2"),
        (dict(attention_bias=True), "biases on q/k/v only"),
    ],
)
def test_mismatched_folders_fail_clearly(tmp_path, changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        MiniGPT.from_pretrained(_write(tmp_path, **changes))


def test_missing_folder_says_nothing_is_downloaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        MiniGPT.from_pretrained(tmp_path / "Qwen/Qwen2.5-0.5B")


def test_pickle_checkpoint_is_read_with_weights_only(tmp_path):
    ours = randomize(MiniGPT(ModelConfig.from_preset("tiny"))).eval()
    ours.save_pretrained(tmp_path)
    state = {k: v for k, v in ours.state_dict().items()}
    (tmp_path / "model.safetensors").unlink()
    torch.save(state, tmp_path / "pytorch_model.bin")
    ids = torch.randint(0, 256, (1, 10))
    torch.testing.assert_close(logits_of(MiniGPT.from_pretrained(tmp_path), ids), logits_of(ours, ids))

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"model.embed_tokens.weight": Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(Exception, match="[Ww]eights only"):
        MiniGPT.from_pretrained(tmp_path)


def test_tied_config_over_a_distinct_head_loads_untied_like_transformers(tmp_path):
    """config.json says tie_word_embeddings: true, but the file holds an lm_head.weight of its own:
    transformers keeps both tensors (untied) and warns; so does minigpt, with the same logits."""
    reference = hf_model("llama-gqa-untied")
    reference.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**data, "tie_word_embeddings": True}))
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    with pytest.warns(UserWarning, match="loaded untied"):
        ours = MiniGPT.from_pretrained(tmp_path)
    assert not ours.config.tie_word_embeddings and ours.lm_head.weight is not ours.model.embed_tokens.weight
    ids = torch.randint(0, 300, (2, 17))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(theirs, ids), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["bfloat16", "bf16", torch.bfloat16, "auto"])
def test_from_pretrained_takes_the_dtype_by_name(name, tmp_path):
    """transformers takes dtype="bfloat16" (and "auto": the dtype config.json records); so does minigpt."""
    MiniGPT(ModelConfig.from_preset("tiny")).save_pretrained(tmp_path, dtype=torch.bfloat16)
    model = MiniGPT.from_pretrained(tmp_path, dtype=name)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    reference = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype="bfloat16")
    assert {p.dtype for p in reference.parameters()} == {torch.bfloat16}
    with pytest.raises(ValueError, match="from_pretrained dtype 'half' is not a weight format"):
        MiniGPT.from_pretrained(tmp_path, dtype="half")
