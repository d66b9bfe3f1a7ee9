"""The options of `python -m minigpt train`, and every check that needs nothing but them.

The training options are TrainConfig's fields (their help text is the field's); the data and
model options are declared here. Options come from the flags and/or a JSON file (`--config`,
e.g. a run's run_config.json) whose keys are the option names; flags win over the file.

`check_args` runs before any data is prepared and before anything in --out is created or
changed: values, the device, the --out folder (a file? another kind of folder? read-only?), and
for --resume the checkpoint (its step, its windows, its tokenizer). A problem is a Refusal: one
line, exit status 2 (minigpt/cli/common.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import CHECKPOINTS, STATE_NAME, find_checkpoint, list_checkpoints
from ..config import PRESETS, ModelConfig, read_json
from ..devices import resolve_device, resolve_dtype
from ..hf_format import check_tokenizer_sha256
from ..runfolder import check_run_folder, check_writable
from ..tokenizer import MIN_VOCAB_SIZE, Tokenizer
from ..train_config import TrainConfig
from .common import ArgumentParser, HelpFormatter, Refusal

PROG = "python -m minigpt train"
_RENAMED = {"out_dir": "out"}  # TrainConfig field -> option name
DEFAULT_BLOCK_SIZE = 256
SMALL_PRESET_VOCAB = 512  # course data with a preset too small for a byte-level BPE (tiny)


def option(field_name: str) -> str:
    """The flag that sets a TrainConfig field: out_dir -> --out, min_lr -> --min-lr."""
    return "--" + _RENAMED.get(field_name, field_name).replace("_", "-")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Train a MiniGPT (also under `torchrun --nproc_per_node=N -m minigpt train ...`). "
        "Options may also come from a JSON file (--config) with the option names as keys; flags win.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="JSON file of option values, e.g. a run's run_config.json")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="PATH",
        help="continue exactly from a checkpoint folder, or (no value) the newest in --out",
    )

    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        default="course",
        help="'course' (generate the course corpus, train a tokenizer), a token file (.bin with "
        "its .bin.json, from minigpt.data), or .txt/.jsonl files or a folder (needs --tokenizer)",
    )
    data.add_argument("--val-data", metavar="PATH", help="held-out token file (default: the tail of --data)")
    data.add_argument(
        "--val-fraction",
        type=float,
        default=0.02,
        help="share of the data held out for evaluation, cut at a document boundary",
    )
    data.add_argument("--tokenizer", metavar="FILE", help="tokenizer.json to use (course: default trains one)")
    data.add_argument(
        "--vocab-size",
        type=int,
        help="model vocabulary (course: also the tokenizer's). Default: the tokenizer's; course data "
        f"trains one of the preset's vocab_size, or of {SMALL_PRESET_VOCAB} when the preset's is "
        f"below the {MIN_VOCAB_SIZE} ids a byte-level BPE needs (tiny: 256)",
    )
    data.add_argument("--corpus-bytes", type=int, default=8_000_000, help="course: corpus size in UTF-8 bytes")
    data.add_argument("--corpus-seed", type=int, default=0, help="course: corpus generator seed")
    data.add_argument(
        "--block-size",
        type=int,
        help=f"tokens per training window (context length); default {DEFAULT_BLOCK_SIZE}, or the "
        f"model's max_seq_len when that is shorter (tiny: 128)",
    )
    data.add_argument("--stride", type=int, help="distance between window starts (default: block size, no overlap)")

    model = parser.add_argument_group("model")
    model.add_argument("--preset", default="course", choices=sorted(PRESETS), help="model shape")
    model.add_argument("--model-config", metavar="FILE", help="a ModelConfig JSON file instead of --preset")
    model.add_argument("--dropout", type=float, help="override the config's dropout")

    train = parser.add_argument_group("training (TrainConfig)")
    for f in dataclasses.fields(TrainConfig):
        name = "--" + _RENAMED.get(f.name, f.name).replace("_", "-")
        meta = dict(f.metadata)
        help_ = meta.pop("help")
        if f.name == "out_dir":
            help_ = "run folder: run_config.json, run_summary.json, metrics.jsonl, tokenizer.json, data/, checkpoints/"
        if f.type in ("bool", bool):
            train.add_argument(name, dest=f.name, default=f.default, action=argparse.BooleanOptionalAction, help=help_)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type).split(" ")[0]]  # "float | None" -> float
            train.add_argument(name, dest=f.name, default=f.default, type=kind, help=help_, **meta)
    parser.set_defaults(out_dir="runs/minigpt")
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--config")
    pre, _ = first.parse_known_args(argv)
    if pre.config:
        parser.set_defaults(**_config_file(Path(pre.config), parser))
    return parser.parse_args(argv)


def _config_file(path: Path, parser: argparse.ArgumentParser) -> dict:
    """The option values of a --config JSON file, checked against the parser's options."""
    if not path.is_file():
        raise Refusal(f"--config {path}: no such file.")
    try:
        values = read_json(path)
    except ValueError as e:
        raise Refusal(f"--config {e}") from None
    if not isinstance(values, dict):
        raise Refusal(f"--config {path}: expected a JSON object of option values, got a {type(values).__name__}.")
    actions = {a.dest: a for a in parser._actions}
    values = {k.replace("-", "_"): v for k, v in values.items()}
    values = {("out_dir" if k == "out" else k): v for k, v in values.items()}
    unknown = sorted(set(values) - set(actions) - {"config", "resume"})
    if unknown:
        raise Refusal(f"--config {path}: unknown option(s) {unknown}. Known: {sorted(actions)}.")
    for k, v in values.items():
        choices = actions[k].choices if k in actions else None
        if choices and v not in choices:
            raise Refusal(f"--config {path}: {k}={v!r}, expected one of {list(choices)}.")
    values.pop("config", None)
    values.pop("resume", None)
    return values


