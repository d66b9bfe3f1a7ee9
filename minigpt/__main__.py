"""python -m minigpt {count,train,sample,export} ...

Each subcommand's own module parses its arguments, so `python -m minigpt train --help` is the
trainer's help, written next to the trainer.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "count": ("minigpt.__main__", "count_main", "parameters, memory, KV cache and FLOPs of a config"),
    "train": ("minigpt.train", "main", "train a model (also under torchrun)"),
    "sample": ("minigpt.cli.sample", "main", "generate text with the KV-cached sampler"),
    "export": ("minigpt.train", "export_main", "turn a training checkpoint into a Hugging Face folder"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        lines = [f"  {name:<8} {help_}" for name, (_, _, help_) in SUBCOMMANDS.items()]
        print("usage: python -m minigpt {" + ",".join(SUBCOMMANDS) + "} [--help] ...\n\n" + "\n".join(lines))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    module, function, _ = SUBCOMMANDS[argv[0]]
    return getattr(importlib.import_module(module), function)(argv[1:]) or 0


def count_main(argv: list[str]) -> int:
    from .config import PRESETS, ModelConfig
    from .counting import count_parameters, flops_per_token, kv_cache_bytes_per_token, training_memory, weight_bytes

    parser = argparse.ArgumentParser(
        prog="python -m minigpt count",
        description="Count a model's parameters by component from its config alone, with the memory "
        "its weights, its training state and its KV cache take. The last line is `total: N`.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", choices=sorted(PRESETS), help="a published model's shapes")
    source.add_argument("--config", help="a ModelConfig JSON file, or a Hugging Face folder / config.json")
    args = parser.parse_args(argv)

    if args.preset:
        config = ModelConfig.from_preset(args.preset)
    else:
        config = _config_from_path(args.config)
    gib = 2**30
    print(f"{args.preset or args.config}: hidden {config.hidden_size}, layers {config.num_layers}, heads "
          f"{config.num_heads} (kv {config.num_kv_heads}), vocab {config.vocab_size}, "
          f"intermediate {config.intermediate_size}")
    if config.source:
        print(f"source: {config.source}")
    print()
    print("weights:  " + ", ".join(f"{fmt} {weight_bytes(config, fmt) / gib:.2f} GiB"
                                   for fmt in ("fp32", "bf16", "int8", "int4")))
    print(f"training state with AdamW (fp32, activations excluded): {training_memory(config)['total'] / gib:.2f} GiB")
    print(f"KV cache (bf16): {kv_cache_bytes_per_token(config) / 1024:.1f} KiB per token")
    print(f"forward FLOPs per token at context {config.max_seq_len}: {flops_per_token(config):.3e}")
    print()
    print(count_parameters(config).table())
    return 0


def _config_from_path(path_text: str):
    from pathlib import Path

    from .config import ModelConfig
    from .hf import CONFIG_NAME, from_hf_config

    path = Path(path_text)
    if path.is_dir():
        path = path / CONFIG_NAME
    if not path.exists():
        raise SystemExit(f"error: {path} does not exist.")
    from .config import read_json

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
        raise SystemExit(f"python -m minigpt count: error: {message if str(path) in message else f'{path}: {message}'}")


if __name__ == "__main__":
    sys.exit(main())
