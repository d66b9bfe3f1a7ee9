import subprocess
import sys

import pytest
import torch
from minigpt import KVCache, MiniGPT, ModelConfig, count_parameters
from minigpt.counting import (
    flops_per_token,
    kv_cache_bytes_per_token,
    latent_attention,
    moe_parameters,
    training_budget,
    training_memory,
    weight_bytes,
)


@pytest.mark.parametrize("preset", ModelConfig.presets())
def test_count_equals_the_built_model(preset):
    config = ModelConfig.from_preset(preset)
    with torch.device("meta"):
        model = MiniGPT(config)
    count = count_parameters(config)
    assert count.total == sum(p.numel() for p in model.parameters())
    layer = model.model.layers[0]
    assert count.per_layer == sum(p.numel() for p in layer.parameters())
    assert count.breakdown["attention.k"] == config.num_layers * sum(
        p.numel() for p in layer.self_attn.k_proj.parameters()
    )


# The published configs, written in Hugging Face's terms (not through minigpt.hf).
PUBLISHED = {
    # huggingface.co/meta-llama/Llama-2-7b-hf config.json
    "llama-7b": (
        "LlamaConfig",
        dict(
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            tie_word_embeddings=False,
        ),
    ),
    # huggingface.co/Qwen/Qwen2.5-0.5B config.json
    "qwen2.5-0.5b": (
        "Qwen2Config",
        dict(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            tie_word_embeddings=True,
        ),
    ),
    # huggingface.co/Qwen/Qwen2.5-7B config.json
    "qwen2.5-7b": (
        "Qwen2Config",
        dict(
            vocab_size=152064,
            hidden_size=3584,
            intermediate_size=18944,
            num_hidden_layers=28,
            num_attention_heads=28,
            num_key_value_heads=4,
            tie_word_embeddings=False,
        ),
    ),
    # github.com/jingyaogong/minimind MiniMindConfig defaults, as a Llama (no biases, tied)
    "minimind2-small": (
        "LlamaConfig",
        dict(
            vocab_size=6400,
            hidden_size=512,
            intermediate_size=1408,
            num_hidden_layers=8,
            num_attention_heads=8,
            num_key_value_heads=2,
            tie_word_embeddings=True,
        ),
    ),
}
# What the issue recorded from transformers on the meta device; checked here against transformers itself.
EXPECTED = {"llama-7b": 6738415616, "qwen2.5-0.5b": 494032768, "minimind2-small": 25829888}


@pytest.mark.parametrize("preset", PUBLISHED)
def test_count_equals_transformers_on_meta(preset):
    transformers = pytest.importorskip("transformers")
    config_class, kwargs = PUBLISHED[preset]
    hf_config = getattr(transformers, config_class)(**kwargs)
    with torch.device("meta"):
        hf = transformers.AutoModelForCausalLM.from_config(hf_config)
    hf_total = hf.num_parameters()
    assert count_parameters(ModelConfig.from_preset(preset)).total == hf_total
    if preset in EXPECTED:
        assert hf_total == EXPECTED[preset]


def test_cli_prints_table_and_total_line():
    out = subprocess.run(
        [sys.executable, "-m", "minigpt", "count", "--preset", "llama-7b"], capture_output=True, text=True, check=True
    ).stdout
    last = out.strip().splitlines()[-1]
    assert last.startswith("total: ") and last[len("total: ") :].isdigit()
    assert int(last.split(": ")[1]) == sum(p.numel() for p in _meta_model("llama-7b").parameters())
    assert "mlp.gate" in out and "attention.q" in out


