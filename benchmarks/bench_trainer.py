"""Trainer overhead: minigpt.Trainer vs a plain hand-written PyTorch loop, same model and data.

Both do the same work per step: a batch of (batch x seq) windows from one PackedDataset,
forward + backward (same autocast dtype), clipping to norm 1.0, AdamW with weight decay on the
matrices, and reading the loss back every step (the plain loop calls loss.item(), as any loop
that prints its loss does). The trainer does everything else it always does: counting target
tokens, the sum/N loss normalization, the progress bar, the metrics history and metrics.jsonl.
Blocks of `--steps` steps alternate (trainer, plain, plain, trainer, ...) so that noise from a
shared machine hits both alike; the figure is the median over repeats of the trainer/plain
ratio of the two back-to-back blocks.

    python benchmarks/bench_trainer.py                       # CPU, course config, bf16 autocast
    python benchmarks/bench_trainer.py --compile             # both torch.compile'd (~1 min to compile)
    python benchmarks/bench_trainer.py --device cuda --preset minimind2-small --seq 512 --batch 32 \\
        --compile --peak-tflops 989                          # GPU: adds MFU (989 = H100 SXM bf16 dense)

Data: random token ids (speed does not depend on which ids they are).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from minigpt import MiniGPT, ModelConfig
from minigpt.counting import flops_per_token
from minigpt.data import PackedDataset
from minigpt.devices import resolve_device, resolve_dtype
from minigpt.train import TrainConfig, Trainer


def plain_loop(model, data, batch, dtype, device, compile_):
    """The loop a reader would write by hand (nanoGPT style)."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed_tokens" not in n]
    other = [p for n, p in model.named_parameters() if p.ndim < 2 or "embed_tokens" in n]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.95),
        **({"fused": True} if device.type == "cuda" else {}),
    )
    fwd = torch.compile(model) if compile_ else model
    g = torch.Generator().manual_seed(0)

    def run(steps):
        for _ in range(steps):
            idx = torch.randint(0, len(data), (batch,), generator=g).tolist()
            x, y = (torch.stack(t).to(device) for t in zip(*(data[i] for i in idx), strict=True))
            ctx = torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext()
            with ctx:
                loss = fwd(x, targets=y).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            loss.item()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="course")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=10, help="timed blocks of each")
    parser.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--peak-tflops", type=float, help="accelerator peak TFLOP/s for the dtype: prints MFU")
    args = parser.parse_args()

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    config = ModelConfig.from_preset(args.preset)
    torch.manual_seed(0)
    ours = MiniGPT(config)
    theirs = copy.deepcopy(ours).to(device).train()
    ids = np.random.default_rng(0).integers(0, config.vocab_size, 2_000_000).astype(np.int64)
    data = PackedDataset(ids, args.seq)

    with tempfile.TemporaryDirectory() as out:
        train_config = TrainConfig(
            steps=10**9,
            batch_size=args.batch,
            lr=1e-3,
            warmup_steps=100,
            grad_clip=1.0,
            dtype=args.dtype,
            device=args.device,
            compile=args.compile,
            out_dir=out,
            peak_tflops=args.peak_tflops,
        )
        trainer = Trainer(ours, train_config, data)
        plain = plain_loop(theirs, data, args.batch, dtype, device, args.compile)

        def timed(run):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):  # the progress bar is drawn, not shown
                run(args.steps)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return args.batch * args.seq * args.steps / (time.perf_counter() - start)

        def run_trainer(steps):
            trainer.train(steps=steps)

        timed(run_trainer), timed(plain)  # warm-up (and compilation)
        a, b = [], []
        for r in range(args.repeats):
            order = [(a, run_trainer), (b, plain)] if r % 2 == 0 else [(b, plain), (a, run_trainer)]
            for store, run in order:
                store.append(timed(run))

    ta, tb = statistics.median(a), statistics.median(b)
    print(
        f"config {args.preset}: {ours.num_parameters():,} parameters, batch {args.batch} x {args.seq}, "
        f"{str(dtype).replace('torch.', '')}{', compiled' if args.compile else ''}, device {device} "
        f"({platform.processor() or platform.machine()}), torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(f"{args.repeats} interleaved blocks of {args.steps} steps each; tokens/s per block:")
    print("  trainer  " + " ".join(f"{v:,.0f}" for v in a))
    print("  plain    " + " ".join(f"{v:,.0f}" for v in b))
    print(f"minigpt Trainer  {ta:10,.0f} tokens/s (median), {max(a):,.0f} (best block)")
    print(f"plain loop       {tb:10,.0f} tokens/s (median), {max(b):,.0f} (best block)")
    # Each repeat times the two back to back, so a burst of load from elsewhere mostly hits both:
    # the median of the per-repeat ratios is the figure that survives a shared machine.
    ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
    print(
        f"ratio trainer / plain: {ratio:.3f} (median of per-repeat ratios; overhead {100 * (1 - ratio):+.1f}%); "
        f"ratio of medians {ta / tb:.3f}, of best blocks {max(a) / max(b):.3f}"
    )
    if args.peak_tflops:
        fpt = flops_per_token(config, context=args.seq, training=True)
        print(
            f"MFU at {args.peak_tflops} TFLOP/s peak: trainer {fpt * ta / (args.peak_tflops * 1e12):.1%}, "
            f"plain {fpt * tb / (args.peak_tflops * 1e12):.1%} (model FLOPs {fpt:.3e}/token, counting.flops_per_token)"
        )


if __name__ == "__main__":
    main()
