"""What generation is built from: prompts as a batch, the special ids, and the two decoders.

    prepare(model, input_ids, config, ...)      any accepted prompt form + settings -> Prompts, checked once
    CachedDecoder / UncachedDecoder              prefill() -> logits; step(tokens) -> logits; reorder(rows)
    eval_mode(model)                             generation runs without dropout, then the modes are put back

Sampling (minigpt.generate) and beam search (minigpt.beam) both start from `prepare` and drive a
decoder: they differ only in how they choose tokens, not in how the next logits are computed.
This module is below both, so neither imports the other for these.

Batches of prompts of different lengths are padded on the left, so every row's last prompt token
sits in the same column and all rows decode in step; the attention mask hides the padding and
position ids count only real tokens, as Hugging Face does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .cache import KVCache, StaticKVCache, mark_static_address
from .decode_layout import checked_layout, lay_out_for_decoding
from .generation_config import GenerationConfig
from .textstream import check_tokenizer

__all__ = [
    "CachedDecoder",
    "Prompts",
    "UncachedDecoder",
    "eval_mode",
    "pad_prompts",
    "prepare",
    "special_ids",
    "warn_unmasked_padding",
]


@dataclass
class Prompts:
    """A batch of prompts ready to decode, with the settings it runs under; made once by `prepare`."""

    ids: torch.Tensor  # (B, T) on the model's device, left-padded
    mask: torch.Tensor | None  # (B, T) 1 = token, 0 = padding; None when no row is padded
    eos_ids: list[int]  # ids that end a row ([] = none)
    pad_id: int  # fills the rows that have ended
    config: GenerationConfig  # max_new_tokens: what fits the context (a warning says if fewer than asked)


def prepare(
    model, input_ids, config: GenerationConfig, *, attention_mask=None, tokenizer=None, stacklevel: int = 3
) -> Prompts:
    """Everything checked before the first forward, once per call: the prompts padded into a batch,
    the tokenizer against the model, the eos and pad ids resolved, padding without a mask warned
    about, and max_new_tokens fitted to the model's context (a warning names both numbers)."""
    ids, mask = pad_prompts(model, input_ids, attention_mask)
    if tokenizer is not None:
        check_tokenizer(model, tokenizer)
    eos_ids, pad_id = special_ids(model, tokenizer, config.eos_token_id, config.pad_token_id)
    warn_unmasked_padding(input_ids, attention_mask, pad_id, stacklevel=stacklevel + 1)
    fits = _fit_new_tokens(model, ids.shape[1], config.max_new_tokens, stacklevel + 1)
    if fits != config.max_new_tokens:
        config = dataclasses.replace(config, max_new_tokens=fits)
    return Prompts(ids, mask, eos_ids, pad_id, config)


@contextlib.contextmanager
def eval_mode(model) -> Iterator[None]:
    """Run the body in eval mode (dropout off: greedy decoding is deterministic even right after
    training), then put back each module's own mode."""
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        yield
    finally:
        for m in training:
            m.training = True


