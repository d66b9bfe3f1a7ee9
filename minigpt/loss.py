"""The language-modelling loss, defined once: cross-entropy of next-token logits, -100 ignored.

Two ways to say what each position should predict:

    targets  already shifted (nanoGPT): position t is scored against targets[t]. The data
             pipeline makes the shift (x = ids[i:i+T], y = ids[i+1:i+T+1]) where a learner sees it.
    labels   Hugging Face's meaning: the input ids themselves (or a copy with -100 where no loss
             is wanted); the shift happens inside, position t is scored against labels[t + 1].
             `model(ids, labels=ids)` gives the same loss as transformers' LlamaForCausalLM.

IGNORE_INDEX (-100, PyTorch's and Hugging Face's default) marks positions that take no loss:
padding, and the prompt of an instruction example. Everything that masks or counts targets
(the datasets, the trainer) uses this one constant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of (..., V) logits against (...) already-shifted targets, in fp32, skipping
    IGNORE_INDEX. reduction "mean" averages over the targets that count; "sum" is what the trainer
    adds up over micro-batches before dividing once by the total number of targets."""
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"targets have shape {tuple(targets.shape)} but the logits {tuple(logits.shape)}: one target per "
            f"position is needed. Already-shifted targets go in targets=; unshifted input ids go in labels=."
        )
    return F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction=reduction
    )


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """Hugging Face labels (B, T) -> the targets of each position (B, T): labels[:, t + 1] for t < T - 1,
    and IGNORE_INDEX at the last position, whose next token is not in the batch."""
    ignore = torch.full_like(labels[:, :1], IGNORE_INDEX)
    return torch.cat([labels[:, 1:], ignore], dim=1)
