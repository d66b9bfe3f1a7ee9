"""How the weights lie in memory for decoding, and the products that this layout allows.

    lay_out_for_decoding(model)   store each linear weight column by column (on the CPU), and q/k/v
                                  and gate/up as blocks of one matrix each; generate calls it
    checked_layout()              a compiled decode step inside it computes joined products too
    projections(x, *layers, joined=...)   [layer(x) for layer in layers], as one product when joined
    Joined, side_by_side          the joined layers, and the one matrix their blocks make up

Nothing here changes what a model computes: the values, shapes, names and state dict stay; only
the order in memory changes, which is what a batch-1 product's speed depends on (a decode step
reads every weight once to produce one row). minigpt.quant.quantize_int8 joins its int8 layers
the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "Joined",
    "checked_layout",
    "is_compiling",
    "join_linears",
    "lay_out_for_decoding",
    "projections",
    "side_by_side",
]

_layout_checked = False  # True inside checked_layout()


def lay_out_for_decoding(model) -> None:
    """Store the linear weights of a model on the CPU column by column, in place, and the layers a
    module names in `stored_together` (q/k/v, gate/up) as blocks of one matrix, which that module
    then computes as one product (Joined): the same values, shapes, names and state dict, another
    order in memory.

    A decode step multiplies one row per sequence by every weight. The CPU BLAS reads a weight
    stored as (in, out) rows for that faster than the (out, in) rows nn.Linear allocates: the
    course model's batch-1 products took up to 1.6x less time, its head 1.6-1.75x (AVX-512 and
    AVX2 kernels alike), while 32- and 256-row products (prefill, training) ran as fast either way
    (benchmarks/README.md). An embedding table tied to the head is laid out too: looking 900
    token rows up in it then takes 0.8-1.0 ms instead of 0.13-0.15, in a prefill of 135-160 ms,
    while the head is the largest matrix every decode step reads. Done once; a later call finds
    nothing to do."""
    with torch.no_grad(), torch.inference_mode(False):  # new storage that stays trainable
        for module in list(model.modules()):
            linears = [name for name, child in module.named_children() if isinstance(child, torch.nn.Linear)]
            # Every group a module stores together (nn.Linear or int8, minigpt.quant) is checked below:
            # checked_layout's compiled steps rely on it. Only nn.Linear weights are laid out here.
            together = [
                name
                for name in getattr(module, "stored_together", ())
                if isinstance(getattr(getattr(module, name, None), "weight", None), torch.Tensor)
            ]
            linear_together = [name for name in together if name in linears]
            groups = [linear_together] if linear_together else []
            for names in groups + [[name] for name in linears if name not in linear_together]:
                layers = [getattr(module, name) for name in names]
                weights = [layer.weight for layer in layers]
                if weights[0].device.type == "cpu":
                    _column_by_column(weights)
                    _column_by_column([layer.bias for layer in layers if layer.bias is not None])
            if together:
                layers = [getattr(module, name) for name in together]
                if not Joined.holds(getattr(module, "joined", None), layers):
                    # A new object only when needed: torch.compile (2.6-2.8) guards on this one and
                    # would compile again for every generate call if it were replaced each time.
                    setattr(module, "joined", Joined.of(layers))  # noqa: B010


@contextlib.contextmanager
def checked_layout() -> Iterator[None]:
    """Compiled steps inside may compute joined products (Joined). A compiled step cannot check the
    blocks' addresses (torch.compile does not trace them), so it keeps the products apart, unless
    its caller has just checked them: lay_out_for_decoding(model) leaves every Joined holding its
    blocks, and minigpt.decoding.CachedDecoder runs its compiled steps in here right after it.
    torch.compile reads the flag as a guard: steps outside compile apart, in their own graph."""
    global _layout_checked
    before, _layout_checked = _layout_checked, True
    try:
        yield
    finally:
        _layout_checked = before


def _column_by_column(tensors: list[torch.Tensor]) -> None:
    """Make the (out_i, in) weights (or (out_i,) biases) blocks of one matrix stored column by column."""
    joined = side_by_side(tensors) if tensors else None
    if not tensors or (joined is not None and joined.stride()[0] == 1):
        return  # nothing to do, or done already
    joined = torch.cat([t.t() for t in tensors], dim=-1)  # (in, sum of out) or (sum of out,), contiguous
    start = 0
    for t in tensors:
        t.data = joined[..., start : start + t.shape[0]].t()  # (out, in) as before, strides (1, sum of out)
        start += t.shape[0]


def projections(x: torch.Tensor, *layers: nn.Module, joined: Joined | None = None) -> list[torch.Tensor]:
    """[layer(x) for layer in layers], or the same from ONE product when `joined` holds these layers
    stored as blocks of one matrix (for decoding, see Joined): a decode step then reads one matrix
    instead of three. Not with gradients (the joined view would not pass them on to the separate
    parameters), nor past a layer's hooks (they would not see their call)."""
    weights = [layer.weight for layer in layers]
    if (
        joined is not None
        and not (torch.is_grad_enabled() and weights[0].requires_grad)
        and not any(layer._forward_hooks or layer._forward_pre_hooks for layer in layers)
    ):
        out = joined(x, weights)
        if out is not None:
            return out
    return [layer(x) for layer in layers]


