"""The sampler before and after the layout refactor of issue 13, in ONE process, same weights.

The old package is imported under another name (its modules import each other relatively, so
importlib loads the folder as the package `minigpt_before`), so both run interleaved (old, new, old, new, ...)
and machine noise hits both alike; each figure is a median, and the per-repeat ratios show the
spread. Greedy tokens are checked equal first.

    mkdir -p /tmp/ab && git archive 5e4da2e minigpt | tar -x -C /tmp/ab && mv /tmp/ab/minigpt /tmp/ab/minigpt_before
    python benchmarks/bench_layout_ab.py /tmp/ab [repeats]

"bare N": one-token forwards over a KV cache after an N-token prompt (the model alone);
"generate": greedy generate, prompt 32 + 128; "sample": the same with temperature/top-k/top-p.
"""

import importlib
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from minigpt import MiniGPT, ModelConfig
from minigpt.cache import KVCache
from minigpt.generate import generate


def load_package(name: str, folder: Path):
    """The package folder/name imported as `name`, beside the installed minigpt."""
    init = folder / name / "__init__.py"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None, f"{init} is not a package"
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package  # before it runs, so its relative imports find it
    spec.loader.exec_module(package)
    return package


load_package("minigpt_before", Path(sys.argv[1]))
OldCache = importlib.import_module("minigpt_before.cache").KVCache
OldConfig = importlib.import_module("minigpt_before.config").ModelConfig
old_generate = importlib.import_module("minigpt_before.generate").generate
OldGPT = importlib.import_module("minigpt_before.model").MiniGPT

REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
torch.set_num_threads(1)
torch.manual_seed(0)
cfg = ModelConfig.from_preset("course", max_seq_len=1057)
new = MiniGPT(cfg).eval()
old = OldGPT(OldConfig.from_preset("course", max_seq_len=1057)).eval()
old.load_state_dict(new.state_dict())
prompt = torch.randint(0, cfg.vocab_size, (1, 32))
n = 128


@torch.inference_mode()
def bare(model, cache_cls, context):
    ids = torch.randint(0, cfg.vocab_size, (1, context), generator=torch.Generator().manual_seed(1))
    cache = cache_cls(cfg, 1, max_len=context + 33)
    tok = model(ids, kv_cache=cache, logits_to_keep=1).logits[:, -1].argmax(-1, keepdim=True)
    start = time.perf_counter()
    for _ in range(32):
        tok = model(tok, kv_cache=cache, logits_to_keep=1).logits[:, -1].argmax(-1, keepdim=True)
    return (time.perf_counter() - start) / 32


def gen(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n


assert torch.equal(generate(new, prompt, 16, eos_token_id=[]), old_generate(old, prompt, 16, eos_token_id=[]))
tasks = {"bare 32": lambda m, c: bare(m, c, 32), "bare 512": lambda m, c: bare(m, c, 512)}
res = {}
for _ in range(REPEATS):
    for name, f in tasks.items():
        res.setdefault((name, "old"), []).append(f(old, OldCache))
        res.setdefault((name, "new"), []).append(f(new, KVCache))
    res.setdefault(("generate", "old"), []).append(gen(lambda: old_generate(old, prompt, n, eos_token_id=[])))
    res.setdefault(("generate", "new"), []).append(gen(lambda: generate(new, prompt, n, eos_token_id=[])))
    res.setdefault(("sample", "old"), []).append(
        gen(lambda: old_generate(old, prompt, n, eos_token_id=[], temperature=0.8, top_k=50, top_p=0.9, seed=0))
    )
    res.setdefault(("sample", "new"), []).append(
        gen(lambda: generate(new, prompt, n, eos_token_id=[], temperature=0.8, top_k=50, top_p=0.9, seed=0))
    )
print(
    f"same greedy tokens: True; {REPEATS} interleaved repeats, median ms/token; load average {os.getloadavg()[0]:.1f}"
)
for name in ["bare 32", "bare 512", "generate", "sample"]:
    o, w = statistics.median(res[(name, "old")]) * 1e3, statistics.median(res[(name, "new")]) * 1e3
    ratios = [a / b for a, b in zip(res[(name, "old")], res[(name, "new")], strict=True)]
    print(
        f"{name:10s} before {o:6.2f}  after {w:6.2f}  before/after {o / w:5.2f}x  (per-repeat ratios "
        f"median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f})"
    )