def base_config(args) -> ModelConfig:
    """--model-config, else --preset: the model's shape before the data sets its vocabulary."""
    if args.model_config:
        return ModelConfig.from_json(args.model_config)
    return ModelConfig.from_preset(args.preset)


def course_vocab_size(args) -> int:
    """The vocabulary of the tokenizer trained for --data course: --vocab-size, else the preset's,
    else (a preset too small for a byte-level BPE, like tiny's 256) SMALL_PRESET_VOCAB."""
    if args.vocab_size:
        return args.vocab_size
    preset = base_config(args).vocab_size
    return preset if preset >= MIN_VOCAB_SIZE else SMALL_PRESET_VOCAB


@dataclass
class Checked:
    """What check_args made of the options: the TrainConfig (built once, here), the --tokenizer
    loaded, and what --resume continues from (a run folder: its newest intact checkpoint)."""

    train_config: TrainConfig
    tokenizer: Tokenizer | None
    resume_from: Path | None


def check_args(args) -> Checked:
    """Everything that can be checked before the data is prepared and before anything in --out
    is created or changed; resolves --block-size."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    try:
        train_config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    except ValueError as e:
        name, rest = str(e).split(" ", 1)
        raise Refusal(f"{option(name.removeprefix('TrainConfig.'))} {rest}") from None
    if args.dtype != "auto":
        try:
            resolve_dtype(args.dtype, resolve_device(args.device))
        except ValueError as e:
            raise Refusal(f"--dtype {args.dtype}: {e}") from None
    if not 0 <= args.val_fraction < 1:
        raise Refusal(f"--val-fraction is the share of the data held out, in [0, 1); got {args.val_fraction}.")
    if args.corpus_bytes <= 0:
        raise Refusal(f"--corpus-bytes must be positive, got {args.corpus_bytes}.")
    if args.stride is not None and args.stride <= 0:
        raise Refusal(f"--stride must be positive, got {args.stride}.")
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise Refusal(f"--dropout is a probability in [0, 1), got {args.dropout}.")
    try:
        config = base_config(args)
    except (OSError, ValueError, TypeError) as e:
        raise Refusal(f"--model-config {args.model_config}: {e}") from None
    if args.vocab_size is not None:
        low = MIN_VOCAB_SIZE if args.data == "course" and not args.tokenizer else 1
        if args.vocab_size < low:
            raise Refusal(
                f"--vocab-size {args.vocab_size} is too small: "
                + (
                    f"a byte-level BPE needs at least {MIN_VOCAB_SIZE} ids (256 bytes + 3 special tokens)."
                    if low > 1
                    else "it must be positive."
                )
            )
    if args.block_size is None:
        args.block_size = min(DEFAULT_BLOCK_SIZE, config.max_seq_len)
    if not 0 < args.block_size <= config.max_seq_len:
        raise Refusal(f"--block-size {args.block_size} must be in 1..{config.max_seq_len} (the model's max_seq_len).")
    if args.data != "course":
        if not Path(args.data).exists():
            raise Refusal(
                f"--data {args.data}: no such file or folder ('course', a .bin token file, or .txt/.jsonl files)."
            )
        if Path(args.data).suffix != ".bin" and not args.tokenizer:
            raise Refusal(f"--data {args.data} is text; pass the --tokenizer tokenizer.json to encode it with.")
    if args.val_data and not Path(args.val_data).is_file():
        raise Refusal(f"--val-data {args.val_data}: no such file.")
    tokenizer = None
    if args.tokenizer:
        try:
            tokenizer = Tokenizer.from_file(args.tokenizer)
        except (OSError, ValueError) as e:
            raise Refusal(f"--tokenizer: {e}") from None
        if args.vocab_size and tokenizer.vocab_size > args.vocab_size:
            raise Refusal(
                f"--vocab-size {args.vocab_size} is smaller than --tokenizer {args.tokenizer}'s {tokenizer.vocab_size} "
                f"ids: ids past the vocabulary would have no embedding. Raise --vocab-size or leave it out."
            )
    return Checked(train_config, tokenizer, check_out(args, tokenizer))


def check_out(args, tokenizer: Tokenizer | None) -> Path | None:
    """The --out folder and, with --resume, the checkpoint: returns what Trainer.resume gets (the
    run folder, or the checkpoint folder named)."""
    out = Path(args.out_dir)
    if args.resume and args.overwrite:
        raise Refusal("--resume continues the run in --out, --overwrite deletes it and starts over: pass one of them.")
    try:
        check_run_folder(out)
        check_writable(out)
    except OSError as e:
        raise Refusal(f"--out {e}") from None
    if not args.resume:
        found = list_checkpoints(out / CHECKPOINTS)
        if found and not args.overwrite:
            raise Refusal(
                f"--out {out} already holds a run (checkpoints up to {found[-1].name}); nothing was changed. "
                f"Continue it with --resume, choose another --out, or add --overwrite to delete it and start over."
            )
        return None
    where = out if args.resume == "auto" else Path(args.resume)
    folder = find_checkpoint(where)
    if folder is None:
        raise Refusal(
            f"--resume: no checkpoint in {where} (expected {CHECKPOINTS}/step-*/ or a step-* folder). "
            f"Start the run without --resume."
        )
    if tokenizer is not None:
        try:
            fix = f"Resume with the run's own tokenizer ({out / 'tokenizer.json'}), or start a new run (another --out)."
            check_tokenizer_sha256(folder, tokenizer, f"--tokenizer {args.tokenizer}", fix)
        except ValueError as e:
            raise Refusal(f"--resume: {e}") from None
    try:
        state = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return where  # a damaged state file: Trainer.resume names it and falls back to an intact one
    step = state.get("step")
    if isinstance(step, int) and step >= args.steps:
        raise Refusal(
            f"--resume: {folder} is at step {step} and --steps {args.steps} counts the whole run, so there is "
            f"nothing to train. Pass --steps above {step} to train longer."
        )
    windows = _recorded_windows(folder, state)
    ours = {"block_size": args.block_size, "stride": args.stride or args.block_size}
    for key, value in windows.items():
        if value != ours[key]:
            raise Refusal(
                f"--resume: {folder} was trained with {option(key)} {value}; {option(key)} {ours[key]} would cut "
                f"the data into other windows, and the data position (it counts windows) would point elsewhere. "
                f"Resume with {option(key)} {value}, or start a new run (another --out)."
            )
    return where


def _recorded_windows(folder: Path, state: dict) -> dict:
    """{"block_size", "stride"} a checkpoint's run trained on: in its state (the Trainer records
    its data), else in its run's run_config.json (checkpoints written before it did)."""
    data = state.get("train_data") or {}
    if "block_size" in data:
        return {k: data[k] for k in ("block_size", "stride") if k in data}
    try:
        options = json.loads((folder.parent.parent / "run_config.json").read_text(encoding="utf-8"))
        return {"block_size": options["block_size"], "stride": options.get("stride") or options["block_size"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
