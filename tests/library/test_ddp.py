"""Two processes with DDP (gloo, CPU), each accumulating 2 micro-batches, train exactly like one
process accumulating 4.

Each process takes its own share of every step's windows (rank r: positions r, r+2, ...), the
loss is normalized by the target count of both processes together, and gradients are averaged
once per step; so with the uneven loss masks below, parameters and logged losses must match a
single process that sees both shares as micro-batches."""

from collections import Counter

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import MaskedExamples
from minigpt import MiniGPT, ModelConfig
from minigpt.checkpoint import find_checkpoint
from minigpt.train import TrainConfig, Trainer
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

STEPS = 3


def settings(**kw):
    return TrainConfig(
        steps=STEPS, batch_size=2, lr=3e-3, warmup_steps=1, dtype="fp32", device="cpu", progress=False, **kw
    )


def model():
    torch.manual_seed(0)
    return MiniGPT(ModelConfig.from_preset("tiny"))


def _worker(rank, world, init_file, out_dir, result_file):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        m = model()
        if rank == 1:  # DDP starts every process from rank 0's weights
            with torch.no_grad():
                m.model.norm.weight.add_(1.0)
        trainer = Trainer(
            m, settings(grad_accum=2, out_dir=out_dir, eval_every=0), MaskedExamples(), MaskedExamples(8, seed=1)
        )
        synced = []  # gradient buckets all-reduced, by bucket index

        def counting_hook(group, bucket):
            synced.append(bucket.index())
            return allreduce_hook(group, bucket)

        trainer._train_module.register_comm_hook(None, counting_hook)
        history = trainer.train()
        # no_sync on the first micro-batch of each step: every bucket travels once per step, not twice.
        assert sorted(Counter(synced).values()) == [STEPS] * len(set(synced))
        if rank == 0:
            torch.save(
                {
                    "params": {n: p.detach().clone() for n, p in m.named_parameters()},
                    "losses": [h["loss"] for h in history if h["kind"] == "train"],
                    "val": [h["val_loss"] for h in history if h["kind"] == "eval"],
                    "targets": [h["target_tokens"] for h in history if h["kind"] == "train"],
                    "norms": [h["grad_norm"] for h in history if h["kind"] == "train"],
                },
                result_file,
            )
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_two_process_ddp_equals_single_process_accumulation(tmp_path):
    result = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "run"), str(result)), nprocs=2, join=True)
    ddp = torch.load(result, weights_only=True)

    single = model()
    history = Trainer(single, settings(grad_accum=4), MaskedExamples(), MaskedExamples(8, seed=1)).train()
    losses = [h["loss"] for h in history if h["kind"] == "train"]
    assert ddp["targets"] == [h["target_tokens"] for h in history if h["kind"] == "train"]
    assert ddp["losses"] == pytest.approx(losses, abs=1e-6)
    # Adam hardly notices a gradient off by a constant factor; the recorded norm does.
    assert ddp["norms"] == pytest.approx([h["grad_norm"] for h in history if h["kind"] == "train"], rel=1e-5)
    assert ddp["val"] == pytest.approx([h["val_loss"] for h in history if h["kind"] == "eval"], abs=1e-6)
    # Parameters: Adam divides each gradient element by its own magnitude, so an element whose
    # gradient is ~1e-8 (near eps) turns a last-bit difference in summation order into ~1e-5 of
    # its update. The bound is 1/30 of one step's size (lr = 3e-3); typical differences are 1e-6.
    for name, p in single.named_parameters():
        assert torch.allclose(ddp["params"][name], p, rtol=0, atol=1e-4), name
    assert find_checkpoint(tmp_path / "run").name == f"step-{STEPS:07d}"  # written once, by rank 0