class CachedDecoder:
    """Prefill the prompt in one forward, then one token per forward; the past is read from
    a KVCache preallocated for prompt + max_new_tokens (no reallocation while decoding).

    compile=True: a StaticKVCache, written where this loop's `slot` (a device tensor) says; the
    loop moves the slot between steps, outside the compiled step (see minigpt.cache). A growing
    KVCache counts its own tokens: the slot is None and the model reads the position from it."""

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor | None, max_new_tokens: int, compile: bool = False):
        b, t = ids.shape
        self.model, self.ids, self.length = model, ids, t
        lay_out_for_decoding(model)
        dtype = next(model.parameters()).dtype
        cache_class = StaticKVCache if compile else KVCache
        self.cache = cache_class(model.config, b, max_len=t + max_new_tokens, device=ids.device, dtype=dtype)
        # compile: every decode step has the same shapes (static cache), so it compiles once; on
        # a GPU "reduce-overhead" replays it as a CUDA graph, one launch instead of hundreds.
        self.forward = model
        self.slot = None  # the static cache's next slot, (1,) on the device
        if compile:
            mode = "reduce-overhead" if ids.device.type == "cuda" else None
            self.forward = torch.compile(model, mode=mode, fullgraph=True, dynamic=False)
            self.slot = torch.full((1,), t, dtype=torch.long, device=ids.device)
            mark_static_address(self.slot)
        self.mask = self.positions = self.next_position = None
        if mask is not None:  # left padding: mask the pads, count positions over real tokens only
            self.mask = torch.ones(b, t + max_new_tokens, dtype=torch.long, device=ids.device)
            self.mask[:, :t] = mask
            self.positions = (mask.cumsum(-1) - 1).clamp(min=0)
            self.next_position = mask.sum(-1, keepdim=True)

    def _mask(self, new_tokens: int) -> torch.Tensor | None:
        """The padding mask over the keys attention will see (a static cache: its whole buffer)."""
        return None if self.mask is None else self.mask[:, : self.cache.key_length(new_tokens)]

    def prefill(self) -> torch.Tensor:
        # eager even when compiling: prompt lengths vary, and a prompt is one forward anyway
        out = self.model(
            self.ids,
            attention_mask=self._mask(self.length),
            position_ids=self.positions,
            kv_cache=self.cache,
            cache_position=None if self.slot is None else torch.arange(self.length, device=self.ids.device),
            logits_to_keep=1,
        )
        return out.logits[:, -1]

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed the (B,) tokens just chosen; return the (B, V) logits of the token after them."""
        self.length += 1
        # compiled: the weights were laid out (and their blocks checked) in __init__, so the
        # compiled step may join q/k/v and gate/up products as the eager one does
        with checked_layout() if self.forward is not self.model else contextlib.nullcontext():
            out = self.forward(
                tokens[:, None],
                attention_mask=self._mask(1),
                position_ids=self.next_position,
                kv_cache=self.cache,
                cache_position=self.slot,
                logits_to_keep=1,
            )
        if self.slot is not None:
            self.slot += 1  # between steps, outside the compiled graph
        if self.next_position is not None:
            self.next_position += 1
        logits = out.logits[:, -1]
        # a CUDA graph writes its next output into the same memory: keep a copy of this one
        return logits.clone() if self.forward is not self.model else logits

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep (and copy) batch rows `rows`: beam search continues some hypotheses, drops others."""
        self.cache.reorder(rows)
        if self.mask is not None and self.next_position is not None:
            self.mask, self.next_position = self.mask[rows], self.next_position[rows]


class UncachedDecoder:
    """The naive loop: every step runs the whole sequence so far through the model again,
    recomputing the keys and values of all earlier tokens. Same logits, much more work."""

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor | None, max_new_tokens: int):
        b, t = ids.shape
        self.model, self.length = model, t
        self.seq = torch.empty(b, t + max_new_tokens, dtype=ids.dtype, device=ids.device)
        self.seq[:, :t] = ids
        self.mask = self.positions = None
        if mask is not None:
            self.mask = torch.ones(b, t + max_new_tokens, dtype=torch.long, device=ids.device)
            self.mask[:, :t] = mask
            self.positions = (self.mask.cumsum(-1) - 1).clamp(min=0)

    def prefill(self) -> torch.Tensor:
        n = self.length
        mask = None if self.mask is None else self.mask[:, :n]
        positions = None if self.positions is None else self.positions[:, :n]
        return self.model(self.seq[:, :n], attention_mask=mask, position_ids=positions, logits_to_keep=1).logits[:, -1]

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        self.seq[:, self.length] = tokens
        self.length += 1
        return self.prefill()  # "prefill" the whole sequence again: that is the point

    def reorder(self, rows: torch.Tensor) -> None:
        self.seq = self.seq[rows]
        if self.mask is not None and self.positions is not None:
            self.mask, self.positions = self.mask[rows], self.positions[rows]


# ---- input checking --------------------------------------------------------------------------


