"""Chapter 9's learning-rate probe: is the scale sweep's recipe what makes its two largest sizes lose?

    OMP_NUM_THREADS=1 nice -n 10 python -m coursebook.sweeps.scale_lr \
        --out minigpt/assets/experiments/scale_lr_probe.json

The scale sweep (sweeps/scale.py) trains every size with one peak learning rate, 3e-3, for every
tensor; its two largest sizes, XL and XXL, then finish 256 steps behind size L, and at 1e-3 for
every tensor they do no better. This probe changes one thing: the peak rate of the blocks' weight
matrices (q/k/v/o and gate/up/down, the tensors whose width grows with the model), while the
embedding (tied to the LM head) and the norms keep the sweep's 3e-3. Everything else is the
sweep's recipe, corpus and seed 0: the same 256 steps of 8 x 128 tokens, warmup steps // 10,
cosine to a tenth, fp32 on one CPU thread. The sweep's own runs are the points at 3e-3 (the same
config, so they are not trained again): three runs here, about 9 minutes of one CPU thread alone
(twice that on a shared machine).

Why the matrices: Adam moves every weight by about the learning rate whatever its gradient, so a
matrix's output changes in proportion to its fan-in; the maximal-update parameterization (Yang et
al. 2022, muP) scales the hidden matrices' Adam rate as 1/width and keeps the embedding's fixed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from minigpt import ModelConfig, TrainConfig
from minigpt.counting import count_parameters
from minigpt.course import load_course_model
from minigpt.optim import weight_decay_split

from . import course_corpora, run_record, train
from .scale import BASE_STEPS, BATCH, BLOCK, CORPUS_BYTES, LR, SIZES, TRAIN, VAL_BYTES

# (size, the blocks' matrices' peak rate), in the order they run. The points at LR are the sweep's
# own runs (the same config): XL and XXL at a third of it, then XL at a tenth, past the optimum.
RUNS = [("XL", 1e-3), ("XXL", 1e-3), ("XL", 3e-4)]


class GroupScaledAdamW(torch.optim.AdamW):
    """AdamW whose parameter groups carry a multiplier `lr_scale` of the rate the trainer's
    schedule writes into every group before a step; applied to the update and to the decoupled
    weight decay, both of which AdamW multiplies by the group's lr."""

    def step(self, closure=None):
        rates = [group["lr"] for group in self.param_groups]
        for group in self.param_groups:
            group["lr"] *= group["lr_scale"]
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, rates, strict=True):
                group["lr"] = lr


def matrices_at(block_lr: float):
    """An optimizer factory for sweeps.train(): the trainer's two groups (minigpt.optim), the
    decayed one (the blocks' matrices) at block_lr / LR of the schedule, the other at the schedule."""

    def make(model, config: TrainConfig) -> GroupScaledAdamW:
        params = dict(model.named_parameters())
        decay, no_decay = weight_decay_split(model)
        groups = [
            {"params": [params[n] for n in decay], "weight_decay": config.weight_decay, "lr_scale": block_lr / LR},
            {"params": [params[n] for n in no_decay], "weight_decay": 0.0, "lr_scale": 1.0},
        ]
        return GroupScaledAdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)

    return make


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep scale_lr",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/scale_lr_probe.json")
    parser.add_argument("--only", type=int, default=None, help="run only the first N points")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    began = time.perf_counter()
    results = {
        **run_record(
            "OMP_NUM_THREADS=1 nice -n 10 python -m coursebook.sweeps.scale_lr "
            + " ".join(argv if argv is not None else __import__("sys").argv[1:])
        ),
        "corpus": corpora,
        "train": dict(TRAIN, block_size=BLOCK, steps=BASE_STEPS, seed=0, warmup_steps="steps // 10"),
        "varied": "peak learning rate of the blocks' weight matrices (q/k/v/o, gate/up/down); "
        f"embedding (tied LM head) and norms at {LR:g}",
        "baseline": f"the scale sweep's runs at {LR:g} for every tensor (scale_sweep.json, same config)",
        "sizes": {s: SIZES[s] for s in ("XL", "XXL")},
        "complete": False,
        "runs": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = RUNS if args.only is None else RUNS[: args.only]
    for size, block_lr in plan:
        kw = SIZES[size]
        config = TrainConfig(
            **TRAIN, steps=BASE_STEPS, warmup_steps=BASE_STEPS // 10, seed=0, eval_every=BASE_STEPS // 4
        )
        model, history, seconds = train(kw, config, BLOCK, train_ids, val_ids, optimizer=matrices_at(block_lr))
        evals = [h for h in history if h["kind"] == "eval"]
        run = {
            "size": size,
            "block_lr": block_lr,
            "other_lr": LR,
            "steps": BASE_STEPS,
            "tokens": BASE_STEPS * BATCH * BLOCK,
            "seed": 0,
            "parameters": count_parameters(ModelConfig(**kw)).total,
            "seconds": round(seconds, 1),
            "train_loss": [round(h["loss"], 4) for h in history if h["kind"] == "train"],
            "val_curve": [[e["step"], round(e["val_loss"], 4)] for e in evals],
            "val_loss": round(evals[-1]["val_loss"], 4),
        }
        results["runs"].append(run)
        results["seconds"] = round(time.perf_counter() - began, 1)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"{size:>3} blocks at {block_lr:g}: val loss {run['val_loss']:.4f}, {seconds:.0f} s", flush=True)
    results["complete"] = plan == RUNS
    results["seconds"] = round(time.perf_counter() - began, 1)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
