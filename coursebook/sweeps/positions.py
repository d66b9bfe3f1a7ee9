"""Chapter 6's training runs: RoPE, ALiBi and NoPE trained alike, then read past their window.

    OMP_NUM_THREADS=1 nice -n 10 python -m coursebook.sweeps.positions \
        --out minigpt/assets/experiments/positions_sweep.json

Three position schemes on one small model (the course tokenizer and corpus, hidden 128, 2
layers, 4 heads of 32), trained with the same budget, data order and seeds on windows of BLOCK
tokens, then evaluated on fresh course documents in sequences of EVAL_LEN = 4 x BLOCK tokens,
the loss kept for every position:

    rope   minigpt's model as it is (Su et al., 2021), base 10000
    alibi  no rotation; each head adds -slope * (i - j) to the score of query i for key j, slopes
           2^(-8h/H) for heads h = 1..H (Press et al., 2022, "Train Short, Test Long", §3)
    nope   no position signal at all; only the causal mask (Kazemnejad et al., 2023, "The Impact
           of Positional Encoding on Length Generalization in Transformers")

ALiBi and NoPE are not options of minigpt: this script swaps the model's rotary table for one
that does not rotate (cos 1, sin 0) and, for ALiBi, adds the bias in the attention kernel. Both
patches live here, not in the package, and are undone after each run.

Everything is fp32 on the CPU, one thread; the JSON records the command, the configs, the seeds,
the corpus hashes, the device and the time of every run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import time
from pathlib import Path

import minigpt.model as mm
import torch
import torch.nn as nn
import torch.nn.functional as F
from minigpt import TrainConfig
from minigpt.course import load_course_model

from . import course_corpora, run_record, train

MODEL = dict(
    vocab_size=4096,
    hidden_size=128,
    num_layers=2,
    num_heads=4,
    num_kv_heads=4,
    intermediate_size=344,
    max_seq_len=1024,  # only bounds the evaluation; training windows are BLOCK tokens
    tie_word_embeddings=True,
)
BLOCK = 64
EVAL_LEN = 4 * BLOCK
TRAIN = dict(
    steps=400, batch_size=16, lr=3e-3, warmup_steps=20, dtype="fp32", device="cpu", progress=False, eval_batches=8
)
SCHEMES = ("rope", "alibi", "nope")
SEEDS = (0, 1, 2)
CORPUS_BYTES, VAL_BYTES = 2_000_000, 400_000
EVAL_SEQS = 64  # sequences of EVAL_LEN fresh tokens


class NoRotation(nn.Module):
    """A rotary table that does not rotate: cos 1, sin 0 at every position."""

    def forward(self, x, position_ids):
        shape = (*position_ids.shape, MODEL["hidden_size"] // MODEL["num_heads"])
        return torch.ones(shape, dtype=x.dtype, device=x.device), torch.zeros(shape, dtype=x.dtype, device=x.device)


def alibi_slopes(heads: int) -> torch.Tensor:
    """Press et al.'s head slopes for a power-of-two number of heads: 2^(-8/H), 2^(-16/H), ..."""
    return 2.0 ** (-8.0 * torch.arange(1, heads + 1) / heads)


def alibi_attention(q, k, v, mask, dropout=0.0):
    """SDPA with ALiBi's linear bias: -slope_h * (i - j) for key j <= query i, -inf after i.
    Whole sequences only (no cache, no padding): what training and this evaluation run."""
    if mask is not None or q.shape[2] != k.shape[2]:
        raise ValueError("alibi_attention handles whole causal sequences only (no KV cache, no padding mask)")
    t = q.shape[2]
    pos = torch.arange(t, device=q.device)
    distance = (pos[:, None] - pos[None, :]).float()  # (T, T): i - j
    bias = -alibi_slopes(q.shape[1]).to(q.device)[:, None, None] * distance  # (H, T, T)
    bias = bias.masked_fill(distance < 0, float("-inf")).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias[None], dropout_p=dropout)


@contextlib.contextmanager
def scheme(name: str):
    """Patch minigpt for one scheme while the block runs: rope changes nothing; nope and alibi
    replace every new model's rotary table; alibi also replaces the attention kernel."""
    saved_rotary, saved_sdpa = mm.RotaryEmbedding.from_config, mm.sdpa_attention
    try:
        if name in ("nope", "alibi"):
            mm.RotaryEmbedding.from_config = classmethod(lambda cls, config: NoRotation())  # type: ignore[method-assign]
        if name == "alibi":
            mm.sdpa_attention = alibi_attention
        yield
    finally:
        mm.RotaryEmbedding.from_config, mm.sdpa_attention = saved_rotary, saved_sdpa


def loss_per_position(model, val_ids) -> torch.Tensor:
    """Mean next-token loss at each position of EVAL_SEQS sequences of EVAL_LEN fresh tokens."""
    seqs = val_ids[: EVAL_SEQS * EVAL_LEN + 1].unfold(0, EVAL_LEN + 1, EVAL_LEN)
    losses = []
    with torch.no_grad():
        for chunk in seqs.split(8):
            logits = model(chunk[:, :-1]).logits
            losses.append(F.cross_entropy(logits.transpose(1, 2), chunk[:, 1:], reduction="none"))
    return torch.cat(losses).mean(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="coursebook sweep positions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="minigpt/assets/experiments/positions_sweep.json")
    parser.add_argument("--steps", type=int, default=TRAIN["steps"])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    args = parser.parse_args(argv)
    train_kw = dict(TRAIN, steps=args.steps)
    _, tokenizer = load_course_model()
    train_ids, val_ids, corpora = course_corpora(tokenizer, CORPUS_BYTES, VAL_BYTES)
    began = time.perf_counter()
    results = {
        **run_record(
            shlex.join(["python", "-m", "coursebook.sweeps.positions", *(sys.argv[1:] if argv is None else argv)])
        ),
        "corpus": corpora,
        "model": MODEL,
        "train": dict(train_kw, block_size=BLOCK),
        "eval": {"length": EVAL_LEN, "sequences": EVAL_SEQS},
        "alibi_slopes": [round(float(s), 6) for s in alibi_slopes(MODEL["num_heads"])],
        "runs": [],
    }
    for seed in args.seeds:
        for name in args.schemes:
            with scheme(name):
                model, history, seconds = train(MODEL, TrainConfig(**train_kw, seed=seed), BLOCK, train_ids, val_ids)
                per_position = loss_per_position(model, val_ids)
            run = {
                "scheme": name,
                "seed": seed,
                "seconds": round(seconds, 1),
                "val_loss": round(history[-1]["val_loss"], 4),
                "loss_per_position": [round(float(x), 4) for x in per_position],
            }
            results["runs"].append(run)
            ranges = [float(per_position[a : a + BLOCK].mean()) for a in range(0, EVAL_LEN, BLOCK)]
            print(f"{name:>5} seed {seed}: {seconds:.0f} s, loss by range {[round(r, 3) for r in ranges]}", flush=True)
            results["seconds"] = round(time.perf_counter() - began, 1)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"whole sweep {results['seconds']:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