def test_cli_reads_a_hugging_face_folder(tmp_path):
    MiniGPT(ModelConfig.from_preset("tiny", qkv_bias=True)).save_pretrained(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "minigpt", "count", "--config", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().endswith(f"total: {count_parameters(ModelConfig.from_preset('tiny', qkv_bias=True)).total}")


def test_cli_help_and_bad_command():
    help_text = subprocess.run(
        [sys.executable, "-m", "minigpt", "count", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--preset" in help_text
    bad = subprocess.run([sys.executable, "-m", "minigpt", "cuont"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command 'cuont'" in bad.stderr


def _meta_model(preset):
    with torch.device("meta"):
        return MiniGPT(ModelConfig.from_preset(preset))


def test_kv_cache_formula_equals_the_allocated_cache():
    config = ModelConfig.from_preset("tiny", num_kv_heads=1)
    cache = KVCache(config, batch_size=3, max_len=100, dtype=torch.bfloat16)
    assert cache.nbytes == 3 * 100 * kv_cache_bytes_per_token(config, bytes_per_value=2)


@pytest.mark.parametrize("dtype, fmt", [(torch.float32, "fp32"), (torch.bfloat16, "bf16")])
def test_weight_bytes_equal_the_safetensors_payload(tmp_path, dtype, fmt):
    import json
    import struct

    config = ModelConfig.from_preset("tiny", tie_word_embeddings=False)
    MiniGPT(config).save_pretrained(tmp_path, dtype=dtype)
    raw = (tmp_path / "model.safetensors").read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    assert len(raw) - 8 - header_len == weight_bytes(config, fmt)
    header = json.loads(raw[8 : 8 + header_len])
    assert len([k for k in header if k != "__metadata__"]) == len(list(MiniGPT(config).parameters()))


def test_quantized_sizes_include_scales():
    config = ModelConfig.from_preset("llama-7b")
    n = count_parameters(config).total
    assert weight_bytes(config, "int4", group_size=128) == n // 2 + (-(-n // 128)) * 2
    assert weight_bytes(config, "int8", group_size=n) == n + 2
    with pytest.raises(ValueError, match="int3"):
        weight_bytes(config, "int3")


def test_training_memory_is_sixteen_bytes_per_parameter():
    config = ModelConfig.from_preset("minimind2-small")
    n = count_parameters(config).total
    assert training_memory(config)["total"] == 16 * n
    assert training_memory(config, mixed_precision=True)["total"] == 16 * n


def test_flops_equal_torch_flop_counter():
    """torch's FlopCounterMode counts every matmul of a forward pass, independently of our formula.
    With a full (uncached) forward of T tokens, attention is T x T, so per token it is context T."""
    from torch.utils.flop_counter import FlopCounterMode

    config = ModelConfig.from_preset("tiny", num_kv_heads=2, tie_word_embeddings=False)
    model = MiniGPT(config).eval()
    t = 32
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(2, t, dtype=torch.long), output_attentions=True)
    assert counter.get_total_flops() == 2 * t * flops_per_token(config, context=t)
    assert flops_per_token(config, context=t, training=True) == 3 * flops_per_token(config, context=t)


# Mixtral 8x7B, Jiang et al. 2024 (arXiv:2401.04088), Table 1: dim 4096, 32 layers, head_dim 128,
# hidden_dim 14336, 32 heads, 8 KV heads, vocab 32000, 8 experts, top 2.
MIXTRAL = dict(
    vocab_size=32000,
    hidden_size=4096,
    num_layers=32,
    num_heads=32,
    num_kv_heads=8,
    intermediate_size=14336,
    max_seq_len=32768,
    tie_word_embeddings=False,
)


def test_moe_total_equals_transformers_mixtral_on_meta():
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.MixtralConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        num_local_experts=8,
        num_experts_per_tok=2,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        hf = transformers.AutoModelForCausalLM.from_config(hf_config)
    names = {n: p.numel() for n, p in hf.named_parameters()}
    counts = moe_parameters(ModelConfig(**MIXTRAL), num_experts=8, experts_per_token=2)
    assert counts["total"] == sum(names.values())
    # Active by hand from transformers' own tensors: everything outside the experts, plus 2/8 of them.
    experts = sum(v for n, v in names.items() if ".experts." in n)
    assert counts["experts"] == experts
    assert counts["active"] == sum(names.values()) - experts + experts * 2 // 8
    # The paper's rounded figures: 47B parameters, 13B active.
    assert round(counts["total"] / 1e9) == 47 and round(counts["active"] / 1e9) == 13


def test_moe_with_one_expert_is_the_dense_model_plus_its_router():
    config = ModelConfig.from_preset("course")
    counts = moe_parameters(config, num_experts=1, experts_per_token=1, context=64)
    router = config.num_layers * config.hidden_size
    assert counts["total"] == counts["active"] == count_parameters(config).total + router
    assert counts["forward_flops_per_token"] == flops_per_token(config, context=64) + 2 * router
    with pytest.raises(ValueError, match="more than num_experts"):
        moe_parameters(config, num_experts=2, experts_per_token=3)
    with pytest.raises(ValueError, match="positive integer"):
        moe_parameters(config, num_experts=0, experts_per_token=1)


def test_training_budget_of_llama_7b_by_hand():
    config = ModelConfig.from_preset("llama-7b")
    budget = training_budget(config, tokens=10**12, context=4096, batch_size=2)
    n = 6738415616  # transformers on the meta device (test_count_equals_transformers_on_meta)
    assert budget["parameters"] == n
    assert budget["non_embedding_parameters"] == n - 2 * 32000 * 4096  # untied: embedding and head
    assert budget["six_nd"] == 6 * n * 10**12
    # Every matmul weight (the head included, the embedding lookup not) x 2 x 3, plus attention
    # 3 x 4 x layers x width x context per token.
    matmul = n - 32000 * 4096 - (2 * 32 + 1) * 4096
    assert budget["training_flops"] == 10**12 * 3 * (2 * matmul + 4 * 32 * 4096 * 4096)
    assert budget["training_state_bytes"] == 16 * n
    assert budget["weights_bytes"] == 2 * n
    assert budget["kv_cache_bytes"] == 2 * 32 * 4096 * 2 * 4096 * 2  # K and V, layers, width, bf16, tokens, batch
    with pytest.raises(ValueError, match="tokens must be a positive integer"):
        training_budget(config, tokens=0)


# ---- multi-head latent attention (DeepSeek-V2) ----------------------------------------------------------

# DeepSeek-V2 (DeepSeek-AI 2024, arXiv:2405.04434), sec. 3.1.2: 60 layers, hidden 5120, 128 heads of
# d_h = 128, KV compression d_c = 512, query compression d_c' = 1536, decoupled rotary head d_h^R = 64
# (the same numbers as the published config.json: kv_lora_rank, q_lora_rank, qk_rope_head_dim).
DEEPSEEK_V2 = ModelConfig(
    vocab_size=102400,
    hidden_size=5120,
    num_layers=60,
    num_heads=128,
    num_kv_heads=128,
    head_dim=128,
    intermediate_size=12288,
)
# DeepSeek LLM 67B (DeepSeek-AI 2024, arXiv:2401.02954, Table 2): 95 layers, width 8192, 64 heads,
# 8 key/value heads of 128: the model DeepSeek-V2's abstract compares its KV cache with.
DEEPSEEK_67B = ModelConfig(
    vocab_size=102400,
    hidden_size=8192,
    num_layers=95,
    num_heads=64,
    num_kv_heads=8,
    intermediate_size=22016,
)


def _hf_latent_attention(config, kv_lora_rank, rope, q_lora_rank, nope, v_dim):
    """transformers' own DeepseekV2Attention with these shapes, on the meta device: name -> parameters."""
    transformers = pytest.importorskip("transformers")
    from transformers.models.deepseek_v2.modeling_deepseek_v2 import DeepseekV2Attention

    hf_config = transformers.DeepseekV2Config(
        hidden_size=config.hidden_size,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        num_hidden_layers=config.num_layers,
        kv_lora_rank=kv_lora_rank,
        q_lora_rank=q_lora_rank,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=nope,
        v_head_dim=v_dim,
        attention_bias=False,
    )
    with torch.device("meta"):
        attention = DeepseekV2Attention(hf_config, layer_idx=0)
    return {name.removesuffix(".weight"): p.numel() for name, p in attention.named_parameters()}, attention


@pytest.mark.parametrize("seed", range(6))
def test_latent_attention_equals_transformers_deepseek_v2_on_meta(seed):
    g = torch.Generator().manual_seed(seed)

    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=g))]

    heads = pick([4, 8, 16])  # transformers wants the hidden size a multiple of the heads
    config = ModelConfig(
        vocab_size=1000,
        hidden_size=pick([256, 384, 512]),
        num_layers=pick([2, 3, 7]),
        num_heads=heads,
        num_kv_heads=heads,
        head_dim=pick([16, 32, 64]),
        intermediate_size=512,
    )
    kv_lora_rank, rope = pick([32, 64, 96]), pick([8, 16])
    q_lora_rank = pick([None, 48, 128])
    nope, v_dim = pick([None, 24, 40]), pick([None, 16, 48])  # None: the config's head_dim
    count = latent_attention(config, kv_lora_rank, rope, q_lora_rank, nope, v_dim)
    names, attention = _hf_latent_attention(
        config, kv_lora_rank, rope, q_lora_rank, nope or config.head_dim, v_dim or config.head_dim
    )
    assert count.breakdown == names
    assert count.per_layer == sum(names.values()) and count.total == config.num_layers * sum(names.values())
    # What a token leaves in the cache is what kv_a_proj_with_mqa writes: the latent and the rotary key.
    per_layer = attention.kv_a_proj_with_mqa.out_features
    assert count.cache_values_per_token == config.num_layers * per_layer
    assert count.cache_bytes_per_token == 2 * config.num_layers * per_layer


def test_latent_attention_of_deepseek_v2_against_the_paper():
    count = latent_attention(DEEPSEEK_V2, kv_lora_rank=512, qk_rope_head_dim=64, q_lora_rank=1536)
    names, _ = _hf_latent_attention(DEEPSEEK_V2, 512, 64, 1536, 128, 128)
    assert count.breakdown == names and count.per_layer == 149_227_520
    d_h, layers = 128, 60
    # Table 1 (sec. 2.1.4): MLA caches (d_c + d_h^R) l values per token, "about 9/2 d_h l" with
    # d_c = 4 d_h and d_h^R = d_h / 2, "equal to GQA with only 2.25 groups".
    assert count.cache_values_per_token == (512 + 64) * layers == 9 * d_h * layers // 2
    assert count.cache_values_per_token == 2 * 2.25 * d_h * layers
    mha = kv_cache_bytes_per_token(DEEPSEEK_V2)  # 2 n_h d_h l values: 128 KV heads, bf16
    assert mha == 2 * 128 * d_h * layers * 2
    assert round(count.cache_bytes_per_token / mha, 4) == 0.0176  # 1.76% of multi-head attention's


def test_latent_attention_and_the_abstracts_93_percent():
    """The abstract: DeepSeek-V2 "reduces the KV cache by 93.3%" compared with DeepSeek 67B. The
    architecture alone gives 82.2% (both in 16 bits); sec. 3.2.3 says the deployed model stores each
    cached value in 6 bits on average, and with that the count gives the published 93.3%."""
    dense = kv_cache_bytes_per_token(DEEPSEEK_67B, bytes_per_value=2)
    assert dense == 2 * 95 * 8 * 128 * 2
    bf16 = latent_attention(DEEPSEEK_V2, 512, 64, q_lora_rank=1536).cache_bytes_per_token
    six_bits = latent_attention(DEEPSEEK_V2, 512, 64, q_lora_rank=1536, bytes_per_value=6 / 8).cache_bytes_per_token
    assert round(1 - bf16 / dense, 3) == 0.822
    assert round(1 - six_bits / dense, 3) == 0.933


def test_latent_attention_refuses_bad_shapes():
    config = ModelConfig.from_preset("course")
    with pytest.raises(ValueError, match="kv_lora_rank must be a positive integer"):
        latent_attention(config, 0, 16)
    with pytest.raises(ValueError, match="qk_rope_head_dim must be a positive integer"):
        latent_attention(config, 64, 16.0)
    with pytest.raises(ValueError, match="q_lora_rank must be a positive integer"):
        latent_attention(config, 64, 16, q_lora_rank=-1)
