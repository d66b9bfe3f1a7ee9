"""`python -m minigpt train`: options -> data (minigpt.data.prepare) -> MiniGPT -> Trainer -> run folder.
Over 400 lines because the trainer has some forty options, each checked here before any work
starts, with a message naming the option; the work itself is minigpt.train and minigpt.data.prepare.

    python -m minigpt train --data course --preset course --steps 3000 --batch-size 16 --block-size 256 \
        --lr 3e-3 --warmup-steps 100 --dtype bf16 --compile --eval-every 250 --save-every 500 \
        --out runs/course                                    (the course model: ~24 min on 2 CPU cores)
    torchrun --nproc_per_node=2 -m minigpt train ...        (the same command, on 2 processes)
    python -m minigpt train --config runs/course/run_config.json --steps 3000 --out runs/longer
    python -m minigpt train --out runs/course --resume      (continue a stopped run exactly)
    python -m minigpt export --checkpoint runs/course --out my-model --dtype bf16   (minigpt/cli/export.py)

Options come from the flags, and/or a JSON file (`--config`) whose keys are the option names;
flags win over the file. The run folder records everything needed to repeat and describe the
run: run_config.json (the resolved options, loadable with --config), run_summary.json (command,
corpus version and hash, tokenizer, model config, steps, tokens, time, device, final losses),
metrics.jsonl, tokenizer.json, data/ (the token files) and checkpoints/.

Everything that can be checked from the options alone is checked first (check_args), before any
data is prepared or anything in --out is touched; a bad option ends the command with one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import errno
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import NoReturn

import torch

from .. import __version__
from ..checkpoint import CHECKPOINTS, STATE_NAME, find_checkpoint, list_checkpoints
from ..config import PRESETS, ModelConfig, read_json
from ..data import PackedDataset
from ..data.prepare import OtherDataError, PreparedData, prepare_course_data, prepare_token_data
from ..devices import describe_device, setup_distributed
from ..hf import raise_if_disk_full
from ..model import MiniGPT
from ..tokenizer import MIN_VOCAB_SIZE, Tokenizer
from ..train import NonFiniteError, TrainConfig, Trainer
from .common import HelpFormatter, fail

_RENAMED = {"out_dir": "out"}  # TrainConfig field -> option name
DEFAULT_BLOCK_SIZE = 256
SMALL_PRESET_VOCAB = 512  # course data with a preset too small for a byte-level BPE (tiny)
PROG = "python -m minigpt train"


def _fail(message: str) -> NoReturn:
    fail(message, PROG)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        if not Path(pre.config).is_file():
            _fail(f"--config {pre.config}: no such file.")
        try:
            values = read_json(Path(pre.config))
        except ValueError as e:
            _fail(f"--config {e}")
        if not isinstance(values, dict):
            _fail(f"--config {pre.config}: expected a JSON object of option values, got a {type(values).__name__}.")
        actions = {a.dest: a for a in parser._actions}
        values = {k.replace("-", "_"): v for k, v in values.items()}
        values = {("out_dir" if k == "out" else k): v for k, v in values.items()}
        unknown = sorted(set(values) - set(actions) - {"config", "resume"})
        if unknown:
            raise SystemExit(f"error: {pre.config}: unknown option(s) {unknown}. Known: {sorted(actions)}.")
        for k, v in values.items():
            choices = actions[k].choices if k in actions else None
            if choices and v not in choices:
                raise SystemExit(f"error: {pre.config}: {k}={v!r}, expected one of {list(choices)}.")
        values.pop("config", None)
        values.pop("resume", None)
        parser.set_defaults(**values)
    return parser.parse_args(argv)


# ---- data --------------------------------------------------------------------------------------


def prepare(args, out: Path, rank: int, barrier) -> PreparedData:
    """The run's data (minigpt.data.prepare): the main process writes the token files, the others
    wait at `barrier`, then memory-map them."""
    tokenizer = getattr(args, "_tokenizer", None) or (Tokenizer.from_file(args.tokenizer) if args.tokenizer else None)
    if args.data == "course":
        return prepare_course_data(
            out,
            size_bytes=args.corpus_bytes,
            seed=args.corpus_seed,
            val_fraction=args.val_fraction,
            vocab_size=course_vocab_size(args),
            tokenizer=tokenizer,
            tokenizer_file=args.tokenizer,
            keep_existing=bool(args.resume),
            is_main=rank == 0,
            barrier=barrier,
        )
    return prepare_token_data(
        args.data,
        out,
        tokenizer=tokenizer,
        val_data=args.val_data,
        val_fraction=args.val_fraction,
        is_main=rank == 0,
        barrier=barrier,
    )


def course_vocab_size(args) -> int:
    """The vocabulary of the tokenizer trained for --data course: --vocab-size, else the preset's,
    else (a preset too small for a byte-level BPE, like tiny's 256) SMALL_PRESET_VOCAB."""
    if args.vocab_size:
        return args.vocab_size
    preset = _base_config(args).vocab_size
    return preset if preset >= MIN_VOCAB_SIZE else SMALL_PRESET_VOCAB


def _base_config(args) -> ModelConfig:
    if args.model_config:
        return ModelConfig.from_json(args.model_config)
    return ModelConfig.from_preset(args.preset)


def model_config(args, tokenizer, data_vocab: int | None) -> ModelConfig:
    """The preset (or --model-config) with the vocabulary of the data: --vocab-size if given,
    else the tokenizer's (or the token file's)."""
    config = _base_config(args)
    changes = {}
    vocab = args.vocab_size or (tokenizer.vocab_size if tokenizer is not None else data_vocab)
    if vocab:
        changes["vocab_size"] = vocab
    needed = tokenizer.vocab_size if tokenizer is not None else data_vocab
    if needed and needed > changes.get("vocab_size", config.vocab_size):
        raise SystemExit(f"error: the data's tokenizer has {needed} ids but --vocab-size is {args.vocab_size}.")
    if tokenizer is not None:
        changes["eos_token_id"] = tokenizer.eos_id
    if args.dropout is not None:
        changes["dropout"] = args.dropout
    if args.block_size > config.max_seq_len:
        raise SystemExit(f"error: --block-size {args.block_size} exceeds the model's max_seq_len {config.max_seq_len}.")
    return dataclasses.replace(config, **changes)


# ---- checks before any work ---------------------------------------------------------------------


def check_args(args) -> None:
    """Everything that can be checked from the options alone, before the data is prepared and
    before anything in --out is touched; resolves --block-size. A problem ends the command with
    one line (see _fail)."""
    try:
        TrainConfig(**{k: v for k, v in vars(args).items() if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    except ValueError as e:
        name = str(e).split(" ", 1)[0].removeprefix("TrainConfig.")
        _fail(f"--{_RENAMED.get(name, name).replace('_', '-')} {str(e).split(' ', 1)[1]}")
    if not 0 <= args.val_fraction < 1:
        _fail(f"--val-fraction is the share of the data held out, in [0, 1); got {args.val_fraction}.")
    if args.corpus_bytes <= 0:
        _fail(f"--corpus-bytes must be positive, got {args.corpus_bytes}.")
    if args.stride is not None and args.stride <= 0:
        _fail(f"--stride must be positive, got {args.stride}.")
    if args.dropout is not None and not 0 <= args.dropout < 1:
        _fail(f"--dropout is a probability in [0, 1), got {args.dropout}.")
    try:
        config = _base_config(args)
    except (OSError, ValueError, TypeError) as e:
        _fail(f"--model-config {args.model_config}: {e}")
    if args.vocab_size is not None:
        low = MIN_VOCAB_SIZE if args.data == "course" and not args.tokenizer else 1
        if args.vocab_size < low:
            _fail(
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
        _fail(f"--block-size {args.block_size} must be in 1..{config.max_seq_len} (the model's max_seq_len).")
    if args.data != "course":
        if not Path(args.data).exists():
            _fail(f"--data {args.data}: no such file or folder ('course', a .bin token file, or .txt/.jsonl files).")
        if Path(args.data).suffix != ".bin" and not args.tokenizer:
            _fail(f"--data {args.data} is text; pass the --tokenizer tokenizer.json to encode it with.")
    if args.val_data and not Path(args.val_data).is_file():
        _fail(f"--val-data {args.val_data}: no such file.")
    if args.tokenizer:
        try:
            args._tokenizer = Tokenizer.from_file(args.tokenizer)
        except (OSError, ValueError) as e:
            _fail(f"--tokenizer: {e}")

    out = Path(args.out_dir)
    if args.resume:
        where = out if args.resume == "auto" else Path(args.resume)
        folder = find_checkpoint(where)
        if folder is None:
            _fail(
                f"--resume: no checkpoint in {where} (expected {CHECKPOINTS}/step-*/ or a step-* folder). "
                f"Start the run without --resume."
            )
        try:
            recorded = json.loads((folder / STATE_NAME).read_text(encoding="utf-8")).get("tokenizer_sha256")
        except (OSError, ValueError):
            recorded = None  # a damaged state file: resume() names it and falls back
        ours = getattr(getattr(args, "_tokenizer", None), "sha256", None)
        if recorded and ours and recorded != ours:
            _fail(
                f"--resume: {folder} was trained with tokenizer sha256 {recorded[:16]}..., but --tokenizer "
                f"{args.tokenizer} is {ours[:16]}...: the same ids would mean other text. Resume with the run's "
                f"own tokenizer ({out / 'tokenizer.json'}), or start a new run (another --out)."
            )
    elif not args.overwrite:
        found = list_checkpoints(out / CHECKPOINTS)
        if found:
            _fail(
                f"--out {out} already holds a run (checkpoints up to {found[-1].name}); nothing was changed. "
                f"Continue it with --resume, choose another --out, or add --overwrite to delete it and start over."
            )


# ---- the run -----------------------------------------------------------------------------------


def _command(argv: list[str], world: int) -> str:
    if world > 1:
        return (
            f"torchrun --nproc_per_node={os.environ.get('LOCAL_WORLD_SIZE', world)} -m minigpt train {shlex.join(argv)}"
        )
    return f"python -m minigpt train {shlex.join(argv)}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    check_args(args)  # before anything is prepared or written
    rank, world, _ = setup_distributed(args.device)

    def barrier():
        if world > 1:
            torch.distributed.barrier()

    out = Path(args.out_dir)
    started, t0 = datetime.datetime.now(datetime.timezone.utc), time.time()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    barrier()
    try:
        data = prepare(args, out, rank, barrier)
    except OtherDataError as e:  # remaking the data would replace the tokenizer the checkpoints were trained with
        _fail(f"--resume: {e}")
    except (OSError, ValueError) as e:
        raise_if_disk_full(e, out / "data")
        _fail(f"--data {args.data}: {e}")
    train_ids, val_ids, tokenizer, data_info = data.train_ids, data.val_ids, data.tokenizer, data.info
    config = model_config(args, tokenizer, data_info.get("vocab_size"))
    stride = args.stride or args.block_size
    train_data = PackedDataset(train_ids, args.block_size, stride)
    val_data = PackedDataset(val_ids, args.block_size) if len(val_ids) > args.block_size else None
    if val_data is None and rank == 0:
        print(
            f"note: the held-out part ({len(val_ids)} tokens) is shorter than one window; no evaluation. "
            f"Raise --val-fraction or pass --val-data."
        )

    torch.manual_seed(args.seed)  # the same initial weights on every process
    model = MiniGPT(config)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    train_config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    options = {k: v for k, v in vars(args).items() if k not in ("config", "resume") and not k.startswith("_")}
    summary = {
        "command": _command(argv, world),
        "argv": argv,
        "status": "running",
        "started": started.isoformat(),
        "minigpt": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "world_size": world,
        "options": options,
        "model_config": config.to_dict(),
        "parameters": model.num_parameters(),
        "data": data_info,
        "train_windows": len(train_data),
        "val_windows": len(val_data) if val_data else 0,
        "tokenizer": {"file": "tokenizer.json", "sha256": tokenizer.sha256, "vocab_size": tokenizer.vocab_size}
        if tokenizer
        else None,
    }
    trainer = Trainer(
        model,
        train_config,
        train_data,
        val_data,
        tokenizer=tokenizer,
        run_info={"command": summary["command"], "data": data_info},
    )
    summary.update(device=describe_device(trainer.device), dtype=str(trainer.dtype).replace("torch.", ""))
    if args.resume:
        try:
            folder = trainer.resume(None if args.resume == "auto" else args.resume)
        except (OSError, ValueError) as e:  # a damaged checkpoint (named), another tokenizer, other shapes
            _fail(f"--resume: {e}")
        summary["resumed_from"] = str(folder)

    def write_summary(**changes):
        if rank != 0:
            return
        summary.update(changes)
        tmp = out / "run_summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(out / "run_summary.json")

    if rank == 0:
        (out / "run_config.json").write_text(json.dumps(options, indent=2), encoding="utf-8")
        print(
            f"{summary['command']}\nmodel: {model.num_parameters():,} parameters; data: {len(train_data):,} training "
            f"windows of {args.block_size} tokens; device {summary['device']}, {summary['dtype']}, "
            f"{world} process(es); global batch {args.batch_size * args.grad_accum * world} x {args.block_size} tokens"
        )
    write_summary()
    try:
        trainer.train()
    except NonFiniteError as e:
        write_summary(status="stopped: non-finite", error=str(e), **_results(trainer, t0))
        if rank == 0:
            print(f"\nerror: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        try:
            write_summary(status="stopped: disk full", error=str(e), **_results(trainer, t0))
        except OSError:
            pass
        if rank == 0:
            print(f"\nerror: {e}", file=sys.stderr)
        return 1
    write_summary(
        status="finished", finished=datetime.datetime.now(datetime.timezone.utc).isoformat(), **_results(trainer, t0)
    )
    if rank == 0:
        r = _results(trainer, t0)
        print(
            f"done: {r['steps']} steps, {r['tokens_seen']:,} tokens, train loss {r['final_train_loss']}, "
            f"val loss {r['final_val_loss']}, {r['wall_time_s']:.0f} s. Summary: {out / 'run_summary.json'}"
        )
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


def _results(trainer: Trainer, t0: float) -> dict:
    train = [m for m in trainer.history if m["kind"] == "train"]
    evals = [m for m in trainer.history if m["kind"] == "eval"]
    last = train[-20:]
    return {
        "steps": trainer.step,
        "tokens_seen": trainer.tokens_seen,
        "train_time_s": round(trainer.elapsed, 1),  # summed over resumed runs
        "wall_time_s": round(time.time() - t0, 1),  # this invocation, data preparation included
        "final_train_loss": round(sum(m["loss"] for m in last) / len(last), 4) if last else None,
        "final_train_loss_note": f"mean over the last {len(last)} steps",
        "final_val_loss": round(evals[-1]["val_loss"], 4) if evals else None,
        "checkpoint": str(trainer.last_checkpoint) if trainer.last_checkpoint else None,
    }
