"""`dtype="auto"` on CPU: bf16 only where this machine's kernels make it faster than fp32."""

import pytest
import torch
from minigpt import devices

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    "has_bf16, speedup, expected",
    [
        (False, 5.0, torch.float32),  # no bf16 units: never bf16, whatever a timing says
        (True, 0.05, torch.float32),  # units reported but the products are emulated (AVX2-only oneDNN)
        (True, 0.9, torch.float32),  # no faster than fp32: not worth the precision
        (True, 3.0, torch.bfloat16),  # native bf16 products
    ],
)
def test_auto_dtype_follows_the_measurement(monkeypatch, has_bf16, speedup, expected):
    monkeypatch.setattr(devices, "_cpu_has_bf16", lambda: has_bf16)
    monkeypatch.setattr(devices, "cpu_bf16_speedup", lambda: speedup)
    assert devices.resolve_dtype("auto", CPU) == expected


def test_speedup_is_a_positive_ratio_and_cached():
    first = devices.cpu_bf16_speedup()
    assert first > 0
    assert devices.cpu_bf16_speedup() == first  # measured once per process


def test_fp16_on_cpu_says_what_to_use_instead():
    with pytest.raises(ValueError, match="bf16"):
        devices.resolve_dtype("fp16", CPU)


def test_notebook_setup_seeds_like_the_three_calls_it_replaces(capsys):
    import random

    import numpy as np
    from minigpt.devices import notebook_setup

    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    expected = (random.random(), float(np.random.rand()), torch.rand(1).item())
    device = notebook_setup(7)
    got = (random.random(), float(np.random.rand()), torch.rand(1).item())
    assert got == expected
    assert capsys.readouterr().out == f"device: {device.type}\n"


def test_dtype_names_short_and_torch_spellings():
    """One table (DTYPES): the short names and torch's / config.json's names ("bfloat16", what
    transformers accepts as dtype=) give the same dtypes; anything else is a clear error."""
    from minigpt.devices import DTYPES, dtype_from_name, dtype_name

    assert [dtype_from_name(n) for n in ("fp32", "bf16", "fp16")] == [torch.float32, torch.bfloat16, torch.float16]
    assert [dtype_from_name(n) for n in ("float32", "bfloat16", "float16")] == list(DTYPES.values())
    assert [dtype_name(d) for d in DTYPES.values()] == ["float32", "bfloat16", "float16"]
    assert dtype_from_name(torch.bfloat16) is torch.bfloat16
    with pytest.raises(ValueError, match="'int8' is not one of 'fp32', 'bf16', 'fp16', 'float32'"):
        dtype_from_name("int8")
    with pytest.raises(ValueError, match="torch.int8 is not one of"):
        dtype_name(torch.int8)