def pad_prompts(model, input_ids, attention_mask=None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Any accepted prompt form -> (ids (B, T) on the model's device, mask (B, T) or None).

    Ragged lists are left-padded (pad id 0; masked, so its value never matters). The mask is
    None when there is no padding, which lets the model use plain causal attention."""
    device = model.device
    if torch.is_tensor(input_ids):
        if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool or input_ids.dim() not in (1, 2):
            raise ValueError(
                f"input_ids must be integer ids of shape (T,) or (B, T); got {input_ids.dtype} "
                f"{tuple(input_ids.shape)}."
            )
        ids = input_ids.reshape(1, -1) if input_ids.dim() == 1 else input_ids
        if ids.shape[1] == 0 or ids.shape[0] == 0:
            raise ValueError(_EMPTY)
        ids = ids.to(device=device, dtype=torch.long)
        mask = None
        if attention_mask is not None:
            mask = torch.as_tensor(attention_mask)
            if mask.shape not in (input_ids.shape, ids.shape):
                raise ValueError(
                    f"attention_mask has shape {tuple(mask.shape)} but input_ids {tuple(input_ids.shape)}: one "
                    f"entry per token (1 = token, 0 = padding), as a Hugging Face tokenizer returns them together."
                )
            mask = mask.reshape(ids.shape).to(device=device, dtype=torch.long)
            if (mask[:, 1:] < mask[:, :-1]).any():
                raise ValueError(
                    "attention_mask has padding after real tokens; new tokens are appended on the "
                    "right, so pad on the left (tokenizer.padding_side = 'left')."
                )
            if (mask.sum(-1) == 0).any():
                raise ValueError(f"A row of attention_mask has no real token. {_EMPTY}")
            mask = None if bool(mask.all()) else mask
    else:
        if attention_mask is not None:
            raise ValueError("attention_mask goes with tensor input_ids; lists are padded (and masked) for you.")
        rows = [input_ids] if is_int_list(input_ids) else input_ids
        if not isinstance(rows, (list, tuple)) or not rows or not all(is_int_list(r) for r in rows):
            if isinstance(rows, (list, tuple)) and not rows:
                raise ValueError(_EMPTY)
            raise ValueError("input_ids must be a list of ints, a list of lists of ints, or a tensor of ids.")
        empty = [i for i, r in enumerate(rows) if len(r) == 0]
        if empty:
            raise ValueError(f"Prompt row(s) {empty} are empty. {_EMPTY}")
        width = max(len(r) for r in rows)
        ids = torch.tensor([[0] * (width - len(r)) + [int(x) for x in r] for r in rows], dtype=torch.long)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
        ids, mask = ids.to(device), (None if bool(mask.all()) else mask.to(device))
    v = model.config.vocab_size
    real = ids if mask is None else ids[mask.bool()]
    if real.numel() and (real.min() < 0 or real.max() >= v):
        raise ValueError(
            f"Token ids must be in 0..{v - 1} (the model's vocab_size is {v}); got min "
            f"{real.min().item()}, max {real.max().item()}. Was the prompt encoded with this model's tokenizer?"
        )
    return ids, mask


def _fit_new_tokens(model, prompt_length: int, max_new_tokens: int, stacklevel: int) -> int:
    """max_new_tokens, or fewer when the prompt leaves less room in the model's context (with a
    warning that names both numbers); an error when the prompt alone fills the context.
    stacklevel, here and in warn_unmasked_padding: the caller's frame, as warnings.warn counts."""
    context, t = model.config.context_length, prompt_length
    if context is None or t + max_new_tokens <= context:
        return max_new_tokens
    if t >= context:
        raise ValueError(
            f"The prompt has {t} tokens (longest row, padding included), which fills the model's context of "
            f"{context} tokens: no new token fits. Keep only the last {context - min(max_new_tokens, context // 2)} "
            f"prompt tokens (prompt[-{context - min(max_new_tokens, context // 2)}:])."
        )
    fits = context - t
    fix = (
        f"To get all {max_new_tokens}, keep only the last {context - max_new_tokens} prompt tokens "
        f"(prompt[-{context - max_new_tokens}:])"
        if max_new_tokens < context
        else f"At most {context - 1} new tokens fit after a one-token prompt"
    )
    warnings.warn(
        f"The prompt has {t} tokens (longest row, padding included) and the model's context is {context}: only "
        f"{fits} new token{'s' * (fits != 1)} fit, not the {max_new_tokens} asked for "
        f"(max_new_tokens={max_new_tokens}); generating {fits}. {fix}.",
        stacklevel=stacklevel,
    )
    return fits


_EMPTY = (
    "The prompt is empty: generation continues a sequence, so it needs at least one token. "
    "To generate from nothing, start from the end-of-text id (e.g. [tokenizer.eos_id]), as documents "
    "start after it in training."
)


def is_int_list(x) -> bool:
    return isinstance(x, (list, tuple)) and all(
        isinstance(i, int) or (torch.is_tensor(i) and i.dim() == 0) or type(i).__name__.startswith("int") for i in x
    )


def special_ids(model, tokenizer, eos_token_id, pad_token_id) -> tuple[list[int], int]:
    """(eos ids, pad id), resolved from the arguments, else model.config, else the tokenizer, and
    checked: an id outside the vocabulary would never stop a row, or fail in the middle of decoding."""
    v = model.config.vocab_size
    source = "eos_token_id"
    if eos_token_id is None:
        eos_token_id, source = getattr(model.config, "eos_token_id", None), "model.config.eos_token_id"
        if eos_token_id is None and tokenizer is not None:
            eos_token_id, source = getattr(tokenizer, "eos_id", None), "tokenizer.eos_id"
    if eos_token_id is None:
        eos_ids = []
    else:
        items = [eos_token_id] if _is_id(eos_token_id) else eos_token_id
        if not isinstance(items, (list, tuple, set)) or not all(_is_id(i) for i in items):
            raise ValueError(f"{source} must be a token id or a list of ids, got {eos_token_id!r}.")
        eos_ids = [int(i) for i in items]
        bad = [i for i in eos_ids if not 0 <= i < v]
        if bad:
            raise ValueError(
                f"{source} {bad[0]} is outside the vocabulary 0..{v - 1} (vocab_size {v}): a row would "
                f"never stop at it. Pass the id of the end token (tokenizer.eos_id), or [] to never stop early."
            )
    pad_source = "pad_token_id"
    if pad_token_id is None:
        pad_token_id, pad_source = (
            (getattr(tokenizer, "pad_id", None) if tokenizer is not None else None),
            "tokenizer.pad_id",
        )
        if pad_token_id is None:
            pad_token_id, pad_source = (eos_ids[0] if eos_ids else 0), "the default pad id (the first eos id, else 0)"
    if not _is_id(pad_token_id) or not 0 <= int(pad_token_id) < v:
        raise ValueError(
            f"{pad_source} must be a token id in 0..{v - 1} (vocab_size {v}), got {pad_token_id!r}: it "
            f"fills the rows that have ended. Pass e.g. pad_token_id=tokenizer.pad_id, or leave it None."
        )
    return eos_ids, int(pad_token_id)


def _is_id(x) -> bool:
    if torch.is_tensor(x):
        return x.dim() == 0 and not x.dtype.is_floating_point and x.dtype != torch.bool
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__name__.startswith("int")


def warn_unmasked_padding(input_ids, attention_mask, pad_id: int, stacklevel: int = 3) -> None:
    """Warn when a tensor batch looks padded (rows start, or end, with different numbers of pad
    ids) but comes without attention_mask: the pads are then read as text. Left pads change the
    logits; right pads are worse, since each row continues after its pads, not after its text.
    Only a warning, as in transformers, because a pad id can be a real token (minigpt prompts
    start with <|endoftext|>, which is also the pad id)."""
    if not torch.is_tensor(input_ids) or input_ids.dim() != 2 or input_ids.shape[0] < 2 or attention_mask is not None:
        return
    is_pad = (input_ids == pad_id).int()
    leading = is_pad.cumprod(dim=1).sum(dim=1)
    trailing = is_pad.flip(1).cumprod(dim=1).sum(dim=1)
    for counts, where, harm, fix in (
        (
            trailing,
            "end",
            "each row continues after its pads, not after its text",
            "Pad on the left instead (tokenizer.padding_side = 'left') and pass attention_mask",
        ),
        (leading, "start", "the padding is read as text and changes the logits", "Pass attention_mask"),
    ):
        if int(counts.max()) > int(counts.min()):
            rows = [i for i, n in enumerate(counts.tolist()) if n > int(counts.min())]
            warnings.warn(
                f"input_ids rows {rows[:8]} {where} with more pad ids ({pad_id}) than others, but no attention_mask "
                f"was given: {harm}. {fix} (1 = token, 0 = padding), or pass the prompts as a list of lists, "
                f"which are padded and masked for you.",
                stacklevel=stacklevel,
            )
            return
