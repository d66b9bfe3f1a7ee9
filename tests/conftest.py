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
