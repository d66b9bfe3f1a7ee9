"""fp32 vs bf16 autocast for one training step of minigpt on this CPU, and what dtype "auto" picks.

The two precisions alternate in one process (fp32, bf16, fp32, ...) so machine noise hits both;
the figure is the ratio of median step times. On a CPU without bf16 units (AVX2 only) bf16 is
emulated; approximate one with ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
ATEN_CPU_CAPABILITY=avx2.

    python benchmarks/bench_precision.py [--preset course] [--batch 4] [--seq 128] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from minigpt import MiniGPT, ModelConfig
from minigpt.devices import _cpu_has_bf16, cpu_bf16_speedup, resolve_dtype


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="course")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    model = MiniGPT(ModelConfig.from_preset(args.preset))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq + 1))

    def step(dtype):
        ctx = torch.autocast("cpu", dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext()
        start = time.perf_counter()
        with ctx:
            loss = model(ids[:, :-1], targets=ids[:, 1:]).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    dtypes = (torch.float32, torch.bfloat16)
    for dtype in dtypes:  # warm-up
        step(dtype)
    times = {d: [] for d in dtypes}
    for _ in range(args.repeats):
        for dtype in dtypes:
            times[dtype].append(step(dtype))
    tokens = args.batch * args.seq
    fp32, bf16 = (statistics.median(times[d]) for d in dtypes)
    print(
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}, threads {torch.get_num_threads()}, "
        f"mkldnn bf16 {_cpu_has_bf16()}, bf16/fp32 matmul speedup {cpu_bf16_speedup():.2f}x"
    )
    print(
        f"{args.preset}, {args.batch} x {args.seq} tokens: fp32 {tokens / fp32:,.0f} tokens/s, "
        f"bf16 autocast {tokens / bf16:,.0f} tokens/s, bf16 / fp32 = {fp32 / bf16:.2f}x"
    )
    print(f'dtype "auto" picks {resolve_dtype("auto", torch.device("cpu"))}')


if __name__ == "__main__":
    main()
