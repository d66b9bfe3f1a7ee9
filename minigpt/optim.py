"""The optimizer: AdamW over two parameter groups, with and without weight decay.

Weight decay (AdamW shrinks the weights toward 0 a little at every step, separately from the
gradient) applies to the matrices of the blocks (q/k/v/o, gate/up/down) and to an untied
lm_head. Not to RMSNorm weights or biases: they are per-channel gains and offsets, and shrinking
a gain does not make the function simpler, it only shrinks the signal. Not to the token
embedding: an (untied) embedding row gets a gradient only in steps where its token occurs,
while decay shrinks it at every step, so rare tokens would fade between their appearances. A
tied embedding is one tensor that is also the lm_head and gets a gradient every step through
it, so the reason is weaker there, and codebases differ (nanoGPT decays its tied embedding);
our rule is simple: the embedding tensor is not decayed, tied or not.
`weight_decay_split(model)` lists the two groups by name.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .train_config import TrainConfig


def weight_decay_split(model: nn.Module) -> tuple[list[str], list[str]]:
    """(decayed, not decayed) parameter names; see the module docstring for why."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():  # a tied lm_head is listed once, as the embedding
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "embed_tokens" in name else decay).append(name)
    return decay, no_decay


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    params = dict(model.named_parameters())
    decay, no_decay = weight_decay_split(model)
    groups = [
        {"params": [params[n] for n in decay], "weight_decay": config.weight_decay},
        {"params": [params[n] for n in no_decay], "weight_decay": 0.0},
    ]
    # The fused kernel updates all tensors in one launch on GPU; on CPU the default (foreach) is used.
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps, **extra)
