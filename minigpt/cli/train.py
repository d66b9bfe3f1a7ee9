"""`python -m minigpt train`: options -> data (minigpt.data.prepare) -> MiniGPT -> Trainer -> run folder.

    python -m minigpt train --data course --preset course --steps 3000 --batch-size 16 --block-size 256 \
        --lr 3e-3 --warmup-steps 100 --dtype bf16 --compile --eval-every 250 --save-every 500 \
        --out runs/course                                    (the course model: ~24 min on 2 CPU cores)
    torchrun --nproc_per_node=2 -m minigpt train ...        (the same command, on 2 processes)
    python -m minigpt train --config runs/course/run_config.json --steps 3000 --out runs/longer
    python -m minigpt train --out runs/course --resume      (continue a stopped run exactly)
    python -m minigpt export --checkpoint runs/course --out my-model --dtype bf16   (minigpt/cli/export.py)

The options and every check that needs only them: minigpt/cli/train_options.py, run before any
data is prepared or anything in --out is created. Then the run holds its folder for its whole
life (minigpt.runfolder: a second run into the same --out is refused) and records everything
needed to repeat and describe it: run_config.json (the resolved options, loadable with
--config), run_summary.json (command, corpus version and hash, tokenizer, model config, steps,
tokens, time, device, final losses, and the status: running, finished, or why it stopped),
metrics.jsonl, tokenizer.json, data/ (the token files) and checkpoints/.

A refusal is one line and exit status 2; one that comes from the data (a corpus shorter than one
window, a full disk while tokenizing) removes the --out folder this command made. A run that
started and then stopped (a non-finite loss, a full disk, Ctrl-C) is marked so in its summary,
says so in one line, and exits with status 1 (130 for Ctrl-C); --resume continues it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import os
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..checkpoint import CHECKPOINTS
from ..config import ModelConfig
from ..data import PackedDataset
from ..data.prepare import OtherDataError, PreparedData, prepare_course_data, prepare_token_data
from ..devices import describe_device, setup_distributed
from ..files import raise_if_disk_full
from ..model import MiniGPT
from ..runfolder import NotARunFolderError, RunInUseError, hold_run_folder
from ..tokenizer import Tokenizer
from ..train import NonFiniteError, Trainer
from .common import Refusal, command
from .train_options import PROG, Checked, base_config, build_parser, check_args, course_vocab_size, parse_args

__all__ = ["PROG", "build_parser", "main"]


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    checked = check_args(args)  # before anything is prepared or written
    rank, world, _ = setup_distributed(args.device)
    out = Path(args.out_dir)
    made = not out.exists()
    try:
        with hold_run_folder(out) if rank == 0 else contextlib.nullcontext():
            return _run(args, argv, checked, out, rank, world)
    except (RunInUseError, NotARunFolderError) as e:
        raise Refusal(f"--out {e}") from None
    except Refusal:
        if made and rank == 0 and not (out / CHECKPOINTS).exists():  # refused before training: leave nothing
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run(args, argv: list[str], checked: Checked, out: Path, rank: int, world: int) -> int:
    def barrier():
        if world > 1:
            torch.distributed.barrier()

    started, t0 = datetime.datetime.now(datetime.timezone.utc), time.time()
    barrier()  # the main process has made and holds --out
    data = prepare(args, checked.tokenizer, out, rank, barrier)
    train_ids, val_ids, tokenizer, data_info = data.train_ids, data.val_ids, data.tokenizer, data.info
    config = model_config(args, tokenizer, data_info.get("vocab_size"))
    train_data = windows(train_ids, args.block_size, args.stride or args.block_size, args.data)
    val_data = PackedDataset(val_ids, args.block_size) if len(val_ids) > args.block_size else None
    if val_data is None and rank == 0:
        print(
            f"note: the held-out part ({len(val_ids)} tokens) is shorter than one window; no evaluation. "
            f"Raise --val-fraction or pass --val-data."
        )

    torch.manual_seed(args.seed)  # the same initial weights on every process
    model = MiniGPT(config)
    options = {k: v for k, v in vars(args).items() if k not in ("config", "resume")}
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
        checked.train_config,
        train_data,
        val_data,
        tokenizer=tokenizer,
        run_info={"command": summary["command"], "data": data_info},
    )
    summary.update(device=describe_device(trainer.device), dtype=str(trainer.dtype).replace("torch.", ""))
    if checked.resume_from:
        try:
            folder = trainer.resume(checked.resume_from)
        except (OSError, ValueError) as e:  # a damaged checkpoint (named), another tokenizer, other shapes
            raise Refusal(f"--resume: {e}") from None
        summary["resumed_from"] = str(folder)

    def write_summary(**changes):
        if rank != 0:
            return
        summary.update(changes)
        tmp = out / "run_summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(out / "run_summary.json")

    def stopped(status: str, message: str, code: int) -> int:
        with contextlib.suppress(OSError):  # the disk may still be full
            write_summary(status=f"stopped: {status}", error=message, **_results(trainer, t0))
        if rank == 0:
            print(f"\n{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
        return code

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
        return stopped("non-finite", str(e), 1)
    except OSError as e:  # a checkpoint that could not be written; the older ones are intact
        return stopped("disk full" if e.errno == errno.ENOSPC else "write failed", str(e), 1)
    except KeyboardInterrupt:
        return stopped("interrupted", f"interrupted after step {trainer.step}; continue with --resume", 130)
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


# ---- data and model ----------------------------------------------------------------------------


def prepare(args, tokenizer: Tokenizer | None, out: Path, rank: int, barrier) -> PreparedData:
    """The run's data (minigpt.data.prepare): the main process writes the token files, the others
    wait at `barrier`, then memory-map them. A problem (a full disk included) is a Refusal."""
    try:
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
            progress=args.progress,
        )
    except OtherDataError as e:  # remaking the data would replace the tokenizer the checkpoints were trained with
        raise Refusal(f"--resume: {e}") from None
    except (OSError, ValueError) as e:
        try:
            raise_if_disk_full(e, out / "data")
        except OSError as full:
            raise Refusal(str(full)) from None
        raise Refusal(f"--data {args.data}: {e}") from None


def windows(ids: np.ndarray, block_size: int, stride: int, source: str) -> PackedDataset:
    """The training windows; a stream shorter than one window is refused in the options' words."""
    if len(ids) < block_size + 1:
        fix = f"use --block-size {len(ids) - 1} or less, or more text" if len(ids) > 1 else "give it more text"
        raise Refusal(
            f"--data {source} has {len(ids)} training tokens, fewer than one window needs (--block-size "
            f"{block_size} + 1 for the last target): {fix}."
        )
    return PackedDataset(ids, block_size, stride)


def model_config(args, tokenizer, data_vocab: int | None) -> ModelConfig:
    """The preset (or --model-config) with the vocabulary of the data: --vocab-size if given,
    else the tokenizer's (or the token file's)."""
    config = base_config(args)
    changes = {}
    vocab = args.vocab_size or (tokenizer.vocab_size if tokenizer is not None else data_vocab)
    if vocab:
        changes["vocab_size"] = vocab
    needed = tokenizer.vocab_size if tokenizer is not None else data_vocab
    if needed and needed > changes.get("vocab_size", config.vocab_size):
        raise Refusal(f"the data's tokenizer has {needed} ids but --vocab-size is {args.vocab_size}.")
    if tokenizer is not None:
        changes["eos_token_id"] = tokenizer.eos_id
    if args.dropout is not None:
        changes["dropout"] = args.dropout
    return dataclasses.replace(config, **changes)


# ---- the record ----------------------------------------------------------------------------------


def _command(argv: list[str], world: int) -> str:
    if world > 1:
        return (
            f"torchrun --nproc_per_node={os.environ.get('LOCAL_WORLD_SIZE', world)} -m minigpt train {shlex.join(argv)}"
        )
    return f"python -m minigpt train {shlex.join(argv)}"


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
