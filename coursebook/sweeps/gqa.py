"""Chapter 5's seeds: multi-head, grouped-query and multi-query attention, each trained three times.

    make sweep-gqa            (= coursebook sweep gqa --out minigpt/assets/experiments/gqa_seeds.json)

The heads sweep (sweeps/heads.py) trains every point once. This one trains its three attention
variants, 8 query heads reading 8, 2 and 1 key/value heads, with seeds 0, 1 and 2 (the seed sets
the initial weights and the order of the windows), with the heads sweep's model, corpus and recipe
(8 x 128 tokens a step, warmup a tenth of the steps, cosine), at its budget of 150 steps and at 600,
so a gap between variants can be set against the spread between seeds. Each run records its seed,
steps, parameters, seconds, the training loss per step and the validation loss on fresh course
documents at the end.

Everything is fp32 on the CPU at one thread. The JSON is rewritten after every run ("complete":
false until the last), so an interrupted sweep keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from minigpt import TrainConfig
from minigpt.course import load_course_model

from . import command_line, course_corpora, run_record, train
from .heads import BASE, BLOCK, CORPUS_BYTES, TRAIN, VAL_BYTES

VARIANTS = [(8, 8), (8, 2), (8, 1)]  # (query heads, key/value heads): MHA, GQA, MQA
SEEDS = (0, 1, 2)
BUDGETS = (150, 600)  # steps; 150 is the heads sweep's


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep gqa", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/gqa_seeds.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    began = time.perf_counter()
    results = {
        **run_record(f"make sweep-gqa ({command_line('gqa', argv)})"),
        "corpus": corpora,
        "model": BASE,
        "train": dict(TRAIN, block_size=BLOCK, steps="150 or 600", warmup_steps="steps // 10"),
        "budgets": list(BUDGETS),
        "seeds": list(SEEDS),
        "complete": False,
        "runs": [],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for steps in BUDGETS:
        for seed in SEEDS:
            for heads, kv in VARIANTS:
                kw = dict(BASE, num_heads=heads, num_kv_heads=kv)
                config = TrainConfig(**dict(TRAIN, steps=steps, warmup_steps=steps // 10, seed=seed))
                model, history, seconds = train(kw, config, BLOCK, train_ids, val_ids)
                record(results, heads, kv, steps, seed, model, history, seconds)
                results["seconds"] = round(time.perf_counter() - began, 1)
                out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
                loss = results["runs"][-1]["val_loss"]
                print(
                    f"{heads}/{kv} heads, {steps} steps, seed {seed}: val loss {loss:.3f}, {seconds:.0f} s", flush=True
                )
    results["complete"] = True
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"whole sweep {results['seconds']:.0f} s -> {out}")
    return 0


def record(results: dict, heads: int, kv: int, steps: int, seed: int, model, history, seconds: float) -> None:
    evals = [h for h in history if h["kind"] == "eval"]
    results["runs"].append(
        {
            "num_heads": heads,
            "num_kv_heads": kv,
            "steps": steps,
            "seed": seed,
            "parameters": model.num_parameters(),
            "seconds": round(seconds, 1),
            "train_loss": [round(h["loss"], 4) for h in history if h["kind"] == "train"],
            "val_loss": round(evals[-1]["val_loss"], 4),
        }
    )


if __name__ == "__main__":
    raise SystemExit(main())
