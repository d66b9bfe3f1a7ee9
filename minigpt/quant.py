"""Number formats and weight quantization, small enough to read in a chapter.

`bit_pattern` shows how one value is stored in fp32/fp16/bf16. `quantize`/`dequantize` do
symmetric absmax quantization to int8 or int4, per output channel (one scale per row) or per
group of `group_size` consecutive weights in a row (what GPTQ/AWQ-style int4 files do).
`fake_quantize_model` swaps every linear weight for its quantized-then-dequantized copy, so
the cost of quantization can be measured as a change in loss.
"""

from __future__ import annotations

import copy
import math
import struct
from dataclasses import dataclass

import torch

from .devices import DTYPES


def bit_pattern(value: float, fmt: str = "fp16") -> str:
    """'sign exponent mantissa' bits of `value` stored in `fmt` (a name in minigpt.devices.DTYPES),
    e.g. fp16 1.0 -> '0 01111 0000000000'."""
    if fmt not in DTYPES:
        raise ValueError(f"Unknown format {fmt!r}; choose from {list(DTYPES)}.")
    dtype = DTYPES[fmt]
    info = torch.finfo(dtype)
    man_bits = round(-math.log2(info.eps))  # eps = 2^-mantissa bits: the gap after 1.0
    exp_bits = info.bits - 1 - man_bits  # the rest, after the sign bit
    stored = torch.tensor(value, dtype=dtype)
    if fmt == "fp32":
        raw = struct.unpack(">I", struct.pack(">f", stored.item()))[0]
    else:  # fp16 and bf16 are both 16 bits: read them as int16, then as unsigned
        raw = int(stored.view(torch.int16).item()) & 0xFFFF
    bits = format(raw, f"0{1 + exp_bits + man_bits}b")
    return f"{bits[0]} {bits[1 : 1 + exp_bits]} {bits[1 + exp_bits :]}"


@dataclass
class Quantized:
    values: torch.Tensor  # int8 tensor holding integers in [-qmax, qmax]
    scales: torch.Tensor  # one scale per row, or per (row, group)
    bits: int
    group_size: int | None
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Bytes as stored on disk: bits/8 per value (int4 packs two per byte) + fp16 scales."""
        return self.values.numel() * self.bits // 8 + self.scales.numel() * 2


def quantize(weight: torch.Tensor, bits: int = 8, group_size: int | None = None) -> Quantized:
    """Symmetric absmax quantization of a 2-D weight: q = round(w / scale), scale = max|w| / qmax."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}.")
    if weight.ndim != 2:
        raise ValueError(f"quantize expects a 2-D weight matrix, got shape {tuple(weight.shape)}.")
    if group_size is not None and (not isinstance(group_size, int) or group_size <= 0):
        raise ValueError(f"group_size must be a positive integer or None (one scale per row), got {group_size!r}.")
    rows, cols = weight.shape
    qmax = 2 ** (bits - 1) - 1  # 127 for int8, 7 for int4
    w = _grouped(weight.detach().float(), group_size)
    scales = (w.abs().amax(dim=-1, keepdim=True) / qmax).clamp(min=1e-12)
    scales = scales.half().float()  # scales are stored in fp16: quantize with the stored value
    values = torch.round(w / scales).clamp(-qmax, qmax).to(torch.int8)
    return Quantized(values.reshape(rows, -1)[:, :cols], scales.squeeze(-1), bits, group_size, (rows, cols))


def dequantize(q: Quantized) -> torch.Tensor:
    rows, cols = q.shape
    groups = _grouped(q.values.float(), q.group_size)
    return (groups * q.scales.unsqueeze(-1)).reshape(rows, -1)[:, :cols]


def _grouped(w: torch.Tensor, group_size: int | None) -> torch.Tensor:
    """(rows, cols) -> (rows, groups, group_size); a short last group is padded with zeros,
    which change no group's max |w|."""
    rows, cols = w.shape
    size = group_size or cols
    pad = -cols % size
    if pad:
        w = torch.nn.functional.pad(w, (0, pad))
    return w.reshape(rows, -1, size)


def fake_quantize_model(
    model: torch.nn.Module, bits: int = 8, group_size: int | None = None, include_embeddings: bool = False
) -> torch.nn.Module:
    """A copy of `model` whose nn.Linear weights went through quantize -> dequantize.

    A LM head tied to the embedding is the embedding: it is left alone unless
    `include_embeddings`, and a shared tensor is quantized once."""
    model = copy.deepcopy(model)
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    done = set()
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
                continue
            w = module.weight
            if id(w) in done or (id(w) in embeddings and not include_embeddings):
                continue
            w.copy_(dequantize(quantize(w, bits, group_size)).to(w.dtype))
            done.add(id(w))
    return model
