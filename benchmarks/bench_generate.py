"""The sampler's speed and memory, each figure a ratio measured in one process.

1. decode tokens/s with the KV cache vs without (recompute everything) at contexts 128/512/1024;
2. prefill tokens/s vs decode tokens/s ("reading is about 10x faster than writing"?);
3. minigpt's cached greedy generate vs transformers' generate, same weights, batch 1, and where
   the time per token goes: the matrix products alone, each library's bare forward loop, and
   each library's generate;
4. KV-cache bytes: allocated tensors (and the process's memory growth) vs
   counting.kv_cache_bytes_per_token.

Timed alternatives are interleaved (A, B, A, B, ...) so machine noise hits both alike; every
figure is a median over repeats. Weights are random: speed does not depend on their values.

    python benchmarks/bench_generate.py [--threads 1] [--repeats 5] [--quick]
    python benchmarks/bench_generate.py --device cuda [--dtype bf16] [--preset qwen2.5-0.5b --contexts 512 2048 8192]

One thread by default: decoding one token of a 5M-parameter model is a chain of ~300 small
operations, which a second thread cannot speed up, and on a shared 2-core machine a busy
neighbour process makes two-thread small ops 10x slower (measured), swamping every ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings

import torch
import torch.nn.functional as F
from minigpt import MiniGPT, ModelConfig
from minigpt.cache import KVCache
from minigpt.counting import kv_cache_bytes_per_token
from minigpt.generate import generate, stream


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()  # GPU work is queued: wait for it before reading the clock


def decode_seconds_per_token(model, context: int, new_tokens: int, use_cache: bool) -> float:
    """Seconds per decode step after a prompt of `context` tokens (the prefill is not counted)."""
    ids = torch.randint(0, model.config.vocab_size, (1, context), device=model.device)
    steps = stream(model, ids, new_tokens + 1, use_cache=use_cache, eos_token_id=[])
    next(steps)  # the prefill and the first token
    sync(model.device)
    start = time.perf_counter()
    for _ in steps:
        pass
    sync(model.device)
    return (time.perf_counter() - start) / new_tokens


def prefill_seconds(model, context: int) -> float:
    ids = torch.randint(0, model.config.vocab_size, (1, context), device=model.device)
    cache = KVCache(model.config, 1, max_len=context, device=model.device, dtype=next(model.parameters()).dtype)
    sync(model.device)
    start = time.perf_counter()
    with torch.inference_mode():
        model(ids, kv_cache=cache, logits_to_keep=1)
    sync(model.device)
    return time.perf_counter() - start


def interleaved(functions: dict, repeats: int, warmup: int = 1) -> dict:
    """Median of each function's result, calling them in turn."""
    for _ in range(warmup):
        for f in functions.values():
            f()
    results = {name: [] for name in functions}
    for _ in range(repeats):
        for name, f in functions.items():
            results[name].append(f())
    return {name: statistics.median(r) for name, r in results.items()}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 = torch's choice)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=32, help="decode steps timed per context")
    parser.add_argument("--hf-new-tokens", type=int, default=128, help="tokens per generate call vs transformers")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and tokens (a smoke run)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--preset", default="course", help="model config (random weights)")
    parser.add_argument("--contexts", type=int, nargs="+", default=[128, 512, 1024], help="prompt lengths")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="add both libraries compiled: minigpt compile=True, transformers static cache + compile",
    )
    parser.add_argument("--skip-transformers", action="store_true", help="leave out the comparison with transformers")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="weights and cache dtype")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.new_tokens, args.hf_new_tokens = 2, 8, 32
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    contexts = args.contexts
    config = ModelConfig.from_preset(
        args.preset, max_seq_len=max(max(contexts) + args.new_tokens + 1, 32 + args.hf_new_tokens)
    )
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    device = torch.device(args.device)
    model = MiniGPT(config).eval().to(device=device, dtype=dtype)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(
        f"{where}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"model: {args.preset} preset ({model.num_parameters():,} parameters, hidden {config.hidden_size}, "
        f"{config.num_layers} layers, {config.num_heads} query / {config.num_kv_heads} KV heads, vocab "
        f"{config.vocab_size}), {args.dtype}, batch 1, max_seq_len {config.max_seq_len}\n"
    )

    # 1 + 2: cached vs uncached decode, and prefill, at each context
    print(
        f"{'context':>7} | {'decode cached':>13} | {'uncached':>9} | {'cache speedup':>13} | "
        f"{'prefill':>9} | {'prefill/decode':>14}"
    )
    print(f"{'':>7} | {'tokens/s':>13} | {'tokens/s':>9} | {'':>13} | {'tokens/s':>9} | {'per token':>14}")
    for context in contexts:
        t = interleaved(
            {
                "cached": lambda c=context: decode_seconds_per_token(model, c, args.new_tokens, True),
                "uncached": lambda c=context: decode_seconds_per_token(model, c, max(2, args.new_tokens // 4), False),
                "prefill": lambda c=context: prefill_seconds(model, c),
            },
            args.repeats,
        )
        cached, uncached, prefill = 1 / t["cached"], 1 / t["uncached"], context / t["prefill"]
        print(
            f"{context:>7} | {cached:>13,.0f} | {uncached:>9,.1f} | {cached / uncached:>12.1f}x | "
            f"{prefill:>9,.0f} | {prefill / cached:>13.1f}x"
        )

    # 3: minigpt vs transformers, whole generate calls (prefill included), greedy, same weights
    try:
        import transformers
    except ImportError:
        transformers = None
    if transformers is not None and not args.skip_transformers:
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            theirs = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).eval().to(device)
        prompt = torch.randint(0, config.vocab_size, (1, 32), device=device)
        n = args.hf_new_tokens
        quiet = warnings.catch_warnings

        def seconds_per_token(call):
            sync(device)
            start = time.perf_counter()
            with quiet():
                warnings.simplefilter("ignore")
                out = call()
            sync(device)
            assert out.shape[1] == 32 + n
            return (time.perf_counter() - start) / n

        def ours_generate(compile=False):
            return seconds_per_token(lambda: generate(model, prompt, n, eos_token_id=[], compile=compile))

        compile_config = transformers.CompileConfig()
        compile_config._compile_all_devices = True  # transformers compiles only on GPUs unless told

        def theirs_generate(**compiled):
            return seconds_per_token(
                lambda: theirs.generate(
                    prompt,
                    attention_mask=torch.ones_like(prompt),
                    max_new_tokens=n,
                    min_new_tokens=n,
                    do_sample=False,
                    pad_token_id=0,
                    **compiled,
                )
            )

        @torch.inference_mode()
        def bare_loop(forward, make_cache):
            """The model alone: prefill, then n - 1 single-token forwards and an argmax each."""
            sync(device)
            start = time.perf_counter()
            cache = make_cache()
            token = forward(prompt, cache).logits[:, -1].argmax(-1, keepdim=True)
            for _ in range(n - 1):
                token = forward(token, cache).logits[:, -1].argmax(-1, keepdim=True)
            sync(device)
            return (time.perf_counter() - start) / n

        def ours_bare():
            return bare_loop(
                lambda ids, c: model(ids, kv_cache=c, logits_to_keep=1),
                lambda: KVCache(config, 1, max_len=32 + n, device=device, dtype=dtype),
            )

        def theirs_bare():
            return bare_loop(
                lambda ids, c: theirs(ids, past_key_values=c, use_cache=True, logits_to_keep=1),
                lambda: transformers.DynamicCache(config=theirs.config),
            )

        weights = [mod.weight for mod in model.modules() if isinstance(mod, torch.nn.Linear)]

        @torch.inference_mode()
        def matmuls_only():
            """The same 43 products of a 1-token step (every weight read once), nothing else."""
            xs = {w.shape[1]: torch.randn(1, 1, w.shape[1], device=device, dtype=dtype) for w in weights}
            sync(device)
            start = time.perf_counter()
            for _ in range(n):
                for w in weights:
                    F.linear(xs[w.shape[1]], w)
            sync(device)
            return (time.perf_counter() - start) / n

        with quiet():
            warnings.simplefilter("ignore")
            same = torch.equal(
                generate(model, prompt, 16, eos_token_id=[]),
                theirs.generate(
                    prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=16, do_sample=False, pad_token_id=0
                ),
            )
        timed = {
            "ours": ours_generate,
            "theirs": theirs_generate,
            "ours_bare": ours_bare,
            "theirs_bare": theirs_bare,
            "matmuls": matmuls_only,
        }
        if args.compile:  # the warm-up call compiles; it is not timed
            timed.update(
                ours_compiled=lambda: ours_generate(compile=True),
                theirs_compiled=lambda: theirs_generate(cache_implementation="static", compile_config=compile_config),
            )
        t = interleaved(timed, args.repeats)
        print(
            f"\ngreedy generate, prompt 32 + {n} new tokens, batch 1 (same tokens: {same}); "
            f"transformers {transformers.__version__}"
        )
        print(f"  minigpt generate        {1 / t['ours']:>6,.0f} tokens/s  {1e3 * t['ours']:5.2f} ms/token")
        print(f"  transformers generate   {1 / t['theirs']:>6,.0f} tokens/s  {1e3 * t['theirs']:5.2f} ms/token")
        print(f"  ratio                   {t['theirs'] / t['ours']:>6.2f}x")
        if args.compile:
            print(
                f"  minigpt generate, compile=True                  {1 / t['ours_compiled']:>6,.0f} tokens/s  "
                f"{1e3 * t['ours_compiled']:5.2f} ms/token"
            )
            print(
                f"  transformers generate, static cache + compile   {1 / t['theirs_compiled']:>6,.0f} tokens/s  "
                f"{1e3 * t['theirs_compiled']:5.2f} ms/token"
            )
            print(f"  ratio, minigpt compiled / transformers eager    {t['theirs'] / t['ours_compiled']:>6.2f}x")
            print(
                f"  ratio, both compiled                            {t['theirs_compiled'] / t['ours_compiled']:>6.2f}x"
            )
        print("where a token's time goes (ms/token):")
        print(f"  the {len(weights)} matrix products alone          {1e3 * t['matmuls']:5.2f}")
        print(f"  minigpt model, bare loop             {1e3 * t['ours_bare']:5.2f}")
        print(f"  transformers model, bare loop        {1e3 * t['theirs_bare']:5.2f}")
        print(f"  transformers generate's own work     {1e3 * (t['theirs'] - t['theirs_bare']):5.2f}")
        print(f"  minigpt generate's own work          {1e3 * (t['ours'] - t['ours_bare']):5.2f}")

    # 4: KV-cache memory: what is allocated vs the formula
    print("\nKV cache, fp32, measured vs counting.kv_cache_bytes_per_token(config, 4) x batch x tokens:")
    for kv_heads, batch, length in ((2, 1, 1024), (2, 16, 1024), (8, 16, 1024)):
        c = ModelConfig.from_preset("course", num_kv_heads=kv_heads, max_seq_len=length)
        formula = kv_cache_bytes_per_token(c, bytes_per_value=4) * batch * length
        used = (lambda: torch.cuda.memory_allocated(device)) if device.type == "cuda" else rss_bytes
        before = used()
        cache = KVCache(c, batch, max_len=length, device=device)
        grown = used() - before
        storage = cache.k.untyped_storage().nbytes() + cache.v.untyped_storage().nbytes()
        print(
            f"  {c.num_heads} query / {kv_heads} KV heads, batch {batch:>2} x {length}: formula "
            f"{formula / 2**20:7.2f} MiB, tensors {storage / 2**20:7.2f} MiB, cache.nbytes "
            f"{cache.nbytes / 2**20:7.2f} MiB, {'GPU memory' if device.type == 'cuda' else 'process'} grew "
            f"{grown / 2**20:7.2f} MiB"
        )
        del cache


if __name__ == "__main__":
    main()