class Joined:
    """Layers whose weights are blocks of one matrix, computed as one product (q/k/v: 9% faster
    decoding of the course model, gate/up: 6%; benchmarks/README.md). Made for decoding by
    lay_out_for_decoding (fp32) and minigpt.quant.quantize_int8, which store the blocks so;
    `side_by_side` finds the joined matrix. A layer type joins its kind with a static
    `join(layers)` that returns the product, x -> (..., sum of out), or None (nn.Linear: join_linears).

    Valid while every layer still holds the block it had: each call compares the weights' addresses,
    and after a move or a reload (model.to(...), load_state_dict(assign=True)) the layers compute
    their own products again and the joined tensors are let go."""

    def __init__(self, layers, product):
        self.addresses = [layer.weight.data_ptr() for layer in layers]
        self.sizes = [layer.out_features for layer in layers]
        self.product = product

    @classmethod
    def of(cls, layers) -> Joined | None:
        """The layers joined, or None when their weights are not blocks of one matrix."""
        product = getattr(type(layers[0]), "join", join_linears)(layers)
        return None if product is None else cls(layers, product)

    @staticmethod
    def holds(joined: Joined | None, layers) -> bool:
        """True when `joined` is still these layers' joined product (the same blocks in place)."""
        return (
            joined is not None
            and joined.product is not None
            and joined.addresses == [layer.weight.data_ptr() for layer in layers]
        )

    def __call__(self, x: torch.Tensor, weights: list) -> list[torch.Tensor] | None:
        """The layers' outputs, or None if they no longer hold their blocks (or inside torch.compile,
        which cannot trace addresses, outside checked_layout: a compiled step keeps them apart)."""
        if is_compiling():
            holds = _layout_checked
        else:
            holds = [w.data_ptr() for w in weights] == self.addresses
            if not holds:
                self.product = None  # a layer moved or was reloaded: let the joined tensors go
        if not holds or self.product is None:
            return None
        return list(self.product(x).split(self.sizes, dim=-1))


def join_linears(layers):
    """One product for nn.Linear layers whose weights (and biases) are side by side, else None."""
    weight = side_by_side([layer.weight for layer in layers])
    bias = None if layers[0].bias is None else side_by_side([layer.bias for layer in layers])
    if weight is None or (bias is None and layers[0].bias is not None):
        return None
    return lambda x: F.linear(x, weight, bias)


def side_by_side(tensors: list) -> torch.Tensor | None:
    """Tensors (out_i, ...) as one (sum of out_i, ...) view without a copy, if each is the block of
    rows of one storage that follows the previous one, in a layout with no gaps (row-major, or for
    a matrix column-major); else None."""
    first, rows = tensors[0], sum(t.shape[0] for t in tensors)
    strides = first.stride()
    if strides not in ((1,), (first.shape[-1], 1), (1, rows)):
        return None
    storage, offset = first.untyped_storage().data_ptr(), first.storage_offset()
    for t in tensors:
        if t.stride() != strides or t.storage_offset() != offset or t.untyped_storage().data_ptr() != storage:
            return None
        offset += t.shape[0] * strides[0]
    return first.as_strided((rows, *first.shape[1:]), strides)


def is_compiling() -> bool:
    """True while torch.compile traces (torch.compiler.is_compiling, torch >= 2.3)."""
    check = getattr(torch.compiler, "is_compiling", None) or torch._dynamo.is_compiling  # pyright: ignore[reportAttributeAccessIssue]
    return check()
