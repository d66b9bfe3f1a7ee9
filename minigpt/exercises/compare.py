"""Comparisons a check makes, each failing with a message a learner can act on.

`expect_close` compares a learner's tensor with the reference; when the values differ it tries the
known wrong answers a check lists (softmax over the wrong axis, a missing 1/sqrt(d), ...) and names
the first one that matches, so the verdict says what went wrong rather than only that it did."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from . import Wrong


def as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"{what} should be a tensor (or numbers), got {type(value).__name__}") from None


def expect_close(
    got,
    want: torch.Tensor,
    what: str = "the result",
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    suspects: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Raise Wrong unless `got` has `want`'s shape and values (within atol + rtol * |want|).

    `suspects` maps a diagnosis ("the softmax runs over the queries, not the keys: use dim=-1") to
    the tensor that mistake produces; the first one `got` matches is named in the message."""
    got = as_tensor(got, what)
    if tuple(got.shape) != tuple(want.shape):
        for diagnosis, wrong in (suspects or {}).items():
            if tuple(wrong.shape) == tuple(got.shape) and _close(got, wrong, atol, rtol):
                raise Wrong(f"{what}: {diagnosis}")
        raise Wrong(f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    if got.is_complex() != want.is_complex():
        raise Wrong(f"{what} should be {'complex' if want.is_complex() else 'real'}")
    if _close(got, want, atol, rtol):
        return
    for diagnosis, wrong in (suspects or {}).items():
        if tuple(wrong.shape) == tuple(got.shape) and _close(got, wrong, atol, rtol):
            raise Wrong(f"{what}: {diagnosis}")
    if not torch.isfinite(got.float() if not got.is_complex() else got.abs()).all():
        raise Wrong(f"{what} contains nan or inf where the expected values are finite")
    worst = (got.to(want.dtype) - want).abs().flatten().argmax()
    index = tuple(int(i) for i in torch.unravel_index(worst, want.shape))
    raise Wrong(
        f"{what} differs from the expected values, most at index {index}: "
        f"got {got[index].item():.6g}, expected {want[index].item():.6g}"
    )


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    dtype = torch.promote_types(a.dtype, b.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.float64  # integers compare as numbers, within the same tolerance
    return bool(torch.allclose(a.to(dtype), b.to(dtype), atol=atol, rtol=rtol))


def expect_equal(got, want, what: str = "the answer", *, suspects: Mapping[str, object] | None = None) -> None:
    """Raise Wrong unless `got == want` (ints, strings, lists); name a listed mistake if it matches."""
    if got == want:
        return
    for diagnosis, wrong in (suspects or {}).items():
        if got == wrong:
            raise Wrong(f"{what}: {diagnosis}")
    raise Wrong(f"{what} is {got!r}; that is not it")


def as_number(value, what: str, kind: str = "a number") -> float:
    """The learner's value as a float (a Python or NumPy number, or a one-element tensor); Wrong
    saying `what` should be `kind` otherwise."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (int, float, torch.Tensor)):
        value = item()  # a NumPy scalar
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Wrong(f"{what} should be {kind}, got {type(value).__name__}")
    return float(value)


def expect_number(
    got, want: float, what: str = "the answer", *, rel: float = 1e-3, suspects: Mapping[str, float] | None = None
) -> None:
    """Raise Wrong unless `got` is a number within `rel` of `want`; name a listed mistake if it matches."""
    is_scalar_tensor = isinstance(got, torch.Tensor) and got.numel() == 1
    if isinstance(got, bool) or not (isinstance(got, (int, float)) or is_scalar_tensor):
        raise Wrong(f"{what} should be a number, got {type(got).__name__}")
    value = float(got)
    if abs(value - want) <= rel * abs(want):
        return
    for diagnosis, wrong in (suspects or {}).items():
        if abs(value - wrong) <= rel * abs(wrong):
            raise Wrong(f"{what}: {diagnosis}")
    direction = "too large" if value > want else "too small"
    raise Wrong(f"{what} is {value:,.6g}, {direction}")
