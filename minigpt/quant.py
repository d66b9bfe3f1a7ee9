"""Number formats and weight quantization, small enough to read in a chapter.

`bit_pattern` shows how one value is stored in fp32/fp16/bf16. `quantize`/`dequantize` do
symmetric absmax quantization to int8 or int4, per output channel (one scale per row) or per
group of `group_size` consecutive weights in a row (what GPTQ/AWQ-style int4 files do).
`fake_quantize_model` swaps every linear weight for its quantized-then-dequantized copy, so
the cost of quantization can be measured as a change in loss.

`quantize_int8` really stores them in 8 bits, for decoding: every linear layer becomes an
`Int8Linear` (int8 weight, one scale per output row, as gpt-fast and torchao's int8 weight-only
mode do it), so each generated token reads a quarter of the fp32 bytes. generate(..., compile=True)
compiles an int8 model's decode step too.
"""

from __future__ import annotations

import copy
import functools
import math
import struct
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .decode_layout import Joined, is_compiling, side_by_side
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


# ---- int8 weights for decoding -----------------------------------------------------------------


class Int8Linear(nn.Module):
    """y = x W^T + b with W stored as int8 rows times one scale per row: W = weight * scales[:, None].

    Two ways to compute it, chosen per CPU by `int8_activation_dtype` (never assumed):
    - bf16: ATen's int8 kernel (torch.ops.aten._weight_int8pack_mm) with x and the scales in bf16,
      the output cast back: fast where the CPU has bf16 units; elsewhere bf16 is emulated and slow.
    - fp32 (any CPU, and CUDA, untested here): the int8 weight widened to x's dtype, an ordinary
      product, then the scales. The bytes kept in memory are int8 either way."""

    def __init__(self, weight: torch.Tensor, scales: torch.Tensor, bias: torch.Tensor | None, activations: torch.dtype):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.activations = activations
        self.register_buffer("weight", weight)  # (out, in) int8
        self.register_buffer("scales", scales)  # (out,), in the activations' dtype
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return int8_linear(x, self.weight, self.scales, self.bias, self.activations)

    @staticmethod
    def join(layers):
        """One product for Int8Linear layers whose weights, scales (and biases) are side by side, as
        quantize_int8 stores them (minigpt.model.Joined); else None."""
        weight, scales = side_by_side([m.weight for m in layers]), side_by_side([m.scales for m in layers])
        bias = None if layers[0].bias is None else side_by_side([m.bias for m in layers])
        if weight is None or scales is None or (bias is None and layers[0].bias is not None):
            return None
        activations = layers[0].activations
        return lambda x: int8_linear(x, weight, scales, bias, activations)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activations={self.activations}"


def int8_linear(x, weight, scales, bias, activations: torch.dtype) -> torch.Tensor:
    """x (..., in) times the int8 weight (out, in) scaled per row by scales (out,), plus bias."""
    if activations == torch.bfloat16:
        rows = x.reshape(-1, x.shape[-1]).to(torch.bfloat16)  # (N, in): the kernel takes 2-D input
        out = torch.ops.aten._weight_int8pack_mm(rows, weight, scales).view(*x.shape[:-1], -1).to(x.dtype)
    elif is_compiling():
        out = widened_product(x, weight, scales)
    else:
        out = _widened_product(x, weight, scales)
    return out if bias is None else out + bias


