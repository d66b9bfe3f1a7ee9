"""Training step of minigpt now vs minigpt at an earlier commit, in one process (A, B, A, B, ...).

The baseline is `git archive REV minigpt`, imported under another package name (its modules import
each other relatively), so both versions run the same weights on the same batch, alternating,
and machine noise hits both alike. The figure is the ratio of median step times. One step =
forward + backward + AdamW step on (batch x seq) tokens.

    python benchmarks/bench_ab_train_step.py --baseline-rev 5e4da2e [--bf16] [--repeats 9]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import minigpt
import torch

ROOT = Path(__file__).resolve().parents[1]


def load_baseline(rev: str, folder: Path):
    """The package `minigpt` at commit `rev`, importable as `minigpt_baseline`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "minigpt"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    init = folder / "minigpt" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "minigpt_baseline", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    baseline = importlib.util.module_from_spec(spec)
    sys.modules["minigpt_baseline"] = baseline  # before it runs, so its relative imports find it
    spec.loader.exec_module(baseline)
    return baseline


def step_timer(model, x, y, autocast_dtype):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    # pre-shifted targets: `targets=` since issue 13, `labels=` before it
    name = "targets" if "targets" in inspect.signature(model.forward).parameters else "labels"

    def step():
        ctx = torch.autocast(x.device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
        start = time.perf_counter()
        with ctx:
            loss = model(x, **{name: y}).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - start, loss.item()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-rev", required=True, help="git commit of the baseline")
    parser.add_argument("--preset", default="course")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for both")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = load_baseline(args.baseline_rev, Path(tmp))
        torch.manual_seed(0)
        config = minigpt.ModelConfig.from_preset(args.preset)
        new = minigpt.MiniGPT(config).train()
        old = base.MiniGPT(base.ModelConfig.from_preset(args.preset)).train()
        old.load_state_dict(new.state_dict())
        ids = torch.randint(0, config.vocab_size, (args.batch, args.seq + 1))
        x, y = ids[:, :-1], ids[:, 1:]
        dtype = torch.bfloat16 if args.bf16 else None
        a, b = step_timer(new, x, y, dtype), step_timer(old, x, y, dtype)
        for _ in range(args.warmup):
            (_, loss_a), (_, loss_b) = a(), b()
        times_a, times_b = [], []
        for _ in range(args.repeats):
            times_a.append(a()[0])
            times_b.append(b()[0])
    ta, tb = statistics.median(times_a), statistics.median(times_b)
    tokens = args.batch * args.seq
    print(
        f"config {args.preset}: batch {args.batch} x {args.seq}, {'bf16 autocast' if dtype else 'fp32'}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, baseline {args.baseline_rev}"
    )
    print(f"same loss after the warm-up steps (1e-4): {abs(loss_a - loss_b) < 1e-4}")
    print(f"now       {tokens / ta:10.0f} tokens/s   (median step {ta * 1e3:.1f} ms)")
    print(f"baseline  {tokens / tb:10.0f} tokens/s   (median step {tb * 1e3:.1f} ms)")
    print(f"ratio now / baseline (speed): {tb / ta:.2f}x")


if __name__ == "__main__":
    main()
