"""Training-step throughput: minigpt vs transformers' LlamaForCausalLM, same config and weights.

One step = forward + backward + AdamW step on a batch of (batch x seq) tokens. The two models
alternate (A, B, A, B, ...) in one process so that machine noise hits both alike; the figure is
the ratio of median step times.

    python benchmarks/bench_train_step.py [--preset course] [--batch 8] [--seq 256] [--repeats 7]
    python benchmarks/bench_train_step.py --device cuda --preset minimind2-small --batch 16 --seq 1024 --bf16
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time

import torch
from minigpt import MiniGPT, ModelConfig


def step_timer(model, ids, labels, autocast_dtype, hf: bool):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    device = ids.device.type

    def step():
        ctx = torch.autocast(device, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
        sync(device)
        start = time.perf_counter()
        with ctx:
            if hf:  # transformers shifts labels inside; give it the unshifted sequence
                loss = model(input_ids=ids, labels=ids).loss
            else:
                loss = model(ids, targets=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)  # GPU work is queued: wait for it before reading the clock
        return time.perf_counter() - start

    return step


def sync(device_type: str) -> None:
    if device_type == "cuda":
        torch.cuda.synchronize()


def main():
    import transformers

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="course")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast for both")
    parser.add_argument("--compile", action="store_true", help="torch.compile minigpt")
    parser.add_argument("--compile-transformers", action="store_true", help="torch.compile transformers too")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # as the trainer does; matters for fp32 only

    torch.manual_seed(0)
    config = ModelConfig.from_preset(args.preset)
    ours = MiniGPT(config).train().to(args.device)
    with tempfile.TemporaryDirectory() as folder:
        ours.save_pretrained(folder)
        theirs = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).train().to(args.device)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq + 1), device=args.device)
    x, y = ids[:, :-1], ids[:, 1:]
    dtype = torch.bfloat16 if args.bf16 else None
    model_a = torch.compile(ours) if args.compile else ours
    a = step_timer(model_a, x, y, dtype, hf=False)
    b = step_timer(torch.compile(theirs) if args.compile_transformers else theirs, x, None, dtype, hf=True)
    for _ in range(args.warmup):
        a(), b()
    times_a, times_b = [], []
    for _ in range(args.repeats):
        times_a.append(a())
        times_b.append(b())
    tokens = args.batch * args.seq
    ta, tb = statistics.median(times_a), statistics.median(times_b)
    print(
        f"config {args.preset}: {ours.num_parameters():,} parameters, batch {args.batch} x {args.seq}, "
        f"{'bf16 autocast' if dtype else 'fp32'}{', minigpt compiled' if args.compile else ''}"
        f"{', transformers compiled' if args.compile_transformers else ''}, "
        f"torch {torch.__version__}, transformers {transformers.__version__}, threads {torch.get_num_threads()}, "
        f"{torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu'}"
    )
    print(f"minigpt       {tokens / ta:10.0f} tokens/s   (median step {ta * 1e3:.1f} ms)")
    print(f"transformers  {tokens / tb:10.0f} tokens/s   (median step {tb * 1e3:.1f} ms)")
    print(f"ratio minigpt / transformers: {tb / ta:.2f}x")


if __name__ == "__main__":
    main()
