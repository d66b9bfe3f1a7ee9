"""Where a decoded token's time goes: torch.profiler over greedy `generate` of the course model.

    python benchmarks/profile_decode.py [--package /tmp/before28/minigpt] [--rows 15] [--quantize int8]

The shipped course model (minigpt.load_course_model(), its max_seq_len raised to fit 900 + 64
tokens), one thread, greedy, prompt 32 + 128 new tokens and 900 + 64. The prefill runs before the
profiler starts, so the table is the decode steps only: ATen operators by self CPU time, and the
calls per token (which do not depend on the machine's load, unlike the times).
--package profiles another copy of the package (e.g. a git worktree at an older commit).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
from pathlib import Path

import minigpt
import torch
from minigpt.course import load_course_model
from packages import load_package
from torch.profiler import ProfilerActivity, profile


def course_model(package, max_seq_len: int):
    """The course model's weights in `package`'s MiniGPT, with room for max_seq_len tokens."""
    shipped, _ = load_course_model()
    config = package.ModelConfig.from_dict({**shipped.config.to_dict(), "max_seq_len": max_seq_len})
    model = package.MiniGPT(config).eval()
    model.load_state_dict(shipped.state_dict())
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", type=Path, help="profile the minigpt package in this folder instead")
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--quantize", choices=["int8"], help="profile the weight-only int8 model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    package = load_package("minigpt_other", args.package) if args.package else minigpt
    generate = package.generate
    model = course_model(package, max_seq_len=1024)
    if args.quantize:
        from minigpt.quant import quantize_int8

        quantize_int8(model)
    print(
        f"{package.__file__}; {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"capability {torch.backends.cpu.get_cpu_capability()}, 1 thread, load average {os.getloadavg()[0]:.1f}"
    )
    for context, new in ((32, 128), (900, 64)):
        prompt = torch.randint(1, model.config.vocab_size, (1, context), generator=torch.Generator().manual_seed(0))
        generate(model, prompt, 8, eos_token_id=[])  # warm-up
        stream = importlib.import_module(package.__name__ + ".generate").stream
        steps = stream(model, prompt, new + 1, eos_token_id=[])
        next(steps)  # the prefill and the first token, outside the profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in steps:
                pass
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        calls = sum(e.count for e in events if e.key.startswith("aten::"))
        print(
            f"\n== prompt {context} + {new} new tokens: decode {total / 1e3 / new:.2f} ms/token (profiled), "
            f"{calls / new:.0f} aten calls per token"
        )
        print(f"{'operator':<40} {'self ms/token':>13} {'share':>6} {'calls/token':>11}")
        for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.rows]:
            print(
                f"{e.key[:40]:<40} {e.self_cpu_time_total / 1e3 / new:>13.3f} "
                f"{e.self_cpu_time_total / total:>6.1%} {e.count / new:>11.1f}"
            )


if __name__ == "__main__":
    main()
