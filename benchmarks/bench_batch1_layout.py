"""Why decoding stores its weights column by column: one matrix product per weight, one row in.

    python benchmarks/bench_batch1_layout.py [--repeats 31]

For each weight shape of the course model (the joined q/k/v, o_proj, the joined gate/up, down_proj
and the 4,096-row head tied to the embedding), the time of one batch-1 product `F.linear(x, W)`
with W stored as nn.Linear allocates it, (out, in) row by row, and column by column, which is
what minigpt.decode_layout.lay_out_for_decoding does. Before each product a 64 MB buffer is
written, so that the weight comes from memory, not from a cache still warm from the previous
call: a decode step reads each weight once per token, and the model's 20.8 MB of weights are read
in turn. Then the other side of the trade for the tied head: looking token rows up in the
embedding table in both layouts, for 1, 32 and 900 tokens, and a whole 900-token prefill (the
course model with random weights, as built, then laid out for decoding). One thread, medians of
interleaved repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from minigpt import MiniGPT, ModelConfig
from minigpt.decode_layout import lay_out_for_decoding


def shapes(config: ModelConfig) -> dict[str, tuple[int, int]]:
    """(out, in) of each product a decode step makes, per layer and once for the head."""
    kv = config.num_kv_heads * config.head_dim
    q = config.num_heads * config.head_dim
    return {
        "q/k/v (joined)": (q + 2 * kv, config.hidden_size),
        "o_proj": (config.hidden_size, q),
        "gate/up (joined)": (2 * config.intermediate_size, config.hidden_size),
        "down_proj": (config.hidden_size, config.intermediate_size),
        "lm_head (tied)": (config.vocab_size, config.hidden_size),
    }


def timed(fn, flush: torch.Tensor) -> float:
    """Seconds for one call of fn, after evicting the caches."""
    flush.add_(1.0)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = ModelConfig.from_preset("course")
    flush = torch.zeros(64 * 2**20 // 4)
    print(
        f"{platform.machine()}, torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}, "
        f"1 thread, load average {os.getloadavg()[0]:.1f}, {args.repeats} interleaved repeats, median"
    )
    print("\n| product, batch 1 | MB | row by row, us | column by column, us | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, (out, inp) in shapes(config).items():
        rows = torch.randn(out, inp)
        columns = rows.t().contiguous().t()  # the same values, stored (in, out)
        x = torch.randn(1, 1, inp)
        assert torch.allclose(F.linear(x, rows), F.linear(x, columns), atol=1e-4)
        times = {"rows": [], "columns": []}
        for _ in range(args.repeats):
            times["rows"].append(timed(lambda: F.linear(x, rows), flush))  # noqa: B023
            times["columns"].append(timed(lambda: F.linear(x, columns), flush))  # noqa: B023
        r, c = (statistics.median(times[k]) * 1e6 for k in ("rows", "columns"))
        print(f"| {name} | {rows.numel() * 4 / 1e6:.2f} | {r:.0f} | {c:.0f} | {r / c:.2f}x |")

    table = torch.randn(config.vocab_size, config.hidden_size)
    tables = {"rows": table, "columns": table.t().contiguous().t()}
    size = f"{config.vocab_size} x {config.hidden_size}"
    print(f"\n| embedding lookup, {size} table | row by row, ms | column by column, ms |")
    print("|---|---:|---:|")
    for tokens in (1, 32, 900):
        ids = torch.randint(0, config.vocab_size, (1, tokens))
        assert torch.equal(F.embedding(ids, tables["rows"]), F.embedding(ids, tables["columns"]))
        times = {k: [] for k in tables}
        for _ in range(args.repeats):
            for k, t in tables.items():
                times[k].append(timed(lambda: F.embedding(ids, t), flush))  # noqa: B023
        r, c = (statistics.median(times[k]) * 1e3 for k in ("rows", "columns"))
        print(f"| {tokens} tokens | {r:.3f} | {c:.3f} |")

    built = MiniGPT(ModelConfig.from_preset("course", max_seq_len=1024)).eval()
    laid_out = MiniGPT(built.config).eval()
    laid_out.load_state_dict(built.state_dict())
    lay_out_for_decoding(laid_out)
    ids = torch.randint(0, config.vocab_size, (1, 900))
    times = {"built": [], "laid out": []}
    with torch.no_grad():
        for _ in range(max(5, args.repeats // 4)):
            for k, model in (("built", built), ("laid out", laid_out)):
                times[k].append(timed(lambda: model(ids, logits_to_keep=1), flush))  # noqa: B023
    b, c = (statistics.median(times[k]) * 1e3 for k in ("built", "laid out"))
    print(f"\n900-token prefill: {b:.1f} ms as built, {c:.1f} ms laid out for decoding")


if __name__ == "__main__":
    main()
