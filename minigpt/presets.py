"""The shapes of published models (and the course's own), by name: ModelConfig.from_preset(name).

Each entry is a dict of ModelConfig fields and names where its numbers come from; the values
are data, checked by ModelConfig when a preset is built (tests/library/test_config.py and
test_counting.py compare them with the published counts).
"""

from __future__ import annotations

# Shapes of published models. Each entry names where its numbers come from.
PRESETS: dict[str, dict] = {
    "tiny": dict(
        vocab_size=256,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        num_kv_heads=2,
        intermediate_size=176,
        max_seq_len=128,
        tie_word_embeddings=True,
        source="A small config for tests, not a published model.",
    ),
    "course": dict(
        vocab_size=4096,
        hidden_size=256,
        num_layers=6,
        num_heads=8,
        num_kv_heads=2,
        intermediate_size=688,
        max_seq_len=512,
        rope_theta=10000.0,
        norm_eps=1e-5,
        tie_word_embeddings=True,
        source="The course model shipped in minigpt/assets (see its model card).",
    ),
    "minimind2-small": dict(
        vocab_size=6400,
        hidden_size=512,
        num_layers=8,
        num_heads=8,
        num_kv_heads=2,
        intermediate_size=1408,
        max_seq_len=32768,
        rope_theta=1e6,
        norm_eps=1e-5,
        tie_word_embeddings=True,
        source="MiniMind2-Small (26M): github.com/jingyaogong/minimind, model/model_minimind.py "
        "(MiniMindConfig defaults: hidden 512, 8 layers, 8 heads, 2 KV heads, vocab 6400; "
        "intermediate = 64 * ceil(512 * 8/3 / 64) = 1408).",
    ),
    "minimind2": dict(
        vocab_size=6400,
        hidden_size=768,
        num_layers=16,
        num_heads=8,
        num_kv_heads=2,
        intermediate_size=2048,
        max_seq_len=32768,
        rope_theta=1e6,
        norm_eps=1e-5,
        tie_word_embeddings=True,
        source="MiniMind2 (104M): github.com/jingyaogong/minimind README (hidden 768, 16 layers); "
        "other fields as MiniMindConfig; intermediate = 64 * ceil(768 * 8/3 / 64) = 2048.",
    ),
    "llama-7b": dict(
        vocab_size=32000,
        hidden_size=4096,
        num_layers=32,
        num_heads=32,
        num_kv_heads=32,
        intermediate_size=11008,
        max_seq_len=4096,
        rope_theta=10000.0,
        norm_eps=1e-5,
        tie_word_embeddings=False,
        source="LLaMA 7B: Touvron et al. 2023, arXiv:2302.13971, Table 2 (dim 4096, 32 heads, "
        "32 layers); intermediate 11008, vocab 32000, context 4096 and eps 1e-5 from "
        "huggingface.co/meta-llama/Llama-2-7b-hf config.json (LLaMA-1 7B: context 2048, eps 1e-6).",
    ),
    "qwen2.5-0.5b": dict(
        vocab_size=151936,
        hidden_size=896,
        num_layers=24,
        num_heads=14,
        num_kv_heads=2,
        intermediate_size=4864,
        max_seq_len=32768,
        rope_theta=1e6,
        norm_eps=1e-6,
        tie_word_embeddings=True,
        qkv_bias=True,
        source="Qwen2.5-0.5B: huggingface.co/Qwen/Qwen2.5-0.5B config.json.",
    ),
    "qwen2.5-1.5b": dict(
        vocab_size=151936,
        hidden_size=1536,
        num_layers=28,
        num_heads=12,
        num_kv_heads=2,
        intermediate_size=8960,
        max_seq_len=131072,
        rope_theta=1e6,
        norm_eps=1e-6,
        tie_word_embeddings=True,
        qkv_bias=True,
        source="Qwen2.5-1.5B: huggingface.co/Qwen/Qwen2.5-1.5B config.json.",
    ),
    "qwen2.5-7b": dict(
        vocab_size=152064,
        hidden_size=3584,
        num_layers=28,
        num_heads=28,
        num_kv_heads=4,
        intermediate_size=18944,
        max_seq_len=131072,
        rope_theta=1e6,
        norm_eps=1e-6,
        tie_word_embeddings=False,
        qkv_bias=True,
        source="Qwen2.5-7B: huggingface.co/Qwen/Qwen2.5-7B config.json.",
    ),
}
