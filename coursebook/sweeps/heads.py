"""Chapter 5's training sweep: how many heads, and how many key/value heads, at the same width.

    make sweep-heads          (= coursebook sweep heads --out minigpt/assets/experiments/heads_sweep.json)

Small models (hidden 128, 2 layers, the course tokenizer) trained with the same budget on the
course corpus: query heads 1, 2, 4, 8, 16 with as many key/value heads (multi-head attention),
then 8 query heads reading 2 and 1 key/value heads (GQA, MQA; 8/8 is the 8-head point).
Each run: validation loss on fresh course documents (another corpus seed) and the held-out
probes (greedy, minigpt.course.evaluate_course_probes). A tiny "live" configuration, which the
chapter reruns in a few seconds, is trained with three seeds to measure seed noise.

Everything is fp32 on the CPU, deterministic for a given machine; the JSON records the command,
the corpus hash, the device, the time of every run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from minigpt import TrainConfig
from minigpt.course import evaluate_course_probes, load_course_model
from minigpt.data import course_probes

from . import command_line, course_corpora, run_record, train

# The sweep's model: the course model's recipe at half the width and a third of the depth.
BASE = dict(
    vocab_size=4096, hidden_size=128, num_layers=2, intermediate_size=344, max_seq_len=256, tie_word_embeddings=True
)
TRAIN = dict(
    steps=150, batch_size=8, lr=3e-3, warmup_steps=15, dtype="fp32", device="cpu", progress=False, eval_batches=8
)
BLOCK = 128
# The point the chapter reruns live (a few seconds on a 2-core CPU).
LIVE_MODEL = dict(BASE, num_heads=8, num_kv_heads=2)
LIVE_TRAIN = dict(TRAIN, steps=30, batch_size=8, warmup_steps=3, eval_batches=8)
LIVE_BLOCK = 64
CORPUS_BYTES, VAL_BYTES = 2_000_000, 200_000
RUNS = [(1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (8, 2), (8, 1)]  # (query heads, key/value heads)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep heads", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/heads_sweep.json")
    parser.add_argument("--probes", type=int, default=10, help="held-out probes per kind and language")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    probes = course_probes(args.probes)
    began = time.perf_counter()
    results = {
        **run_record(f"make sweep-heads ({command_line('heads', argv)})"),
        "corpus": corpora,
        "model": BASE,
        "train": dict(TRAIN, block_size=BLOCK),
        "probes_per_kind_and_language": args.probes,
        "runs": [],
    }
    for heads, kv in RUNS:
        kw = dict(BASE, num_heads=heads, num_kv_heads=kv)
        model, history, seconds = train(kw, TrainConfig(**TRAIN, seed=0), BLOCK, train_ids, val_ids)
        accuracy = evaluate_course_probes(model, tokenizer, probes)
        evals = [h for h in history if h["kind"] == "eval"]
        run = {
            "num_heads": heads,
            "num_kv_heads": kv,
            "head_dim": BASE["hidden_size"] // heads,
            "parameters": model.num_parameters(),
            "seconds": round(seconds, 1),
            "train_loss": [round(h["loss"], 4) for h in history if h["kind"] == "train"],
            "val_loss": round(evals[-1]["val_loss"], 4),
            "probes": {k: round(v, 4) for k, v in accuracy.items() if "/" not in k},
        }
        results["runs"].append(run)
        print(
            f"{heads:2d}/{kv:<2d} heads: val loss {run['val_loss']:.3f}, {seconds:.0f} s, probes {run['probes']}",
            flush=True,
        )
    live = {"model": LIVE_MODEL, "train": dict(LIVE_TRAIN, block_size=LIVE_BLOCK), "seeds": {}}
    for seed in (0, 1, 2):
        _, history, seconds = train(LIVE_MODEL, TrainConfig(**LIVE_TRAIN, seed=seed), LIVE_BLOCK, train_ids, val_ids)
        live["seeds"][str(seed)] = {"val_loss": round(history[-1]["val_loss"], 4), "seconds": round(seconds, 1)}
    results["live"] = live
    results["seconds"] = round(time.perf_counter() - began, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"live point val loss by seed: {live['seeds']}; whole sweep {results['seconds']:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
