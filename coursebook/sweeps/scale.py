"""Chapter 9's training sweep: validation loss against model size and token budget.

    make sweep-scale          (= coursebook sweep scale --out minigpt/assets/experiments/scale_sweep.json)

Six model shapes with the course model's proportions, from hidden 32 x 1 layer (~0.14M
parameters, most of them the embedding) to the course model's own shape (hidden 256 x 6 layers,
5.2M), trained on the course corpus with the course tokenizer, AdamW with warmup and cosine decay,
fp32 on the CPU, one thread. Every size is trained on the same token budget (256 steps of
8 x 128 tokens), the four larger ones (whose losses differ by less than the two smaller ones')
with three seeds; the four smaller sizes also on a quarter and on four times that budget, so that
pairs of runs with the same compute (6 N D) but a different split between parameters and tokens
exist (L on 4x the tokens has about XXL's compute). The cheapest point (the one the chapter
reruns live) has three seeds too.

Two recipes, both recorded:

  "width" (the sweep's): peak learning rate 3e-3 for the embedding and the norms, 3e-3 x 96 /
          hidden_size for the blocks' matrices (q/k/v/o, gate/up/down), warmup steps // 4. Adam's
          update moves every weight by about the learning rate whatever its gradient's size, so a
          wider matrix's output moves in proportion to its width; scaling the matrices' rate by
          1/width keeps that change the same at every width (the Adam rule of Yang et al. 2022's
          muP; hidden 96, size M, is the width where the rate is 3e-3).
  "flat"  (the first version of this sweep, kept as the contrast): one rate, 3e-3, for every
          tensor, warmup steps // 10. The wider models then stall on the unigram plateau and
          finish 256 steps behind size L.

Each run records its model config, recipe, parameters (total and without the embedding), tokens,
training FLOPs (minigpt.counting), seconds, the training loss per step, the validation loss on
fresh course documents (another corpus seed) during and at the end of training, and, for seed 0,
the held-out probes (greedy, minigpt.course.evaluate_course_probes). The JSON is rewritten after
every run ("complete": false until the last), so an interrupted sweep leaves what it measured;
`--resume` keeps the runs an earlier invocation recorded (same corpus, same recipes) and trains
only the missing ones; each invocation is listed under "sessions".
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from minigpt import ModelConfig, TrainConfig
from minigpt.counting import count_parameters, flops_per_token
from minigpt.course import evaluate_course_probes, load_course_model
from minigpt.data import course_probes
from minigpt.optim import weight_decay_split

from . import command_line, corpus_tokens, train

BLOCK = 128
BATCH = 8
BASE_STEPS = 256  # the fixed budget: 256 x 8 x 128 = 262,144 tokens
LR = 3e-3
BASE_WIDTH = 96  # the hidden size whose block matrices train at LR in the "width" recipe (size M)
TRAIN = dict(batch_size=BATCH, lr=LR, dtype="fp32", device="cpu", progress=False, eval_batches=16)
RECIPES = {
    "width": {"warmup": 4, "block_lr": f"lr x {BASE_WIDTH} / hidden_size", "other_lr": "lr"},
    "flat": {"warmup": 10, "block_lr": "lr", "other_lr": "lr"},
}  # warmup: steps // that number
CORPUS_BYTES, VAL_BYTES = 4_000_000, 200_000  # ~1.1M training tokens: the longest run sees each window once


def shape(hidden: int, layers: int) -> dict:
    """The course model's proportions at another width: head_dim 32, 4 query heads per KV head
    where there are 4 or more heads, MLP width 2.6875 x hidden (688 at 256, as the course model)."""
    heads = max(1, hidden // 32)
    return dict(
        vocab_size=4096,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=max(1, heads // 4),
        intermediate_size=int(hidden * 2.6875),
        max_seq_len=256,
        tie_word_embeddings=True,
    )


SIZES = {
    "XS": shape(32, 1),
    "S": shape(64, 2),
    "M": shape(96, 3),
    "L": shape(128, 4),
    "XL": shape(192, 5),
    "XXL": shape(256, 6),
}
# (size, steps, seed, recipe), in the order they run: the size sweep, the old recipe at the same
# points, two more seeds where neighbouring sizes differ least, the other budgets, the live point's seeds.
RUNS = (
    [(s, BASE_STEPS, 0, "width") for s in SIZES]
    + [(s, BASE_STEPS, 0, "flat") for s in SIZES]
    + [(s, BASE_STEPS, seed, "width") for seed in (1, 2) for s in ("M", "L", "XL", "XXL")]
    + [(s, n, 0, "width") for n in (64, 1024) for s in ("XS", "S", "M", "L")]
    + [("XS", 64, 1, "width"), ("XS", 64, 2, "width")]
)
LIVE = ("XS", 64)  # the point the chapter reruns (a few seconds)


class ScaledAdamW(torch.optim.AdamW):
    """AdamW whose parameter groups carry a learning-rate multiplier, `lr_scale`. The trainer
    writes the schedule's rate into every group before each step; the step applies the multiplier
    (to the update and to the decoupled weight decay, both of which AdamW scales by lr)."""

    def step(self, closure=None):
        rates = [group["lr"] for group in self.param_groups]
        for group in self.param_groups:
            group["lr"] *= group.get("lr_scale", 1.0)
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, rates, strict=True):
                group["lr"] = lr


def width_optimizer(model, config: TrainConfig) -> ScaledAdamW:
    """The "width" recipe's optimizer: the trainer's two groups (minigpt.optim), the decayed one
    (the blocks' matrices) at lr x BASE_WIDTH / hidden_size, the other (embedding, norms) at lr."""
    hidden_size = model.config.hidden_size
    params = dict(model.named_parameters())
    decay, no_decay = weight_decay_split(model)
    groups = [
        {
            "params": [params[n] for n in decay],
            "weight_decay": config.weight_decay,
            "lr_scale": BASE_WIDTH / hidden_size,
        },
        {"params": [params[n] for n in no_decay], "weight_decay": 0.0, "lr_scale": 1.0},
    ]
    return ScaledAdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/scale_sweep.json")
    parser.add_argument("--probes", type=int, default=20, help="held-out probes per kind and language")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--only", type=int, default=None, help="run only the first N points (a smoke test)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the runs already in --out (same corpus and recipes), train the missing ones",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _, tokenizer = load_course_model()
    train_ids, corpus_hash = corpus_tokens(tokenizer, CORPUS_BYTES, seed=0)
    val_ids, val_hash = corpus_tokens(tokenizer, VAL_BYTES, seed=1)
    probes = course_probes(args.probes)
    began = time.perf_counter()
    device = (
        f"cpu ({platform.machine()}, {torch.get_num_threads()} thread(s), kernels "
        f"{torch.backends.cpu.get_cpu_capability()}), shared with other jobs"
    )
    session = {
        "command": command_line("scale", argv),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": device,
        "torch": torch.__version__,
    }
    results = {
        "command": command_line("scale", [a for a in (sys.argv[3:] if argv is None else argv) if a != "--resume"]),
        "created": session["created"],
        "device": device,
        "torch": torch.__version__,
        "corpus": {
            "train": {"size_bytes": CORPUS_BYTES, "seed": 0, "sha256": corpus_hash, "tokens": len(train_ids)},
            "val": {"size_bytes": VAL_BYTES, "seed": 1, "sha256": val_hash, "tokens": len(val_ids)},
            "tokenizer_sha256": tokenizer.sha256,
        },
        "train": dict(TRAIN, block_size=BLOCK, schedule="cosine to lr/10"),
        "recipes": dict(RECIPES, base_width=BASE_WIDTH),
        "sizes": SIZES,
        "base_steps": BASE_STEPS,
        "live": {"size": LIVE[0], "steps": LIVE[1], "recipe": "width"},
        "probes_per_kind_and_language": args.probes,
        "probes": len(probes),
        "complete": False,
        "runs": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = RUNS if args.only is None else RUNS[: args.only]
    done = {}
    if args.resume and out.is_file():
        old = json.loads(out.read_text(encoding="utf-8"))
        keys = ("corpus", "train", "recipes", "sizes", "base_steps", "probes")
        if not all(old.get(k) == results[k] for k in keys):
            raise SystemExit(f"{out} was made with another corpus or recipe; run without --resume to start over.")
        done = {(r["size"], r["steps"], r["seed"], r["recipe"]): r for r in old["runs"]}
        results["created"], results["sessions"] = old["created"], old["sessions"]
    results.setdefault("sessions", []).append(session)
    for size, steps, seed, recipe in plan:
        if (size, steps, seed, recipe) in done:
            results["runs"].append(done[(size, steps, seed, recipe)])
            continue
        kw = SIZES[size]
        config = ModelConfig(**kw)
        count = count_parameters(config)
        warmup = max(1, steps // RECIPES[recipe]["warmup"])
        recipe_config = TrainConfig(**TRAIN, steps=steps, warmup_steps=warmup, seed=seed, eval_every=max(1, steps // 4))
        optimizer = width_optimizer if recipe == "width" else None
        model, history, seconds = train(kw, recipe_config, BLOCK, train_ids, val_ids, optimizer=optimizer)
        accuracy = evaluate_course_probes(model, tokenizer, probes) if seed == 0 else {}
        evals = [h for h in history if h["kind"] == "eval"]
        tokens = steps * BATCH * BLOCK
        run = {
            "size": size,
            "steps": steps,
            "seed": seed,
            "recipe": recipe,
            "warmup_steps": warmup,
            "block_lr": LR * BASE_WIDTH / kw["hidden_size"] if recipe == "width" else LR,
            "tokens": tokens,
            "parameters": count.total,
            "non_embedding_parameters": count.total - count.breakdown["embedding"],
            "flops": flops_per_token(config, context=BLOCK, training=True) * tokens,
            "seconds": round(seconds, 1),
            "train_loss": [round(h["loss"], 4) for h in history if h["kind"] == "train"],
            "val_curve": [[e["step"], round(e["val_loss"], 4)] for e in evals],
            "val_loss": round(evals[-1]["val_loss"], 4),
            "probes": {k: round(v, 4) for k, v in accuracy.items() if "/" not in k},
        }
        assert run["parameters"] == model.num_parameters()
        results["runs"].append(run)
        session["seconds"] = round(time.perf_counter() - began, 1)
        results["seconds"] = round(sum(s["seconds"] for s in results["sessions"]), 1)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(
            f"{recipe:>5} {size:>3} {count.total / 1e6:5.2f}M x {tokens:>9,} tokens seed {seed}: "
            f"val loss {run['val_loss']:.4f}, {seconds:.0f} s, probes {run['probes']}",
            flush=True,
        )
    results["complete"] = plan == RUNS
    session["seconds"] = round(time.perf_counter() - began, 1)
    results["seconds"] = round(sum(s["seconds"] for s in results["sessions"]), 1)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"whole sweep {results['seconds']:.0f} s -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
