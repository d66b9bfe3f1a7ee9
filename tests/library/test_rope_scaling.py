"""rope_scaling (position interpolation, dynamic NTK, YaRN, Llama 3's) against transformers' own code.

The reference is transformers: its rope init functions (modeling_rope_utils.py) for the
frequency tables, LlamaForCausalLM / Qwen2ForCausalLM for whole-model logits, both directions
through config.json. Position interpolation is also checked against its definition.
"""

import json
import math
import warnings

import pytest
import torch
from conftest import randomize
from minigpt import MiniGPT, ModelConfig, generate
from minigpt.model import RotaryEmbedding, rope_frequencies

transformers = pytest.importorskip("transformers")
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS  # noqa: E402

WINDOW = 32  # the "trained" window of the small test models

SCALINGS = {
    "linear": {"rope_type": "linear", "factor": 4.0},
    "dynamic": {"rope_type": "dynamic", "factor": 2.0},
    "yarn": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": WINDOW},
    "yarn-betas": {
        "rope_type": "yarn",
        "factor": 8.0,
        "original_max_position_embeddings": WINDOW,
        "beta_fast": 16,
        "beta_slow": 2,
        "attention_factor": 1.3,
    },
    # Llama 3.1's values (factor 8, low 1, high 4) over the small window: with head_dim 16 one pair
    # turns faster than WINDOW / 4 (kept), one between (blended), the rest slower than WINDOW (divided)
    "llama3": {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": WINDOW,
    },
}


def hf_config(family, scaling, head_dim=16, theta=10000.0, **extra):
    """A transformers config written in its own vocabulary. max_position_embeddings: for
    linear and yarn the stretched length, for dynamic the trained window (where it starts)."""
    longest = WINDOW if scaling["rope_type"] == "dynamic" else int(scaling["factor"] * WINDOW)
    common = dict(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=64 // head_dim,
        num_key_value_heads=2,
        head_dim=head_dim,
        max_position_embeddings=longest,
        rms_norm_eps=1e-6,
        hidden_act="silu",
        rope_parameters={**scaling, "rope_theta": theta},
        **extra,
    )
    cls = transformers.Qwen2Config if family == "qwen2" else transformers.LlamaConfig
    return cls(**common)


