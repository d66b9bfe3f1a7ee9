import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randomize(model, std=0.1, seed=1234):
    """Move every weight away from its init so a wrong wiring shows up in the logits (norm
    weights start at 1 and biases at 0, which would hide a missing or swapped norm or bias)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            offset = 1.0 if "norm" in name else 0.0
            p.copy_(offset + std * torch.randn(p.shape, generator=g))
    return model


def compiled_decode_graphs(model, prompt, new_tokens, monkeypatch):
    """generate(model, prompt, new_tokens, compile=True) with a backend that keeps each compiled graph
    after functionalization (what inductor would get) and runs it as it is: (tokens, graphs)."""
    from minigpt.generate import generate
    from torch._dynamo.backends.common import aot_autograd

    graphs = []

    def keep_forward(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    real = torch.compile
    backend = aot_autograd(fw_compiler=keep_forward)
    monkeypatch.setattr(torch, "compile", lambda m, mode=None, **kw: real(m, backend=backend, **kw))
    torch._dynamo.reset()
    try:
        return generate(model, prompt, new_tokens, eos_token_id=[], compile=True), graphs
    finally:
        torch._dynamo.reset()


IGNORE = -100  # minigpt.loss.IGNORE_INDEX, written out: a test should not borrow the constant it checks


class MaskedExamples(torch.utils.data.Dataset):
    """Equal-length examples whose loss masks keep very different numbers of targets."""

    def __init__(self, n=32, length=24, vocab=256, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, vocab, (n, length), generator=g)
        self.y = torch.randint(0, vocab, (n, length), generator=g)
        keep = torch.randint(1, length + 1, (n,), generator=g)  # 1..length targets, the rest masked
        for i in range(n):
            self.y[i, keep[i] :] = IGNORE

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input_ids": self.x[i], "targets": self.y[i]}


# ---- real small disks --------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, kib: int):
    """A real tmpfs of `kib` KiB mounted at `folder` for the block (root only: the tests that need a
    full or read-only disk are skipped, with the reason, where mounting is not allowed). A real
    disk, because libraries report a full one in their own words (torch.save: "unexpected pos")."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: a real small disk (tmpfs) cannot be made here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"mounting a tmpfs is not allowed here ({done.stderr.decode().strip()}): needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, options: str) -> None:
    """Change a small_disk while it is mounted: "size=900k" (at least what it holds), "ro"."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True, capture_output=True)


def used_kib(folder: Path) -> int:
    return shutil.disk_usage(folder).used // 1024
