"""Greedy decode of the course model: minigpt against transformers and litgpt, in ONE process.

    python benchmarks/bench_decode.py [--before /tmp/before28/minigpt] [--int8 [--int8-activations fp32]] [--repeats 9]

The shipped course model's weights (minigpt.load_course_model()) loaded into transformers'
LlamaForCausalLM, litgpt's GPT and minigpt (its max_seq_len raised to fit 900 + 64 tokens); batch
1, one thread, greedy, prompt 32 + 128 new tokens and 900 + 64. Each library runs its own
`generate` loop; the clock starts when the first new token comes out (transformers: a streamer,
litgpt: generate_fn, minigpt: stream), so the figure is decode only, ms per token after the
prefill. The greedy tokens of every entry are checked equal to transformers' first. Entries are
interleaved (A, B, C, ..., A, B, C, ...) and each figure is a median over the repeats, in wall
time and in this thread's CPU time: on a shared, loaded machine the CPU time is the steadier of
the two (waiting for a core is not counted), but cache and memory traffic of the neighbours still
slow it down; rerun on a quiet machine for figures to quote.

--before PATH also runs the minigpt package in PATH (e.g. a `git worktree` at an older commit,
imported as `minigpt_before`). --int8 adds each package with weight-only int8 (minigpt.quant.quantize_int8),
eager and compiled; --int8-activations fp32 picks the product a CPU without bf16 units gets.
litgpt is optional: `pip install litgpt` pins huggingface-hub < 1.4, which transformers 5.x cannot
import; install it in a separate environment or reinstall `huggingface-hub>=2.4,<3` afterwards
(benchmarks/README.md). Without litgpt its row is left out.

The floor: a decode step reads every weight matrix once (and the KV cache), so bytes per token /
memory bandwidth is the least time a token can take; the bandwidth is measured here by summing a
256 MB tensor (one thread).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import minigpt
import torch
from minigpt.course import load_course_model
from packages import load_package

MAX_SEQ_LEN = 1024


def minigpt_model(package, shipped, quantize: str | None = None, activations: str = "auto"):
    config = package.ModelConfig.from_dict({**shipped.config.to_dict(), "max_seq_len": MAX_SEQ_LEN})
    model = package.MiniGPT(config).eval()
    model.load_state_dict(shipped.state_dict())
    if quantize == "int8":
        importlib.import_module(package.__name__ + ".quant").quantize_int8(model, activations)
    return model


def minigpt_decode(package, model, prompt, new: int, compile: bool = False):
    """(tokens, [(wall, cpu) when each new token came out])."""
    stream = importlib.import_module(package.__name__ + ".generate").stream
    tokens, times = [], []
    for step in stream(model, prompt, new, eos_token_id=[], compile=compile):
        times.append((time.perf_counter(), time.thread_time()))
        tokens.append(step.token)
    return tokens, times


def transformers_model(shipped):
    import transformers

    with tempfile.TemporaryDirectory() as folder:
        shipped.save_pretrained(folder)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, max_position_embeddings=MAX_SEQ_LEN
        )
    return model.eval()


class _Clock:
    """A transformers streamer that only notes when each token comes out (the first call is the prompt)."""

    def __init__(self):
        self.times, self.tokens = [], []

    def put(self, value):
        self.times.append((time.perf_counter(), time.thread_time()))
        self.tokens.append(value)

    def end(self):
        pass


def transformers_decode(model, prompt, new: int):
    clock = _Clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.generate(
            prompt[None],
            attention_mask=torch.ones_like(prompt[None]),
            max_new_tokens=new,
            do_sample=False,
            eos_token_id=None,  # never stop early, as eos_token_id=[] in minigpt (min_new_tokens would forbid eos)
            pad_token_id=0,
            streamer=clock,
        )
    return [int(t) for t in clock.tokens[1:]], clock.times[1:]


def litgpt_model(shipped):
    """litgpt's GPT with the course model's weights (q/k/v concatenated as litgpt stores them), or
    None when litgpt is not installed."""
    try:
        from litgpt import GPT, Config
    except ImportError:
        return None
    c = shipped.config
    config = Config(
        name="course",
        block_size=MAX_SEQ_LEN,
        vocab_size=c.vocab_size,
        padded_vocab_size=c.vocab_size,
        n_layer=c.num_layers,
        n_head=c.num_heads,
        n_query_groups=c.num_kv_heads,
        n_embd=c.hidden_size,
        head_size=c.head_dim,
        rotary_percentage=1.0,
        parallel_residual=False,
        bias=False,
        norm_class_name="RMSNorm",
        norm_eps=c.norm_eps,
        mlp_class_name="LLaMAMLP",
        intermediate_size=c.intermediate_size,
        rope_base=int(c.rope_theta),
    )
    model = GPT(config).eval()
    state = {"transformer.wte.weight": shipped.model.embed_tokens.weight, "lm_head.weight": shipped.lm_head.weight}
    state["transformer.ln_f.weight"] = shipped.model.norm.weight
    for i, block in enumerate(shipped.model.layers):
        a, m, h = block.self_attn, block.mlp, f"transformer.h.{i}."
        state[h + "norm_1.weight"] = block.input_layernorm.weight
        state[h + "norm_2.weight"] = block.post_attention_layernorm.weight
        state[h + "attn.qkv.weight"] = torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight])
        state[h + "attn.proj.weight"] = a.o_proj.weight
        state[h + "mlp.fc_1.weight"] = m.gate_proj.weight
        state[h + "mlp.fc_2.weight"] = m.up_proj.weight
        state[h + "mlp.proj.weight"] = m.down_proj.weight
    model.load_state_dict({k: v.detach().clone().contiguous() for k, v in state.items()})
    return model


def litgpt_decode(model, prompt, new: int):
    from litgpt.generate.base import generate_fn

    model.max_seq_length = len(prompt) + new
    model.set_kv_cache(batch_size=1)
    tokens, times = [], []
    for token in generate_fn(model, prompt, len(prompt) + new, temperature=0.0, include_prompt=False, include_eos=True):
        times.append((time.perf_counter(), time.thread_time()))
        tokens.append(int(token))
    model.clear_kv_cache()
    return tokens, times


def per_token(times) -> tuple[float, float]:
    """(wall, cpu) ms per token between the first and the last new token."""
    (w0, c0), (w1, c1) = times[0], times[-1]
    n = len(times) - 1
    return (w1 - w0) / n * 1e3, (c1 - c0) / n * 1e3


def bandwidth_gb_s(repeats: int = 7) -> float:
    """Bytes read per second by one thread summing a 256 MB fp32 tensor (best of `repeats`)."""
    big = torch.ones(64 * 2**20)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        big.sum()
        best = min(best, time.perf_counter() - start)
    return big.numel() * 4 / best / 1e9


def weight_bytes(model) -> int:
    """Bytes of the matrices a decode step multiplies by: every linear weight (an int8 one with its scales)."""
    total = 0
    for m in model.modules():
        if isinstance(m, torch.nn.Linear) or hasattr(m, "scales"):
            tensors = [m.weight, getattr(m, "scales", None)]
            total += sum(t.numel() * t.element_size() for t in tensors if t is not None)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="also run the minigpt package in this folder")
    parser.add_argument("--int8", action="store_true", help="also run minigpt with weight-only int8")
    parser.add_argument(
        "--int8-activations",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="the int8 product's activations (fp32: what a CPU without bf16 units gets)",
    )
    parser.add_argument("--no-compile", action="store_true", help="leave out compile=True")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--contexts", nargs="+", default=["32+128", "900+64"], help="prompt+new tokens")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    shipped, _ = load_course_model()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"capability {torch.backends.cpu.get_cpu_capability()}, 1 thread, load average {os.getloadavg()[0]:.1f}"
    )

    entries = {"transformers": (transformers_model(shipped), transformers_decode)}
    lit = litgpt_model(shipped)
    if lit is not None:
        entries["litgpt"] = (lit, litgpt_decode)
    packages = [("minigpt", minigpt)]
    if args.before:
        packages.insert(0, ("minigpt before", load_package("minigpt_before", args.before)))
    for label, package in packages:
        model = minigpt_model(package, shipped)
        entries[f"{label}"] = (model, lambda m, p, n, pk=package: minigpt_decode(pk, m, p, n))
        if not args.no_compile:
            entries[f"{label}, compile=True"] = (model, lambda m, p, n, pk=package: minigpt_decode(pk, m, p, n, True))
    for label, package in packages if args.int8 else []:
        int8 = minigpt_model(package, shipped, "int8", args.int8_activations)
        entries[f"{label} int8"] = (int8, lambda m, p, n, pk=package: minigpt_decode(pk, m, p, n))
        if not args.no_compile:
            compiled = lambda m, p, n, pk=package: minigpt_decode(pk, m, p, n, True)  # noqa: E731
            entries[f"{label} int8, compile=True"] = (int8, compiled)

    fp32 = copy.deepcopy(entries["minigpt"][0])
    bandwidth = bandwidth_gb_s()
    for spec in args.contexts:
        context, new = (int(x) for x in spec.split("+"))
        prompt = torch.randint(1, shipped.config.vocab_size, (context,), generator=torch.Generator().manual_seed(0))
        reference, agree = None, {}
        for name, (model, decode) in entries.items():  # warm-up (compiles), and the tokens compared
            tokens, _ = decode(model, prompt, new)
            reference = reference or tokens
            if " int8" not in name:
                assert tokens == reference, f"{name}'s greedy tokens differ from transformers' at {spec}"
            else:  # int8's own arithmetic: its tokens part from fp32's; counted, position by position
                agree[name] = sum(a == b for a, b in zip(tokens, reference, strict=True)) / len(reference)
        times = {name: [] for name in entries}
        for _ in range(args.repeats):
            for name, (model, decode) in entries.items():
                times[name].append(per_token(decode(model, prompt, new)[1]))
        base = {k: statistics.median(t[i] for t in times["transformers"]) for i, k in enumerate(("wall", "cpu"))}
        lit_cpu = statistics.median(t[1] for t in times["litgpt"]) if "litgpt" in times else None
        c = shipped.config
        kv = 2 * c.num_layers * c.num_kv_heads * c.head_dim * 4 * (context + new / 2)  # the mean cache, fp32
        floor = (weight_bytes(fp32) + kv) / bandwidth / 1e6
        print(
            f"\nprompt {context} + {new} new tokens, greedy, decode only, {args.repeats} interleaved repeats, median "
            f"(load average now {os.getloadavg()[0]:.1f}); same tokens as transformers: yes"
        )
        print("| | wall ms/token | CPU ms/token | vs transformers (CPU) | vs litgpt (CPU) | vs transformers (wall) |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, t in times.items():
            wall, cpu = statistics.median(x[0] for x in t), statistics.median(x[1] for x in t)
            vs_lit = f"{lit_cpu / cpu:.2f}x" if lit_cpu else ""
            vs_tf, vs_tf_wall = base["cpu"] / cpu, base["wall"] / wall
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {vs_tf:.2f}x | {vs_lit} | {vs_tf_wall:.2f}x |")
        print(
            f"floor: {weight_bytes(fp32) / 1e6:.1f} MB of fp32 weights + {kv / 1e6:.2f} MB of KV cache per token at "
            f"{bandwidth:.1f} GB/s = {floor:.2f} ms/token"
        )
        if args.int8:
            q = weight_bytes(entries["minigpt int8"][0])
            eager = statistics.median(t[1] for t in times["minigpt"])
            leads = "; ".join(
                f"fp32 eager / {name.removeprefix('minigpt ')} (CPU) {eager / statistics.median(x[1] for x in t):.2f}x"
                for name, t in times.items()
                if " int8" in name
            )
            print(
                f"int8: {q / 1e6:.1f} MB of weights and scales per token ({q / weight_bytes(fp32):.0%} of fp32), "
                f"floor {(q + kv) / bandwidth / 1e6:.2f} ms/token; {leads}; greedy tokens equal to fp32's: "
                + ", ".join(f"{share:.0%} ({name.removeprefix('minigpt ')})" for name, share in agree.items())
            )


if __name__ == "__main__":
    main()
