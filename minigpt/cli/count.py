"""`python -m minigpt count`: a config's parameters by component, with the memory of its weights,
its training state and its KV cache, from the config alone (minigpt.counting)."""

from __future__ import annotations

from pathlib import Path

from ..config import PRESETS, ModelConfig, read_json
from ..counting import count_parameters, flops_per_token, kv_cache_bytes_per_token, training_memory, weight_bytes
from ..hf_config import from_hf_config
from ..hf_format import CONFIG_NAME
from .common import ArgumentParser, Refusal, command

PROG = "python -m minigpt count"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Count a model's parameters by component from its config alone, with the memory "
        "its weights, its training state and its KV cache take. The last line is `total: N`.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", choices=sorted(PRESETS), help="a published model's shapes")
    source.add_argument("--config", help="a ModelConfig JSON file, or a Hugging Face folder / config.json")
    return parser


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = ModelConfig.from_preset(args.preset) if args.preset else config_from_path(args.config)
    gib = 2**30
    print(
        f"{args.preset or args.config}: hidden {config.hidden_size}, layers {config.num_layers}, heads "
        f"{config.num_heads} (kv {config.num_kv_heads}), vocab {config.vocab_size}, "
        f"intermediate {config.intermediate_size}"
    )
    if config.source:
        print(f"source: {config.source}")
    print()
    print(
        "weights:  "
        + ", ".join(f"{fmt} {weight_bytes(config, fmt) / gib:.2f} GiB" for fmt in ("fp32", "bf16", "int8", "int4"))
    )
    print(f"training state with AdamW (fp32, activations excluded): {training_memory(config)['total'] / gib:.2f} GiB")
    print(f"KV cache (bf16): {kv_cache_bytes_per_token(config) / 1024:.1f} KiB per token")
    print(f"forward FLOPs per token at context {config.max_seq_len}: {flops_per_token(config):.3e}")
    print()
    print(count_parameters(config).table())
    return 0


def config_from_path(path_text: str) -> ModelConfig:
    """A ModelConfig JSON file, or a Hugging Face config.json (or its folder); a bad file is
    refused with one line naming it."""
    path = Path(path_text)
    if path.is_dir():
        path = path / CONFIG_NAME
    if not path.exists():
        raise Refusal(f"--config {path} does not exist.")
    try:
        data = read_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object ({{...}}), got a {type(data).__name__}.")
        if "model_type" in data:
            return from_hf_config(data, str(path))
        try:
            return ModelConfig.from_dict(data)
        except TypeError as e:  # e.g. a value of the wrong kind reaching a comparison
            raise ValueError(f"{path}: {e}") from None
    except ValueError as e:
        message = str(e)
        raise Refusal(message if str(path) in message else f"{path}: {message}") from None
