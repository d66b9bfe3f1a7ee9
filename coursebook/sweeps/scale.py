"""Chapter 9's training sweep: validation loss against model size and token budget.

    make sweep-scale          (= coursebook sweep scale --out minigpt/assets/experiments/scale_sweep.json)

One recipe (the course tokenizer, the course corpus, AdamW at lr 3e-3 with warmup and cosine
decay, fp32 on the CPU, one thread) at six model shapes, from hidden 32 x 1 layer (~0.14M
parameters, most of them the embedding) to the course model's shape (hidden 256 x 6 layers,
5.2M), every one trained on the same token budget (256 steps of 8 x 128 tokens). Three of the
sizes are also trained on a quarter and on four times that budget, a fourth on a quarter, so
that pairs of runs with the same compute (6 N D) but a different split between parameters and
tokens exist. Seeds: the cheapest point (the one the chapter reruns live) with three seeds, a
middle point with three, to measure seed noise. Two more runs train the two largest sizes at a
third of the learning rate, to tell whether their loss at this budget is limited by the rate.

Each run records its model config, parameters (total and without the embedding), tokens,
training FLOPs (minigpt.counting), seconds, the training loss per step, the validation loss on
fresh course documents (another corpus seed) during and at the end of training, and the
held-out probes (greedy, minigpt.course.evaluate_course_probes). The JSON is rewritten after
every run ("complete": false until the last), so an interrupted sweep leaves what it measured;
`--resume` keeps the runs an earlier invocation recorded (same corpus, same recipe) and trains
only the missing ones; each invocation is listed under "sessions".
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from minigpt import ModelConfig, TrainConfig
from minigpt.counting import count_parameters, flops_per_token
from minigpt.course import evaluate_course_probes, load_course_model
from minigpt.data import course_probes

from . import command_line, course_corpora, run_record, train

BLOCK = 128
BATCH = 8
BASE_STEPS = 256  # the fixed budget: 256 x 8 x 128 = 262,144 tokens
TRAIN = dict(batch_size=BATCH, lr=3e-3, dtype="fp32", device="cpu", progress=False, eval_batches=16)
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
LR = TRAIN["lr"]
# (size, steps, seed, learning rate), in the order they run: the size sweep first, then budgets,
# then seeds, then the two largest sizes at a third of the rate.
RUNS = (
    [(s, BASE_STEPS, 0, LR) for s in SIZES]
    + [(s, n, 0, LR) for s, n in [("XS", 64), ("XS", 1024), ("S", 64), ("S", 1024), ("M", 64), ("M", 1024), ("L", 64)]]
    + [("XS", 64, 1, LR), ("XS", 64, 2, LR), ("M", BASE_STEPS, 1, LR), ("M", BASE_STEPS, 2, LR)]
    + [("XL", BASE_STEPS, 0, 1e-3), ("XXL", BASE_STEPS, 0, 1e-3)]
)
LIVE = ("XS", 64)  # the point the chapter reruns (a few seconds)


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
        help="keep the runs already in --out (same corpus and recipe), train the missing ones",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    probes = course_probes(args.probes)
    began = time.perf_counter()
    session = run_record(command_line("scale", argv))
    results = {
        **session,
        "command": "make sweep-scale (coursebook sweep scale --out minigpt/assets/experiments/scale_sweep.json)",
        "corpus": corpora,
        "train": dict(TRAIN, block_size=BLOCK, warmup_steps="steps // 10", schedule="cosine to lr/10"),
        "sizes": SIZES,
        "base_steps": BASE_STEPS,
        "live": {"size": LIVE[0], "steps": LIVE[1]},
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
        same = all(old.get(k) == results[k] for k in ("corpus", "train", "sizes", "base_steps", "probes"))
        if not same:
            raise SystemExit(f"{out} was made with another corpus or recipe; run without --resume to start over.")
        for r in old["runs"]:
            r.setdefault("lr", LR)  # the first version of this sweep ran every point at LR
        done = {(r["size"], r["steps"], r["seed"], r["lr"]): r for r in old["runs"]}
        first = {k: old[k] for k in ("command", "created", "device", "torch", "seconds")}
        results["created"], results["sessions"] = old["created"], old.get("sessions", [first])
    results.setdefault("sessions", []).append(session)
    for size, steps, seed, lr in plan:
        if (size, steps, seed, lr) in done:
            results["runs"].append(done[(size, steps, seed, lr)])
            continue
        kw = SIZES[size]
        config = ModelConfig(**kw)
        count = count_parameters(config)
        warmup, eval_every = max(1, steps // 10), max(1, steps // 4)
        recipe = TrainConfig(**dict(TRAIN, lr=lr), steps=steps, warmup_steps=warmup, seed=seed, eval_every=eval_every)
        model, history, seconds = train(kw, recipe, BLOCK, train_ids, val_ids)
        accuracy = evaluate_course_probes(model, tokenizer, probes) if seed == 0 else {}
        evals = [h for h in history if h["kind"] == "eval"]
        tokens = steps * BATCH * BLOCK
        run = {
            "size": size,
            "steps": steps,
            "seed": seed,
            "lr": lr,
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
            f"lr {lr:g} {size:>3} {count.total / 1e6:5.2f}M x {tokens:>9,} tokens seed {seed}: "
            f"val loss {run['val_loss']:.3f}, {seconds:.0f} s, probes {run['probes']}",
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
