"""The GPU paths: CUDA forward == CPU forward, flash/efficient SDPA == the explicit attention,
bf16 and fp16 (with its gradient scaler) training, torch.compile (inductor) == eager, the cached
sampler and transformers on the GPU, exact resume. Skipped on machines without CUDA (CI has
none); run them with `pytest tests/library/test_cuda.py` on a GPU. benchmarks/README.md records where
and when they last ran."""

import math

import numpy as np
import pytest
import torch
from conftest import randomize
from minigpt import MiniGPT, ModelConfig
from minigpt.data import PackedDataset
from minigpt.generate import generate
from minigpt.train import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _exact_fp32():
    """fp32 comparisons mean fp32: TF32 tensor cores round products to 10 mantissa bits."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def model_on(device, preset="tiny", **kw):
    torch.manual_seed(0)
    return randomize(MiniGPT(ModelConfig.from_preset(preset, **kw))).to(device).eval()


def learnable_stream(n=20_000, vocab=256, period=37, seed=0):
    """A repeating random phrase: a model that learns anything drives the loss well down."""
    phrase = np.random.default_rng(seed).integers(0, vocab, period)
    return np.resize(phrase, n).astype(np.uint16)


def train_cfg(**kw):
    base = dict(steps=30, batch_size=8, lr=3e-3, warmup_steps=5, device="cuda", progress=False)
    return TrainConfig(**{**base, **kw})


def test_cuda_forward_matches_cpu():
    ids = torch.randint(0, 256, (3, 40))
    cpu = model_on("cpu")(ids).logits
    gpu = model_on(CUDA)(ids.to(CUDA)).logits.cpu()
    assert (cpu - gpu).abs().max().item() < 1e-4


@pytest.mark.parametrize("backend", ["FLASH_ATTENTION", "EFFICIENT_ATTENTION"])
def test_fused_sdpa_kernels_are_as_accurate_as_the_math_kernel(backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    model = model_on(CUDA, "course", num_kv_heads=2)  # GQA: 8 query heads share 2 KV heads
    ids = torch.randint(0, model.config.vocab_size, (2, 256), device=CUDA)

    def bf16_logits(kernel):
        # Restricted to one kernel, SDPA raises instead of falling back: this proves the kernel ran.
        with sdpa_kernel(kernel), torch.autocast("cuda", dtype=torch.bfloat16):
            return model(ids).logits.float()

    with torch.no_grad():
        reference = model(ids, output_attentions=True).logits  # explicit softmax(QK^T/sqrt d)V, fp32
        math_error = (bf16_logits(SDPBackend.MATH) - reference).norm() / reference.norm()
        fused_error = (bf16_logits(getattr(SDPBackend, backend)) - reference).norm() / reference.norm()
    # bf16 autocast rounds every matrix product, so neither is close to fp32 (~4% here); the fused
    # kernel must add no error of its own beyond that of PyTorch's reference kernel.
    assert fused_error < 1.1 * math_error + 1e-3, (backend, fused_error.item(), math_error.item())


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_mixed_precision_training_learns(dtype):
    trainer = Trainer(model_on(CUDA).train(), train_cfg(dtype=dtype), PackedDataset(learnable_stream(), 32))
    if dtype == "fp16":
        assert trainer.scaler is not None and trainer.scaler.is_enabled()
    history = trainer.train()
    losses = [m["loss"] for m in history]
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # master weights stay fp32


def test_compiled_training_matches_eager():
    data = PackedDataset(learnable_stream(), 32)
    eager = Trainer(model_on(CUDA).train(), train_cfg(steps=6, dtype="fp32"), data).train()
    compiled = Trainer(model_on(CUDA).train(), train_cfg(steps=6, dtype="fp32", compile=True), data).train()
    assert [m["loss"] for m in compiled] == pytest.approx([m["loss"] for m in eager], rel=1e-3)


def test_resume_is_exact_on_cuda(tmp_path):
    data = PackedDataset(learnable_stream(), 32)
    settings = dict(steps=8, dtype="bf16")
    whole = Trainer(model_on(CUDA, dropout=0.1).train(), train_cfg(**settings), data).train()

    def crash(m):
        if m["step"] == 6:
            raise KeyboardInterrupt

    first = Trainer(
        model_on(CUDA, dropout=0.1).train(),
        train_cfg(**settings, out_dir=str(tmp_path), save_every=4),
        data,
        on_step=crash,
    )
    with pytest.raises(KeyboardInterrupt):
        first.train()
    torch.manual_seed(99)  # a different init and RNG state: the checkpoint must restore both
    resumed = Trainer(
        MiniGPT(ModelConfig.from_preset("tiny", dropout=0.1)).to(CUDA).train(),
        train_cfg(**settings, out_dir=str(tmp_path), save_every=4),
        data,
    )
    resumed.resume()
    assert resumed.step == 4
    tail = resumed.train()
    # Not bit-exact as on CPU: CUDA's embedding backward adds with atomics, in no fixed order.
    losses = {m["step"]: m["loss"] for m in whole if m["kind"] == "train"}
    resumed_losses = {m["step"]: m["loss"] for m in tail if m["kind"] == "train"}
    assert sorted(resumed_losses) == sorted(losses) == list(range(1, 9))  # the history comes back too
    assert [resumed_losses[s] for s in range(5, 9)] == pytest.approx([losses[s] for s in range(5, 9)], rel=1e-5)


def test_cached_sampler_on_cuda_matches_uncached_and_cpu():
    model = model_on(CUDA, num_kv_heads=2)
    ids = torch.randint(0, 256, (2, 12), device=CUDA)
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # left padding in row 1
    cached = generate(model, ids, 40, attention_mask=mask, eos_token_id=[])
    uncached = generate(model, ids, 40, attention_mask=mask, eos_token_id=[], use_cache=False)
    on_cpu = generate(model_on("cpu", num_kv_heads=2), ids.cpu(), 40, attention_mask=mask.cpu(), eos_token_id=[])
    assert torch.equal(cached, uncached)
    assert torch.equal(cached.cpu(), on_cpu)


def test_transformers_gives_the_same_logits_on_cuda(tmp_path):
    transformers = pytest.importorskip("transformers")
    ours = model_on(CUDA, num_kv_heads=2)
    ours.save_pretrained(tmp_path)
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).to(CUDA).eval()
    ids = torch.randint(0, 256, (2, 48), device=CUDA)
    with torch.no_grad():
        diff = (ours(ids).logits - theirs(ids).logits).abs().max().item()
    assert diff < 1e-4
    prompt = ids[:1, :8]
    ours_tokens = generate(ours, prompt, 24, eos_token_id=[])
    theirs_tokens = theirs.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=24,
        min_new_tokens=24,
        do_sample=False,
        pad_token_id=0,
    )
    assert torch.equal(ours_tokens, theirs_tokens)


def test_compiled_decode_step_matches_eager_on_cuda():
    """compile=True: a static cache and the decode step captured as a CUDA graph, same tokens."""
    model = model_on(CUDA, num_kv_heads=2)
    ids = torch.randint(0, 256, (2, 12), device=CUDA)
    mask = torch.ones_like(ids)
    mask[1, :5] = 0
    from torch._dynamo.utils import counters

    counters.clear()
    eager = generate(model, ids, 40, attention_mask=mask, eos_token_id=[])
    compiled = generate(model, ids, 40, attention_mask=mask, eos_token_id=[], compile=True)
    again = generate(model, ids, 40, attention_mask=mask, eos_token_id=[], compile=True)  # replays the graph
    assert torch.equal(eager, compiled) and torch.equal(eager, again)
    # inductor counts each time it declines to use a CUDA graph (e.g. an input mutated in place
    # without a fixed address): none here
    assert counters["inductor"]["cudagraph_skips"] == 0