def _widened_product(x: torch.Tensor, weight: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return F.linear(x, weight.to(x.dtype)) * scales.to(x.dtype)


# torch.compile sees the widened product as one opaque call, as it sees ATen's int8 kernel. Shown the
# widening and the product apart, inductor fused them into a loop of its own, and the compiled
# decode step ran 1.6-4x slower than eager (benchmarks/README.md).
widened_product = torch.library.custom_op("minigpt::int8_widened_product", _widened_product, mutates_args=())


@widened_product.register_fake
def _(x, weight, scales):
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def quantize_int8(model: nn.Module, activations: str = "auto") -> nn.Module:
    """Replace every nn.Linear of `model` (in place) by an Int8Linear: weight-only int8, one scale per
    output row (symmetric absmax: scale = max |w| / 127), for decoding; returns the model.

    The layers a module names in `stored_together` (q/k/v, gate/up) get one int8 matrix, so that
    minigpt.model.projections makes one product of them. A tied LM head is quantized too (its rows
    are read every token); the embedding keeps its float table for lookups. activations: "bf16",
    "fp32", or "auto", the faster on this device (int8_activation_dtype). The model is then for
    inference: its linear weights are buffers without gradients, and save_pretrained refuses it."""
    choices = {"bf16": torch.bfloat16, "fp32": torch.float32}
    if activations != "auto" and activations not in choices:
        raise ValueError(f'activations must be "auto", "bf16" or "fp32", got {activations!r}.')
    device = next(model.parameters()).device
    dtype = int8_activation_dtype(device) if activations == "auto" else choices[activations]
    if dtype == torch.bfloat16 and device.type != "cpu":
        raise ValueError(f'activations="bf16" runs ATen\'s CPU int8 kernel; the model is on {device}: use "fp32".')
    for module in list(model.modules()):
        together = [
            name for name in getattr(module, "stored_together", ()) if isinstance(getattr(module, name), nn.Linear)
        ]
        singles = [
            [name] for name, child in module.named_children() if isinstance(child, nn.Linear) and name not in together
        ]
        for names in ([together] if together else []) + singles:
            _quantize_together(module, names, dtype)
    return model


def _quantize_together(module: nn.Module, names: list[str], dtype: torch.dtype) -> None:
    """Replace module.<name> for each name by an Int8Linear whose weight and scales are blocks of one
    tensor: row-major for ATen's kernel (bf16), column by column for a widened product (fp32)."""
    layers = [getattr(module, name) for name in names]
    values, scales = [], []
    for layer in layers:
        w = layer.weight.detach().float()
        scale = (w.abs().amax(dim=1) / 127).clamp(min=1e-12).to(dtype)  # rounded as the product will use it
        values.append(torch.round(w / scale.float()[:, None]).clamp(-127, 127).to(torch.int8))
        scales.append(scale)
    sizes = [v.shape[0] for v in values]
    if dtype == torch.bfloat16:
        blocks = torch.cat(values).split(sizes)  # (sum of out, in), each layer a block of rows
    else:  # (in, sum of out), each layer a block of columns
        blocks = [b.t() for b in torch.cat([v.t() for v in values], dim=1).split(sizes, dim=1)]
    joined_scales = torch.cat(scales).split(sizes)
    biases = (
        [None] * len(layers) if layers[0].bias is None else torch.cat([m.bias.detach() for m in layers]).split(sizes)
    )
    for name, weight, scale, bias in zip(names, blocks, joined_scales, biases, strict=True):
        setattr(module, name, Int8Linear(weight, scale, bias, dtype))
    if len(names) > 1:
        setattr(module, "joined", Joined.of([getattr(module, name) for name in names]))  # noqa: B010


@functools.cache
def int8_activation_dtype(device: torch.device | str = "cpu") -> torch.dtype:
    """bf16 where ATen's int8 x bf16 kernel beats widening the int8 weight to fp32 on this CPU, else
    fp32; fp32 on other devices. Measured once per process (~10 ms): one batch-1 product of the
    course model's MLP shape, the two alternating, best of 7. With bf16 units the kernel was 2-3x
    faster than fp32; with bf16 emulated, 3x slower (benchmarks/README.md)."""
    if torch.device(device).type != "cpu" or not hasattr(torch.ops.aten, "_weight_int8pack_mm"):
        return torch.float32
    weight, x = torch.ones(688, 256, dtype=torch.int8), torch.ones(1, 256)
    candidates = {
        torch.bfloat16: (weight, torch.ones(688, dtype=torch.bfloat16)),
        torch.float32: (weight.t().contiguous().t(), torch.ones(688)),
    }
    best = dict.fromkeys(candidates, float("inf"))
    with torch.inference_mode():
        for _ in range(8):  # the first round warms up
            for dtype, (w, s) in candidates.items():
                start = time.perf_counter()
                int8_linear(x, w, s, None, dtype)
                best[dtype] = min(best[dtype], time.perf_counter() - start)
    return min(best, key=best.__getitem__)
