"""Generating text: read the prompt once (prefill), then write one token at a time (decode).

    prompt ids --one forward over all of them--> logits of the next token     (prefill: parallel)
    loop: choose a token --> feed just that token, reading the past from the KV cache --> logits
                                                                                (decode: serial)

Reading is fast because every prompt position goes through the network in the same matrix
products; writing is slow because token t+1 cannot start before token t is chosen. The KV
cache (minigpt.cache.KVCache) keeps every layer's keys and values, so a decode step computes
only the new token's; without it (use_cache=False) each step runs the whole sequence again.

Entry points:
    generate(model, input_ids, max_new_tokens, ...)  -> prompt + new ids (the type you passed in)
    stream(model, input_ids, max_new_tokens, ...)    -> iterator of Step, one per new token
    beam_search(...), sequence_logprob(...)          -> in minigpt.beam
    generate_text / stream_text                      -> the same, text in and text out
    python -m minigpt sample --prompt ...            -> minigpt.sample_cli

The choice of each token (temperature, top-k, top-p, repetition penalty) is in minigpt.sampling.
Batches of prompts of different lengths are padded on the left, so every row's last prompt token
sits in the same column and all rows decode in step; the attention mask hides the padding and
position ids count only real tokens, as Hugging Face does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .cache import KVCache
from .sampling import check_sampling_args, choose_next, entropy, explain_logits, token_rank
from .textstream import TextStreams, check_tokenizer


@dataclass
class Step:
    """One decoding step for every row of the batch."""

    index: int  # 0 for the first new token (chosen from the prefill's logits)
    tokens: torch.Tensor  # (B,) chosen ids; rows that had already finished get the pad id
    logits: torch.Tensor  # (B, V) the model's raw logits that this choice was made from
    finished: torch.Tensor  # (B,) bool: the row has ended (eos or a stop string), this token included
    text: list[str] | None = None  # with a tokenizer: the new text of each row ("" mid-character)
    # explain=True only:
    probs: dict[str, torch.Tensor] | None = None  # distribution after each transformation (sampling.explain_logits)
    entropy: torch.Tensor | None = None  # (B,) bits, of the model's own distribution
    rank: torch.Tensor | None = None  # (B,) rank of the chosen token by the model's logits, 1 = top
    prob: torch.Tensor | None = None  # (B,) probability of the chosen token in the distribution sampled from

    @property
    def token(self) -> int:
        """The chosen id of a batch of one."""
        if self.tokens.numel() != 1:
            raise ValueError(f"Step.token is for a batch of one; this batch has {self.tokens.numel()} rows: use .tokens.")
        return int(self.tokens.item())


# ---- the two ways to get the next logits: with and without the cache -----------------------


class CachedDecoder:
    """Prefill the prompt in one forward, then one token per forward; the past is read from
    a KVCache preallocated for prompt + max_new_tokens (no reallocation while decoding)."""

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor | None, max_new_tokens: int,
                 compile: bool = False):
        b, t = ids.shape
        self.model, self.ids, self.length = model, ids, t
        dtype = next(model.parameters()).dtype
        self.cache = KVCache(model.config, b, max_len=t + max_new_tokens, device=ids.device, dtype=dtype,
                             static=compile)
        # compile: every decode step has the same shapes (static cache), so it compiles once; on
        # a GPU "reduce-overhead" replays it as a CUDA graph, one launch instead of hundreds.
        self.forward = model
        if compile:
            mode = "reduce-overhead" if ids.device.type == "cuda" else None
            self.forward = torch.compile(model, mode=mode, fullgraph=True, dynamic=False)
        self.mask = self.positions = self.next_position = None
        if mask is not None:  # left padding: mask the pads, count positions over real tokens only
            self.mask = torch.ones(b, t + max_new_tokens, dtype=torch.long, device=ids.device)
            self.mask[:, :t] = mask
            self.positions = (mask.cumsum(-1) - 1).clamp(min=0)
            self.next_position = mask.sum(-1, keepdim=True)

    def _mask(self):
        if self.mask is None or self.cache.static:
            return self.mask  # a static cache is attended whole: its mask covers every slot
        return self.mask[:, : self.length]

    def prefill(self) -> torch.Tensor:
        # eager even when compiling: prompt lengths vary, and a prompt is one forward anyway
        out = self.model(self.ids, attention_mask=self._mask(), position_ids=self.positions, kv_cache=self.cache,
                         logits_to_keep=1)
        return out.logits[:, -1]

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed the (B,) tokens just chosen; return the (B, V) logits of the token after them."""
        self.length += 1
        out = self.forward(tokens[:, None], attention_mask=self._mask(), position_ids=self.next_position,
                           kv_cache=self.cache, logits_to_keep=1)
        if self.next_position is not None:
            self.next_position += 1
        logits = out.logits[:, -1]
        # a CUDA graph writes its next output into the same memory: keep a copy of this one
        return logits.clone() if self.forward is not self.model else logits

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep (and copy) batch rows `rows`: beam search continues some hypotheses, drops others."""
        self.cache.reorder(rows)
        if self.mask is not None:
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
        if self.mask is not None:
            self.mask, self.positions = self.mask[rows], self.positions[rows]


# ---- sampling: one token per step ------------------------------------------------------------


def stream(model, input_ids, max_new_tokens: int, *, temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
           repetition_penalty: float = 1.0, eos_token_id=None, stop_strings=None, tokenizer=None,
           seed: int | None = None, generator: torch.Generator | None = None, attention_mask=None,
           pad_token_id: int | None = None, use_cache: bool = True, compile: bool = False,
           explain: bool = False) -> Iterator[Step]:
    """Yield a Step as each new token is chosen (a notebook can print as it goes).

    Arguments are those of `generate` (minus beam search) plus `explain=True`, which fills each
    Step with the distribution after every transformation, its entropy and the chosen token's
    rank. Explaining does not change the tokens: the same seed gives the same text.
    Checks run when stream() is called, not at the first next()."""
    check_sampling_args(temperature, top_k, top_p, repetition_penalty)
    ids, mask = as_batch(model, input_ids, attention_mask, max_new_tokens)
    if tokenizer is not None:
        check_tokenizer(model, tokenizer)
    eos_ids, pad_id = special_ids(model, tokenizer, eos_token_id, pad_token_id)
    warn_unmasked_padding(input_ids, attention_mask, pad_id)
    stops = None
    if tokenizer is not None:
        stops = TextStreams(tokenizer, ids.shape[0], stop_strings, skip_ids=eos_ids)
    elif stop_strings:
        raise ValueError("stop_strings are matched on decoded text: pass tokenizer= as well.")
    if seed is not None:
        if generator is not None:
            raise ValueError("Pass seed or generator, not both.")
        generator = torch.Generator(device=ids.device).manual_seed(seed)
    if compile and not use_cache:
        raise ValueError("compile=True compiles the cached decode step: leave use_cache=True.")
    if use_cache:
        decoder = CachedDecoder(model, ids, mask, max_new_tokens, compile=compile)
    else:
        decoder = UncachedDecoder(model, ids, mask, max_new_tokens)
    eos = torch.tensor(eos_ids, dtype=torch.long, device=ids.device) if eos_ids else None
    # A model may have more vocabulary rows than its tokenizer has ids (padded to a round
    # number): never choose an id the tokenizer could not decode.
    vocab = model.config.vocab_size if tokenizer is None else min(tokenizer.vocab_size, model.config.vocab_size)
    return _sample_loop(decoder, ids, mask, max_new_tokens, vocab, eos, pad_id, stops, explain,
                        dict(temperature=temperature, top_k=top_k, top_p=top_p,
                             repetition_penalty=repetition_penalty, generator=generator))


@torch.inference_mode()
def _sample_loop(decoder, ids, mask, max_new_tokens, vocab, eos, pad_id, stops, explain, settings) -> Iterator[Step]:
    batch = ids.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool, device=ids.device)
    any_finished = False
    seen = None
    if settings["repetition_penalty"] != 1.0:  # which ids occurred (pads excluded), updated in place
        counts = torch.zeros(batch, vocab, device=ids.device)
        counts.scatter_add_(1, ids, torch.ones_like(ids, dtype=counts.dtype) if mask is None else mask.to(counts.dtype))
        seen = counts > 0
    whole_vocab = vocab == decoder.model.config.vocab_size

    logits = decoder.prefill()
    for index in range(max_new_tokens):
        scores = logits if whole_vocab else logits[:, :vocab]
        if explain:
            tokens, details = _explained_choice(scores, seen, **settings)
        else:
            tokens, details = choose_next(scores, seen=seen, **settings), {}
        if seen is not None:
            seen.scatter_(1, tokens[:, None], True)
        if any_finished:
            tokens = tokens.masked_fill(finished, pad_id)
        text = None
        was_finished = finished
        if eos is not None:
            finished = finished | torch.isin(tokens, eos)
        if stops is not None:
            text, stopped = stops.push(tokens.tolist(), was_finished.tolist(), finished.tolist(),
                                       last=index == max_new_tokens - 1)
            if any(stopped):
                finished = finished | torch.tensor(stopped, device=finished.device)
        if eos is not None or stops is not None:
            any_finished = bool(finished.any())
        yield Step(index, tokens, logits, finished, text, **details)
        if index == max_new_tokens - 1 or (any_finished and bool(finished.all())):
            return
        logits = decoder.step(tokens)


def _explained_choice(logits, seen, temperature, top_k, top_p, repetition_penalty, generator):
    """choose_next, keeping the distribution after each transformation; the same draw."""
    probs = explain_logits(logits, temperature, top_k, top_p, repetition_penalty, seen)
    final = probs[list(probs)[-1]]
    tokens = final.argmax(-1) if temperature == 0 else torch.multinomial(final, 1, generator=generator).squeeze(-1)
    return tokens, dict(probs=probs, entropy=entropy(probs["model"]), rank=token_rank(logits, tokens),
                        prob=final.gather(-1, tokens[:, None]).squeeze(-1))


def generate(model, input_ids, max_new_tokens: int, *, temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
             repetition_penalty: float = 1.0, num_beams: int = 1, length_penalty: float = 1.0, eos_token_id=None,
             stop_strings=None, tokenizer=None, seed: int | None = None, generator: torch.Generator | None = None,
             attention_mask=None, pad_token_id: int | None = None, use_cache: bool = True, compile: bool = False):
    """Continue each prompt by up to max_new_tokens tokens; return prompt + new tokens.

    input_ids: a list of ints (one prompt), a list of lists (prompts of any lengths; they are
        left-padded inside) or a LongTensor (T,) / (B, T), optionally with attention_mask
        (B, T), 1 = real token, 0 = left padding, as a Hugging Face tokenizer returns it.
    Returns the same kind: list -> list, list of lists -> list of lists (each row its own
        prompt + its new tokens up to and including the eos / stop-string token), tensor ->
        tensor (B, T + steps run) with the padding kept and pad ids after a row ended (like
        Hugging Face's generate, which also returns prompt + new).

    temperature 0 (default) is greedy decoding; > 0 samples from softmax(logits / temperature),
        after top_k (0 = off) and top_p (1 = off) filtering. Greedy ignores top_k/top_p (they
        always keep the most likely token). repetition_penalty > 1 discourages seen tokens.
    num_beams > 1: beam search (deterministic; see beam_search), with length_penalty.
    eos_token_id: an id or a list of ids that end a row; None = model.config.eos_token_id, else
        the tokenizer's eos_id, else none; [] = never stop early.
    stop_strings: text that ends a row once it appears in the row's new text (needs tokenizer).
    seed / generator: make sampling reproducible (a torch.Generator is used for the draws).
    use_cache=False recomputes the whole sequence every step (same result, slower; for teaching).
    compile=True: torch.compile the decode step over a static cache (see minigpt.cache); the
        first call compiles (tens of seconds), later calls with the same shapes reuse it. Worth
        it for long generations; on a GPU the step becomes one CUDA graph.
    """
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"num_beams must be an integer >= 1 (1 = no beam search), got {num_beams!r}.")
    if num_beams > 1:
        if compile:
            raise ValueError("compile=True is for sampling and greedy decoding; beam search runs eagerly.")
        if temperature != 0 or repetition_penalty != 1.0 or stop_strings:
            raise ValueError(
                "Beam search here is deterministic and scores hypotheses by the model's log-probabilities: "
                "use temperature=0, repetition_penalty=1 and no stop_strings with num_beams > 1."
            )
        from .beam import beam_search  # beam.py builds on this module's decoders

        hypotheses = beam_search(model, input_ids, max_new_tokens, num_beams, length_penalty=length_penalty,
                                 eos_token_id=eos_token_id, attention_mask=attention_mask, use_cache=use_cache)
        new_rows = [h[0].tokens for h in hypotheses]
    else:
        tokens, finished = [], []  # keep only these: a Step also holds the (B, V) logits
        for step in stream(model, input_ids, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                           repetition_penalty=repetition_penalty, eos_token_id=eos_token_id,
                           stop_strings=stop_strings, tokenizer=tokenizer, seed=seed, generator=generator,
                           attention_mask=attention_mask, pad_token_id=pad_token_id, use_cache=use_cache,
                           compile=compile):
            tokens.append(step.tokens)
            finished.append(step.finished)
        new = torch.stack(tokens, dim=1)  # (B, steps)
        if not torch.is_tensor(input_ids):
            ended = torch.stack(finished, dim=1)
            # each row keeps its tokens up to the step where it finished (that token included)
            lengths = torch.where(ended.any(1), ended.int().argmax(1) + 1, new.shape[1]).tolist()
            new_rows = [row[:n] for row, n in zip(new.tolist(), lengths)]
    if torch.is_tensor(input_ids):
        ids, _ = as_batch(model, input_ids, attention_mask, max_new_tokens)
        if num_beams > 1:
            _, pad_id = special_ids(model, tokenizer, eos_token_id, pad_token_id)
            width = max(len(r) for r in new_rows)
            new = torch.tensor([r + [pad_id] * (width - len(r)) for r in new_rows], dtype=torch.long)
        out = torch.cat([ids, new.to(ids.device)], dim=1)
        return out[0] if input_ids.dim() == 1 else out
    if _is_int_list(input_ids):
        return list(input_ids) + new_rows[0]
    return [list(prompt) + row for prompt, row in zip(input_ids, new_rows)]


# ---- text in, text out -----------------------------------------------------------------------


def stream_text(model, tokenizer, prompt: str, max_new_tokens: int, **kwargs) -> Iterator[str]:
    """Yield the continuation of `prompt` piece by piece (whole characters only)."""
    for step in stream(model, tokenizer.encode(prompt), max_new_tokens, tokenizer=tokenizer, **kwargs):
        if step.text[0]:
            yield step.text[0]


def generate_text(model, tokenizer, prompt: str, max_new_tokens: int, **kwargs) -> str:
    """The continuation of `prompt` as text (the prompt itself not included)."""
    ids = tokenizer.encode(prompt)
    out = generate(model, ids, max_new_tokens, tokenizer=tokenizer, **kwargs)
    new = out[len(ids):]
    eos_ids, _ = special_ids(model, tokenizer, kwargs.get("eos_token_id"), None)
    return tokenizer.decode([t for t in new if t not in eos_ids])


# ---- input checking --------------------------------------------------------------------------


def as_batch(model, input_ids, attention_mask=None, max_new_tokens: int = 1):
    """Any accepted prompt form -> (ids (B, T) on the model's device, mask (B, T) or None).

    Ragged lists are left-padded (pad id 0; masked, so its value never matters). The mask is
    None when there is no padding, which lets the model use plain causal attention."""
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}.")
    device = model.device
    if torch.is_tensor(input_ids):
        if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool or input_ids.dim() not in (1, 2):
            raise ValueError(f"input_ids must be integer ids of shape (T,) or (B, T); got {input_ids.dtype} "
                             f"{tuple(input_ids.shape)}.")
        ids = input_ids.reshape(1, -1) if input_ids.dim() == 1 else input_ids
        if ids.shape[1] == 0 or ids.shape[0] == 0:
            raise ValueError(_EMPTY)
        ids = ids.to(device=device, dtype=torch.long)
        mask = None
        if attention_mask is not None:
            mask = torch.as_tensor(attention_mask).reshape(ids.shape).to(device=device, dtype=torch.long)
            if (mask[:, 1:] < mask[:, :-1]).any():
                raise ValueError("attention_mask has padding after real tokens; new tokens are appended on the "
                                 "right, so pad on the left (tokenizer.padding_side = 'left').")
            if (mask.sum(-1) == 0).any():
                raise ValueError(f"A row of attention_mask has no real token. {_EMPTY}")
            mask = None if bool(mask.all()) else mask
    else:
        if attention_mask is not None:
            raise ValueError("attention_mask goes with tensor input_ids; lists are padded (and masked) for you.")
        rows = [input_ids] if _is_int_list(input_ids) else input_ids
        if not isinstance(rows, (list, tuple)) or not rows or not all(_is_int_list(r) for r in rows):
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
    v, context, t = model.config.vocab_size, model.config.max_seq_len, ids.shape[1]
    real = ids if mask is None else ids[mask.bool()]
    if real.numel() and (real.min() < 0 or real.max() >= v):
        raise ValueError(f"Token ids must be in 0..{v - 1} (the model's vocab_size is {v}); got min "
                         f"{real.min().item()}, max {real.max().item()}. Was the prompt encoded with this model's tokenizer?")
    if t + max_new_tokens > context:
        fix = (f"Use max_new_tokens <= {context - t}, or keep only the last {context - max_new_tokens} prompt "
               f"tokens (prompt[-{context - max_new_tokens}:])" if t < context and max_new_tokens < context else
               f"Keep prompt + new tokens within {context}, e.g. the last {context // 2} prompt tokens and "
               f"max_new_tokens={context - context // 2}")
        raise ValueError(f"The prompt has {t} tokens (longest row, padding included) and max_new_tokens="
                         f"{max_new_tokens}: {t} + {max_new_tokens} = {t + max_new_tokens} is more than the model's "
                         f"context max_seq_len={context}. {fix}.")
    return ids, mask


_EMPTY = ("The prompt is empty: generation continues a sequence, so it needs at least one token. "
          "To generate from nothing, start from the end-of-text id (e.g. [tokenizer.eos_id]), as documents "
          "start after it in training.")


def _is_int_list(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(i, int) or (torch.is_tensor(i) and i.dim() == 0) or
                                                 type(i).__name__.startswith("int") for i in x)


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
            raise ValueError(f"{source} {bad[0]} is outside the vocabulary 0..{v - 1} (vocab_size {v}): a row would "
                             f"never stop at it. Pass the id of the end token (tokenizer.eos_id), or [] to never stop early.")
    pad_source = "pad_token_id"
    if pad_token_id is None:
        pad_token_id, pad_source = (getattr(tokenizer, "pad_id", None) if tokenizer is not None else None), "tokenizer.pad_id"
        if pad_token_id is None:
            pad_token_id, pad_source = (eos_ids[0] if eos_ids else 0), "the default pad id (the first eos id, else 0)"
    if not _is_id(pad_token_id) or not 0 <= int(pad_token_id) < v:
        raise ValueError(f"{pad_source} must be a token id in 0..{v - 1} (vocab_size {v}), got {pad_token_id!r}: it "
                         f"fills the rows that have ended. Pass e.g. pad_token_id=tokenizer.pad_id, or leave it None.")
    return eos_ids, int(pad_token_id)


def _is_id(x) -> bool:
    if torch.is_tensor(x):
        return x.dim() == 0 and not x.dtype.is_floating_point and x.dtype != torch.bool
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__name__.startswith("int")


def warn_unmasked_padding(input_ids, attention_mask, pad_id: int) -> None:
    """Warn when a tensor batch looks left-padded (rows start with different numbers of pad ids)
    but comes without attention_mask: the pads are then attended like text and change the
    logits. Only a warning, as in transformers, because a leading pad id can be a real token
    (minigpt prompts start with <|endoftext|>, which is also the pad id)."""
    import warnings

    if not torch.is_tensor(input_ids) or input_ids.dim() != 2 or input_ids.shape[0] < 2 or attention_mask is not None:
        return
    leading = (input_ids == pad_id).int().cumprod(dim=1).sum(dim=1)
    if int(leading.max()) > int(leading.min()):
        rows = [i for i, n in enumerate(leading.tolist()) if n > int(leading.min())]
        warnings.warn(
            f"input_ids rows {rows[:8]} start with more pad ids ({pad_id}) than others, but no attention_mask was "
            f"given: the padding is read as text and changes the logits. Pass attention_mask (1 = token, "
            f"0 = padding), or pass the prompts as a list of lists, which are padded and masked for you.",
            stacklevel=3,
        )


# ---- python -m minigpt sample (the command line lives in sample_cli.py) ---------------------


def main(argv: list[str] | None = None) -> int:
    from .sample_cli import main as sample_main

    return sample_main(argv)
