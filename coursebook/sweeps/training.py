"""Chapter 7's training sweep: learning-rate schedules, the learning rate itself, and clipping.

    coursebook sweep training --out minigpt/assets/experiments/training_sweep.json

One small model (the course model's proportions at hidden 64 x 2 layers, 0.35M parameters, the
course tokenizer) trained on the course corpus with AdamW for 400 steps of 8 x 64 tokens, every
point with three seeds (the seed sets both the initial weights and the data order):

  - the learning rate: 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, warmup + cosine, clipping at 1.0;
  - the schedule at lr 1e-2: warmup + cosine (the point above), warmup-stable-decay (the last 20%
    of the steps decay linearly, Hu et al. 2024) and constant after the warmup;
  - clipping off (grad_clip 0) at lr 1e-2 and 3e-2, against the clipped runs above;
  - the live point: lr 1e-2, cosine, 100 steps, which the chapter reruns in a few seconds.

Each run records its settings, the training loss and the pre-clip gradient norm at every step,
the validation loss on fresh course documents (another corpus seed) every 50 steps, the share of
clipped steps, its seconds and its training FLOPs (minigpt.counting). Everything is fp32 on the
CPU at one thread. The JSON is rewritten after every run ("complete": false until the last), so an
interrupted sweep keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from minigpt import MiniGPT, ModelConfig, TrainConfig, Trainer
from minigpt.counting import count_parameters, flops_per_token
from minigpt.course import load_course_model
from minigpt.data import PackedDataset
from minigpt.train import NonFiniteError

from . import command_line, course_corpora, run_record
from .scale import shape

MODEL = shape(64, 2)
BLOCK, BATCH, STEPS, WARMUP = 64, 8, 400, 20
TRAIN = dict(batch_size=BATCH, dtype="fp32", device="cpu", progress=False, eval_batches=16, weight_decay=0.1)
CORPUS_BYTES, VAL_BYTES = 2_000_000, 100_000  # ~570K training tokens: a run reads 204,800 of them once
SEEDS = (0, 1, 2)
LRS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
BASE_LR = 1e-2
LIVE_STEPS = 100


def point(group, lr, schedule="cosine", clip=1.0, steps=STEPS):
    return dict(group=group, lr=lr, schedule=schedule, grad_clip=clip, steps=steps)


# In the order they run: seed 0 of every point first, so that a sweep cut short still covers each point.
POINTS = (
    [point("lr", lr) for lr in LRS]
    + [point("schedule", BASE_LR, s) for s in ("wsd", "constant")]
    + [point("clip", lr, clip=0.0) for lr in (BASE_LR, 3e-2)]
    + [point("live", BASE_LR, steps=LIVE_STEPS)]
)
RUNS = [dict(p, seed=s) for s in SEEDS for p in POINTS]


def train(recipe: TrainConfig, train_ids, val_ids):
    """One run from seed `recipe.seed`: (history, seconds, diverged). A run whose loss stops being
    finite is recorded up to that step, not dropped: the edge of stability is a result."""
    torch.manual_seed(recipe.seed)
    trainer = Trainer(
        MiniGPT(ModelConfig(**MODEL)), recipe, PackedDataset(train_ids, BLOCK), PackedDataset(val_ids, BLOCK)
    )
    start = time.perf_counter()
    try:
        trainer.train()
        diverged = False
    except NonFiniteError:
        diverged = True
    return trainer.history, time.perf_counter() - start, diverged


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/training_sweep.json")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--only", type=int, default=None, help="run only the first N runs (a smoke test)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    config = ModelConfig(**MODEL)
    began = time.perf_counter()
    results = {
        **run_record(command_line("training", argv)),
        "corpus": corpora,
        "model": MODEL,
        "parameters": count_parameters(config).total,
        "train": dict(TRAIN, block_size=BLOCK, warmup_steps=WARMUP, min_lr="lr/10", wsd_decay_fraction=0.2),
        "flops_per_token": flops_per_token(config, context=BLOCK, training=True),
        "seeds": list(SEEDS),
        "complete": False,
        "runs": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = RUNS if args.only is None else RUNS[: args.only]
    for spec in plan:
        steps = spec["steps"]
        recipe = TrainConfig(
            **TRAIN,
            lr=spec["lr"],
            schedule=spec["schedule"],
            grad_clip=spec["grad_clip"],
            steps=steps,
            warmup_steps=WARMUP * steps // STEPS,
            eval_every=steps // 8,
            seed=spec["seed"],
        )
        history, seconds, diverged = train(recipe, train_ids, val_ids)
        trains = [h for h in history if h["kind"] == "train"]
        evals = [h for h in history if h["kind"] == "eval"]
        tokens = steps * BATCH * BLOCK
        run = dict(
            spec,
            tokens=tokens,
            seconds=round(seconds, 1),
            flops=results["flops_per_token"] * tokens,
            train_loss=[round(h["loss"], 4) if math.isfinite(h["loss"]) else None for h in trains],
            grad_norm=[round(h["grad_norm"], 4) if math.isfinite(h["grad_norm"]) else None for h in trains],
            clipped_share=round(sum(bool(h["clipped"]) for h in trains) / len(trains), 4),
            val_curve=[[e["step"], round(e["val_loss"], 4)] for e in evals if math.isfinite(e["val_loss"])],
            val_loss=None if diverged or not math.isfinite(evals[-1]["val_loss"]) else round(evals[-1]["val_loss"], 4),
            diverged=diverged,
        )
        results["runs"].append(run)
        results["seconds"] = round(time.perf_counter() - began, 1)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(
            f"{spec['group']:>8} lr {spec['lr']:<6g} {spec['schedule']:>8} clip {spec['grad_clip']:g} "
            f"{steps} steps seed {spec['seed']}: val loss {run['val_loss']}, {seconds:.0f} s",
            flush=True,
        )
    results["complete"] = plan == RUNS
    results["seconds"] = round(time.perf_counter() - began, 1)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"whole sweep {results['seconds']:.0f} s -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
