import pytest
from minigpt import ModelConfig
from minigpt.config import swiglu_intermediate_size


def test_head_dim_is_derived():
    c = ModelConfig(hidden_size=256, num_heads=8)
    assert c.head_dim == 32 and c.num_kv_heads == 8 and c.num_query_groups == 1


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(hidden_size=100, num_heads=8), "not divisible by num_heads=8"),
        (dict(hidden_size=64, num_heads=8, num_kv_heads=3), "must divide num_heads=8"),
        (dict(hidden_size=0), "hidden_size must be a positive integer"),
        (dict(num_layers=-1), "num_layers must be a positive integer"),
        (dict(vocab_size=3.5), "vocab_size must be a positive integer"),
        (dict(hidden_size=60, num_heads=4, head_dim=15), "positive even integer"),
        (dict(dropout=1.0), "dropout"),
        (dict(rope_theta=0), "rope_theta"),
        (dict(intermediate_size=-4), "intermediate_size"),
    ],
)
def test_bad_configs_say_what_is_wrong(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        ModelConfig(**kwargs)


def test_divisibility_error_suggests_valid_heads():
    with pytest.raises(ValueError) as err:
        ModelConfig(hidden_size=96, num_heads=7)
    suggested = [int(s) for s in str(err.value).split("(e.g. [")[1].split("]")[0].split(",")]
    assert suggested and all(96 % h == 0 for h in suggested)


def test_unknown_preset_lists_choices():
    with pytest.raises(KeyError, match="llama-7b"):
        ModelConfig.from_preset("llama-8b")


def test_every_preset_cites_a_source():
    for name in ModelConfig.presets():
        assert ModelConfig.from_preset(name).source, name


def test_dict_round_trip_and_unknown_field():
    c = ModelConfig.from_preset("qwen2.5-0.5b")
    assert ModelConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="n_embd"):
        ModelConfig.from_dict({**c.to_dict(), "n_embd": 3})


def test_swiglu_rule_reproduces_published_widths():
    # LLaMA-7B: 8/3 * 4096 = 10922.67, rounded up to a multiple of 256 -> 11008 (facebookresearch/llama model.py).
    assert swiglu_intermediate_size(4096, multiple_of=256) == 11008
    # MiniMind2-Small: 8/3 * 512 rounded up to a multiple of 64 -> 1408 (jingyaogong/minimind).
    assert swiglu_intermediate_size(512, multiple_of=64) == 1408


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(norm_eps=float("inf")), "norm_eps must be a small positive finite number"),
        (dict(norm_eps=float("nan")), "norm_eps must be a small positive finite number"),
        (dict(rope_theta=float("inf")), "rope_theta must be a positive finite number"),
        (dict(rope_theta=float("nan")), "rope_theta must be a positive finite number"),
        (dict(dropout=float("nan")), "dropout"),
        (dict(rope_scaling={"rope_type": "linear", "factor": float("inf")}), "factor must be a finite number"),
    ],
)
def test_infinite_values_are_refused(kwargs, fragment):
    """Accepted before: eps = inf makes every logit 0, theta = inf stops 7 of 8 rotary pairs of a
    16-wide head, a linear factor of inf stops them all (no position information at all)."""
    with pytest.raises(ValueError, match=fragment):
        ModelConfig(**kwargs)


def test_context_length_is_what_the_rope_scaling_declares():
    """How far a scaled RoPE reaches, as transformers reads the same config: factor x the trained
    window for linear, yarn and llama3 (never less than max_seq_len); dynamic NTK sets no limit."""
    assert ModelConfig(max_seq_len=64).context_length == 64
    linear = {"rope_type": "linear", "factor": 4.0}
    assert ModelConfig(max_seq_len=64, rope_scaling=linear).context_length == 4 * 64
    yarn = {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}
    assert ModelConfig(max_seq_len=300, rope_scaling=yarn).context_length == 300  # Qwen-style: already stretched
    assert ModelConfig(max_seq_len=64, rope_scaling=yarn).context_length == 4 * 32
    llama31 = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }  # Llama 3.1's config.json: max_position_embeddings 131072
    assert ModelConfig(max_seq_len=131072, rope_scaling=llama31).context_length == 131072
    assert ModelConfig(max_seq_len=64, rope_scaling={"rope_type": "dynamic", "factor": 2.0}).context_length is None
