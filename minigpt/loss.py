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

import warnings

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of (..., V) logits against (...) already-shifted targets, in fp32, skipping
    IGNORE_INDEX. reduction "mean" averages over the targets that count (nan, with a warning on CPU,
    when none counts, as in PyTorch and transformers); "sum" is what the trainer adds up over
    micro-batches before dividing once by the total number of targets."""
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"targets have shape {tuple(targets.shape)} but the logits {tuple(logits.shape)}: one target per "
            f"position is needed. Already-shifted targets go in targets=; unshifted input ids go in labels=."
        )
    if reduction == "mean" and targets.device.type == "cpu" and not bool((targets != IGNORE_INDEX).any()):
        # (checked on CPU only: reading a GPU tensor's values would stall every step)
        warnings.warn(
            f"Every target is {IGNORE_INDEX} (ignored), so the mean loss is over no positions: 0/0 = nan. "
            f"Each sequence needs a token to predict: at least 2 tokens with labels=, and not all of them "
            f"masked with {IGNORE_INDEX}.",
            stacklevel=3,
        )
    return F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction=reduction
    )


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """Hugging Face labels (B, T) -> the targets of each position (B, T): labels[:, t + 1] for t < T - 1,
    and IGNORE_INDEX at the last position, whose next token is not in the batch."""
    ignore = torch.full_like(labels[:, :1], IGNORE_INDEX)
    return torch.cat([labels[:, 1:], ignore], dim=1)


def causal_lm_loss(
    logits: torch.Tensor, labels: torch.Tensor | None = None, targets: torch.Tensor | None = None
) -> torch.Tensor:
    """The mean loss of a forward pass (MiniGPT(..., labels= or targets=)): labels are shifted here,
    targets are used as they are; exactly one of the two."""
    if labels is not None and targets is not None:
        raise ValueError("Pass labels= (unshifted, Hugging Face style) or targets= (already shifted), not both.")
    if labels is not None:
        if labels.dim() == 2 and labels.shape[1] < 2:
            raise ValueError(
                f"labels of shape {tuple(labels.shape)}: labels= are shifted inside (position t is scored "
                f"against labels[t + 1]), so a single token has no next token to predict and the mean loss "
                f"would be 0/0 = nan. Pass at least 2 tokens, or already-shifted targets= (one per position)."
            )
        targets = shift_labels(labels)
    if targets is None:
        raise ValueError("causal_lm_loss needs labels= or targets=.")
    return cross_entropy(logits, targets)