def hf_model(family, scaling):
    config = hf_config(family, scaling)
    model = (transformers.Qwen2ForCausalLM if family == "qwen2" else transformers.LlamaForCausalLM)(config)
    with torch.no_grad():
        g = torch.Generator().manual_seed(3)
        for n, p in model.named_parameters():
            p.copy_((1.0 if "norm" in n else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(ids).logits.float()


# ---- frequency tables ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCALINGS)
@pytest.mark.parametrize("head_dim, theta", [(16, 10000.0), (32, 1e6), (64, 5e5)])
def test_inv_freq_matches_transformers_rope_init(name, head_dim, theta):
    scaling = SCALINGS[name]
    config = hf_config("llama", scaling, head_dim=head_dim, theta=theta)
    ours_cfg = ModelConfig(
        hidden_size=64,
        num_heads=64 // head_dim,
        num_kv_heads=1,
        head_dim=head_dim,
        rope_theta=theta,
        max_seq_len=WINDOW if name == "dynamic" else config.max_position_embeddings,
        rope_scaling=scaling,
    )
    rope = RotaryEmbedding(head_dim, theta, ours_cfg.rope_scaling)
    lengths = [None] if name != "dynamic" else [None, WINDOW // 2, WINDOW, 3 * WINDOW, 10 * WINDOW + 7]
    for seq_len in lengths:
        expected, expected_factor = ROPE_INIT_FUNCTIONS[scaling["rope_type"]](config, "cpu", seq_len=seq_len)
        ours, factor = rope_frequencies(head_dim, theta, ours_cfg.rope_scaling, seq_len)
        torch.testing.assert_close(ours, expected.float(), rtol=2e-6, atol=0)
        assert factor == pytest.approx(float(expected_factor), rel=1e-12)
        if seq_len is None:
            torch.testing.assert_close(rope.inv_freq, expected.float(), rtol=2e-6, atol=0)


def test_scaling_changes_the_frequencies_the_way_it_says():
    plain, _ = rope_frequencies(64, 10000.0)
    linear, _ = rope_frequencies(64, 10000.0, {"rope_type": "linear", "factor": 4.0})
    torch.testing.assert_close(linear * 4, plain)
    yarn, af = rope_frequencies(64, 10000.0, SCALINGS["yarn"] | {"original_max_position_embeddings": 256})
    assert yarn[0] == plain[0] and torch.allclose(yarn[-1], plain[-1] / 4)  # fast pairs kept, slow ones interpolated
    assert af == pytest.approx(0.1 * math.log(4.0) + 1.0)
    # dynamic: nothing changes inside the window; past it the base grows, every speed but pair 0 drops
    cfg = {"rope_type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 256}
    torch.testing.assert_close(rope_frequencies(64, 10000.0, cfg, 200)[0], plain)
    longer = rope_frequencies(64, 10000.0, cfg, 1024)[0]
    assert longer[0] == plain[0] and (longer[1:] < plain[1:]).all()


def test_linear_scaling_rotates_position_m_as_plain_rope_rotates_m_over_factor():
    """Position interpolation by its definition (Chen et al. 2023): positions m -> m / factor."""
    factor = 4.0
    scaled = RotaryEmbedding(32, 10000.0, {"rope_type": "linear", "factor": factor})
    plain = RotaryEmbedding(32, 10000.0)
    x = torch.zeros(1, 1, 32)
    positions = torch.arange(0, 1000, 7)[None]
    cos_s, sin_s = scaled(x, positions)
    cos_p, sin_p = plain(x, positions.float() / factor)
    torch.testing.assert_close(cos_s, cos_p, atol=1e-5, rtol=0)
    torch.testing.assert_close(sin_s, sin_p, atol=1e-5, rtol=0)


# ---- whole models, both directions -----------------------------------------------------------


@pytest.mark.parametrize("family", ["llama", "qwen2"])
@pytest.mark.parametrize("name", SCALINGS)
def test_transformers_folder_with_rope_scaling_gives_equal_logits(family, name, tmp_path):
    reference = hf_model(family, SCALINGS[name])
    reference.save_pretrained(tmp_path)
    ours = MiniGPT.from_pretrained(tmp_path)
    assert ours.config.rope_scaling["rope_type"] == SCALINGS[name]["rope_type"]
    # past the trained window, where the scaling matters, and below minigpt's limit (factor x window)
    t = {"dynamic": 2 * WINDOW - 8, "yarn-betas": 5 * WINDOW}.get(name, 3 * WINDOW)
    assert WINDOW < t <= ours.config.max_seq_len
    ids = torch.randint(0, 300, (2, t), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(reference, ids), atol=2e-5, rtol=0)
    plain = MiniGPT(ModelConfig(**{**ours.config.to_dict(), "rope_scaling": None}))
    plain.load_state_dict(ours.state_dict())
    assert not torch.allclose(logits_of(plain.eval(), ids), logits_of(ours, ids), atol=1e-3)  # scaling did something


@pytest.mark.parametrize("name", ["linear", "dynamic", "yarn", "llama3"])
def test_minigpt_folder_with_rope_scaling_loads_into_transformers(name, tmp_path):
    scaling = dict(SCALINGS[name])
    if name == "dynamic":
        scaling["original_max_position_embeddings"] = WINDOW
    ours = randomize(MiniGPT(ModelConfig.from_preset("tiny", max_seq_len=4 * WINDOW, rope_scaling=scaling))).eval()
    ours.save_pretrained(tmp_path)
    reference = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    ids = torch.randint(0, 256, (2, 3 * WINDOW), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(reference, ids), atol=2e-5, rtol=0)
    again = MiniGPT.from_pretrained(tmp_path)
    assert again.config == ours.config  # rope_scaling and max_seq_len survive config.json


def test_legacy_type_key_and_old_style_config_json(tmp_path):
    cfg = ModelConfig.from_preset("tiny", rope_scaling={"type": "linear", "factor": 2})
    assert cfg.rope_scaling == {"rope_type": "linear", "factor": 2.0}
    ours = randomize(MiniGPT(cfg)).eval()
    ours.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    # a transformers < 5 config.json: rope_theta at the top, rope_scaling with the legacy key
    del written["rope_parameters"]
    written["rope_scaling"] = {"type": "linear", "factor": 2.0}
    (tmp_path / "config.json").write_text(json.dumps(written))
    again = MiniGPT.from_pretrained(tmp_path)
    assert again.config.rope_scaling == cfg.rope_scaling
    ids = torch.randint(0, 256, (1, 50))
    torch.testing.assert_close(logits_of(again, ids), logits_of(ours, ids), atol=0, rtol=0)


def test_default_rope_type_means_no_scaling():
    assert ModelConfig.from_preset("tiny", rope_scaling={"rope_type": "default"}).rope_scaling is None
    assert ModelConfig.from_preset("tiny", rope_scaling=None).rope_scaling is None


@pytest.mark.parametrize(
    "scaling, fragment",
    [
        ({"rope_type": "longrope", "factor": 8.0}, "rope_type='longrope' is not implemented"),
        ({"rope_type": "linear"}, "factor must be a finite number >= 1"),
        ({"rope_type": "linear", "factor": 0.5}, "factor must be a finite number >= 1"),
        ({"rope_type": "linear", "factor": "2"}, "factor must be a finite number >= 1"),
        ({"rope_type": "linear", "factor": math.inf}, "factor must be a finite number >= 1"),
        ({"rope_type": "linear", "factor": math.nan}, "factor must be a finite number >= 1"),
        ({"rope_type": "yarn", "factor": 2.0, "beta_fast": math.inf}, "beta_fast must be a positive finite"),
        ({"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0}, "needs low_freq_factor"),
        (
            {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0},
            "high_freq_factor=1.0 must be > low_freq_factor=4.0",
        ),
        ({"rope_type": "linear", "factor": 2.0, "beta_fast": 3}, r"does not take \['beta_fast'\]"),
        ({"rope_type": "dynamic", "factor": 2.0, "original_max_position_embeddings": 0}, "trained window"),
        ({"rope_type": "yarn", "factor": 2.0, "beta_fast": 1, "beta_slow": 4}, "beta_fast=1.0 must be >= beta_slow"),
        ({"factor": 2.0}, "add 'rope_type'"),
        ("linear", "must be None or a dict"),
    ],
)
def test_bad_rope_scaling_fails_clearly(scaling, fragment):
    with pytest.raises(ValueError, match=fragment):
        ModelConfig.from_preset("tiny", rope_scaling=scaling)


@pytest.mark.parametrize("name", ["linear", "yarn", "llama3"])
def test_kv_cached_decoding_with_static_scalings_equals_the_full_forward(name):
    """linear and yarn do not depend on the length: prefill + one-token steps give the logits
    of one forward pass over the whole sequence (dynamic does not, see RotaryEmbedding)."""
    from minigpt.cache import KVCache

    cfg = ModelConfig.from_preset("tiny", max_seq_len=4 * WINDOW, rope_scaling=SCALINGS[name])
    model = randomize(MiniGPT(cfg)).eval()
    ids = torch.randint(0, 256, (1, 2 * WINDOW), generator=torch.Generator().manual_seed(4))
    full = logits_of(model, ids)
    cache = KVCache(cfg, batch_size=1)
    with torch.no_grad():
        steps = [model(ids[:, :WINDOW], kv_cache=cache).logits]
        for t in range(WINDOW, ids.shape[1]):
            steps.append(model(ids[:, t : t + 1], kv_cache=cache).logits)
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-4, rtol=0)


def test_llama3_keeps_fast_pairs_divides_slow_ones_and_blends_between():
    """Llama 3.1's rule by its definition, on the test window: wavelength 2 pi / speed against
    WINDOW / high_freq_factor = 8 and WINDOW / low_freq_factor = 32 positions."""
    plain, _ = rope_frequencies(16, 10000.0)
    ours, factor = rope_frequencies(
        16, 10000.0, ModelConfig.from_preset("tiny", rope_scaling=SCALINGS["llama3"]).rope_scaling
    )
    wavelength = 2 * math.pi / plain
    assert wavelength[0] < 8 < wavelength[1] < 32 < wavelength[2] and factor == 1.0
    assert ours[0] == plain[0]  # short wavelength: kept
    torch.testing.assert_close(ours[2:], plain[2:] / 8)  # long: interpolated
    blend = (WINDOW / wavelength[1] - 1.0) / (4.0 - 1.0)  # 0 at 32 positions, 1 at 8
    torch.testing.assert_close(ours[1], (1 - blend) * plain[1] / 8 + blend * plain[1])


# ---- a scaled model runs as long as its scaling says ------------------------------------------


@pytest.mark.parametrize(
    "scaling",
    [{"rope_type": "linear", "factor": 4.0}, {"rope_type": "dynamic", "factor": 2.0}],
    ids=["linear-4", "dynamic-2"],
)
def test_a_scaled_model_runs_as_far_as_transformers_runs_it(scaling, tmp_path):
    """The config transformers itself writes: max_position_embeddings 64 and a scaling. transformers
    runs 200 tokens; minigpt refused at 64 (linear) and 128 (dynamic, factor x window) before. Now
    linear reaches 4 x 64 = 256 and dynamic NTK, which recomputes its base for any length, has no
    limit; the logits past the original length are transformers' own."""
    config = transformers.LlamaConfig(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rms_norm_eps=1e-6,
        rope_parameters={**scaling, "rope_theta": 10000.0},
    )
    reference = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(5)
        for n, p in reference.named_parameters():
            p.copy_((1.0 if "norm" in n else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
    reference.save_pretrained(tmp_path)
    ours = MiniGPT.from_pretrained(tmp_path)
    assert ours.config.context_length == (256 if scaling["rope_type"] == "linear" else None)
    ids = torch.randint(0, 300, (1, 200), generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(logits_of(ours, ids), logits_of(reference, ids), atol=2e-5, rtol=0)
    # and generation goes past the original 64 positions without a warning or an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = generate(ours, ids[0, :60].tolist(), 40, eos_token_id=[])
    assert len(out) == 100
