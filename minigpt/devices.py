"""Where training runs: the device, the precision, and (under torchrun) the process group.

    device "auto": cuda (this process's GPU under torchrun), then Apple mps, then cpu
    dtype "auto":  bf16 on GPUs that have it, fp16 on older GPUs (with a gradient scaler),
                   bf16 on CPUs with native bf16 units (AVX512-BF16 / AMX) where a quick
                   measurement shows bf16 products are faster than fp32 (native units: 3.4-3.7x on
                   the course machine; emulated: 0.01x), else fp32

The model's weights stay fp32 in every case; bf16/fp16 is autocast, the matrix products run in
16 bits and the master weights, the optimizer and the loss stay in fp32.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from pathlib import Path

import torch
import torch.distributed as dist

# The one table of floating-point formats (short name -> dtype): training, export, quantization
# and counting all read it; their other spellings are derived from it below.
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def dtype_name(dtype: torch.dtype) -> str:
    """torch's (and config.json's) name of a dtype in DTYPES: torch.bfloat16 -> "bfloat16"."""
    if dtype not in DTYPES.values():
        raise ValueError(f"dtype {dtype} is not one of {', '.join(str(d) for d in DTYPES.values())}.")
    return str(dtype).removeprefix("torch.")


def dtype_from_name(name: str | torch.dtype) -> torch.dtype:
    """The dtype of a short name ("fp32", "bf16", "fp16") or of torch's own name ("float32",
    "bfloat16", "float16", as transformers and config.json spell them); a torch.dtype in DTYPES
    passes through."""
    if isinstance(name, torch.dtype):
        dtype_name(name)  # checks it is one of ours
        return name
    names = {**DTYPES, **{dtype_name(d): d for d in DTYPES.values()}}
    if name not in names:
        raise ValueError(f"dtype {name!r} is not one of {', '.join(map(repr, names))}.")
    return names[name]


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and _cpu_has_bf16() and cpu_bf16_speedup() > 1.0:
            return torch.bfloat16  # native bf16 matmuls (AVX512-BF16/AMX): course model 6.2K vs 4.9K tokens/s
        return torch.float32  # a CPU without bf16 units emulates it: 10-60x slower than fp32
    dtype = dtype_from_name(name)
    if dtype == torch.float16 and device.type != "cuda":
        raise ValueError(
            "fp16 mixed precision needs a CUDA GPU (it relies on a CUDA gradient scaler); on "
            f"{device.type} use dtype bf16 (same memory, no loss scaling needed) or fp32."
        )
    return dtype


@functools.cache
def cpu_bf16_speedup(size: int = 256, repeats: int = 7) -> float:
    """fp32 time / bf16 time of a size^3 matrix product on this CPU (~20 ms).

    Capability flags say what the CPU has, not what the kernels in this torch build do with it
    (ONEDNN_MAX_CPU_ISA, a VM that hides flags, an old oneDNN): measure instead of guessing. The
    two dtypes alternate and each keeps its fastest run, so a busy machine slows both alike."""
    dtypes = (torch.float32, torch.bfloat16)
    operands = {d: (torch.ones(size, size, dtype=d), torch.ones(size, size, dtype=d)) for d in dtypes}
    best = dict.fromkeys(operands, float("inf"))
    for a, b in operands.values():
        _ = a @ b  # warm-up: the first call picks and may JIT a kernel
    for _ in range(repeats):
        for dtype, (a, b) in operands.items():
            start = time.perf_counter()
            _ = a @ b
            best[dtype] = min(best[dtype], time.perf_counter() - start)
    return best[torch.float32] / max(best[torch.bfloat16], 1e-9)


def _cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def describe_device(device: torch.device) -> str:
    """The device in words, for a run's summary: the GPU's name and CUDA version, or the CPU's
    model name, its cores and torch's thread count."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{device.type}: {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def setup_distributed(device_name: str = "auto") -> tuple[int, int, int]:
    """(rank, world_size, local_rank). Under torchrun (WORLD_SIZE > 1) joins the process
    group: nccl when the processes use CUDA, gloo on CPU. An existing group is reused."""
    if dist.is_available() and dist.is_initialized():
        rank = dist.get_rank()
        return rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world == 1:
        return 0, 1, 0
    cuda = torch.cuda.is_available() and not str(device_name).startswith("cpu")
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return dist.get_rank(), world, local_rank


def grad_scaler():
    """fp16's loss scaler (CUDA)."""
    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy and torch (every device) with one number."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def notebook_setup(seed: int = 0) -> torch.device:
    """A chapter's first cell: seed everything and pick cuda, then mps, then cpu (printed)."""
    seed_everything(seed)
    device = resolve_device("auto")
    print(f"device: {device.type}")
    return device
