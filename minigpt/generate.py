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
    python -m minigpt sample --prompt ...            -> minigpt.cli.sample

The settings (temperature, top-k, top-p, repetition penalty, beams, eos, ...) are one
GenerationConfig (minigpt.generation_config), passed as config= or as keyword arguments. The
choice of each token is minigpt.sampling's chain; the prompts' batching and the decoders that
compute the next logits are in minigpt.decoding, shared with beam search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from .beam import beam_search, search_beams
from .decoding import CachedDecoder, Prompts, UncachedDecoder, eval_mode, is_int_list, prepare
from .generation_config import GenerationConfig
from .sampling import choose_next, draw, entropy, explain_logits, token_rank
from .textstream import TextStreams

__all__ = ["Step", "beam_search", "generate", "generate_text", "stream", "stream_text"]


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
            raise ValueError(
                f"Step.token is for a batch of one; this batch has {self.tokens.numel()} rows: use .tokens."
            )
        return int(self.tokens.item())


# ---- sampling: one token per step ------------------------------------------------------------


def stream(
    model,
    input_ids,
    max_new_tokens: int | None = None,
    *,
    config: GenerationConfig | None = None,
    tokenizer=None,
    generator: torch.Generator | None = None,
    attention_mask=None,
    explain: bool = False,
    **settings,
) -> Iterator[Step]:
    """Yield a Step as each new token is chosen (a notebook can print as it goes).

    Settings are those of `generate` (minus beam search): a GenerationConfig and/or its fields as
    keyword arguments. explain=True fills each Step with the distribution after every
    transformation, its entropy and the chosen token's rank. Explaining does not change the
    tokens: the same seed gives the same text. Checks run when stream() is called, not at the
    first next(). The model runs in eval mode while the steps are drawn (see generate)."""
    config = GenerationConfig.build(config, max_new_tokens=max_new_tokens, **settings)
    if config.num_beams > 1:
        raise ValueError(
            "stream() samples one token at a time; for beam search use generate(..., num_beams=W) "
            "or minigpt.beam.beam_search."
        )
    prompts = prepare(model, input_ids, config, attention_mask=attention_mask, tokenizer=tokenizer)
    return _sample(model, prompts, tokenizer, generator, explain)


def _sample(model, prompts: Prompts, tokenizer, generator, explain: bool) -> Iterator[Step]:
    """The sampling loop over prepared prompts; what it needs is set up (and checked) now, the
    loop itself runs lazily."""
    config, ids = prompts.config, prompts.ids
    stops = None
    if tokenizer is not None:
        stops = TextStreams(tokenizer, ids.shape[0], config.stop_strings, skip_ids=prompts.eos_ids)
    elif config.stop_strings:
        raise ValueError("stop_strings are matched on decoded text: pass tokenizer= as well.")
    if config.seed is not None:
        if generator is not None:
            raise ValueError("Pass seed or generator, not both.")
        generator = torch.Generator(device=ids.device).manual_seed(config.seed)
    if config.use_cache:
        decoder = CachedDecoder(model, ids, prompts.mask, config.max_new_tokens, compile=config.compile)
    else:
        decoder = UncachedDecoder(model, ids, prompts.mask, config.max_new_tokens)
    # A model may have more vocabulary rows than its tokenizer has ids (padded to a round
    # number): never choose an id the tokenizer could not decode.
    vocab = model.config.vocab_size if tokenizer is None else min(tokenizer.vocab_size, model.config.vocab_size)
    return _sample_loop(decoder, prompts, vocab, stops, explain, generator)


@torch.inference_mode()
def _sample_loop(decoder, prompts: Prompts, vocab: int, stops, explain: bool, generator) -> Iterator[Step]:
    config, ids, mask = prompts.config, prompts.ids, prompts.mask
    max_new_tokens, pad_id = config.max_new_tokens, prompts.pad_id
    eos = torch.tensor(prompts.eos_ids, dtype=torch.long, device=ids.device) if prompts.eos_ids else None
    batch = ids.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool, device=ids.device)
    any_finished = False
    seen = None
    if config.repetition_penalty != 1.0:  # which ids occurred (pads excluded), updated in place
        counts = torch.zeros(batch, vocab, device=ids.device)
        counts.scatter_add_(1, ids, torch.ones_like(ids, dtype=counts.dtype) if mask is None else mask.to(counts.dtype))
        seen = counts > 0
    whole_vocab = vocab == decoder.model.config.vocab_size

    with eval_mode(decoder.model):
        logits = decoder.prefill()
        for index in range(max_new_tokens):
            scores = logits if whole_vocab else logits[:, :vocab]
            tokens, details = _choose(scores, seen, config, generator, explain)
            if seen is not None:
                seen.scatter_(1, tokens[:, None], True)
            if any_finished:
                tokens = tokens.masked_fill(finished, pad_id)
            text = None
            was_finished = finished
            if eos is not None:
                finished = finished | torch.isin(tokens, eos)
            if stops is not None:
                text, stopped = stops.push(
                    tokens.tolist(), was_finished.tolist(), finished.tolist(), last=index == max_new_tokens - 1
                )
                if any(stopped):
                    finished = finished | torch.tensor(stopped, device=finished.device)
            if eos is not None or stops is not None:
                any_finished = bool(finished.any())
            yield Step(index, tokens, logits, finished, text, **details)
            if index == max_new_tokens - 1 or (any_finished and bool(finished.all())):
                return
            logits = decoder.step(tokens)


def _choose(logits, seen, config: GenerationConfig, generator, explain: bool) -> tuple[torch.Tensor, dict[str, Any]]:
    """The tokens chosen from (B, V) logits, and with explain the distribution after each step
    of the chain (the same draw: explaining does not change the text)."""
    if not explain:
        return choose_next(logits, config, seen=seen, generator=generator), {}
    probs = explain_logits(logits, config, seen=seen)
    final = probs[list(probs)[-1]]
    tokens = final.argmax(-1) if config.greedy else draw(final, generator)
    return tokens, dict(
        probs=probs,
        entropy=entropy(probs["model"]),
        rank=token_rank(logits, tokens),
        prob=final.gather(-1, tokens[:, None]).squeeze(-1),
    )


def generate(
    model,
    input_ids,
    max_new_tokens: int | None = None,
    *,
    config: GenerationConfig | None = None,
    tokenizer=None,
    generator: torch.Generator | None = None,
    attention_mask=None,
    **settings,
):
    """Continue each prompt by up to max_new_tokens tokens; return prompt + new tokens.

    input_ids: a list of ints (one prompt), a list of lists (prompts of any lengths; they are
        left-padded inside) or a LongTensor (T,) / (B, T), optionally with attention_mask
        (B, T), 1 = real token, 0 = left padding, as a Hugging Face tokenizer returns it.
    Returns the same kind: list -> list, list of lists -> list of lists (each row its own
        prompt + its new tokens up to and including the eos / stop-string token), tensor ->
        tensor (B, T + steps run) with the padding kept and pad ids after a row ended (like
        Hugging Face's generate, which also returns prompt + new).

    The settings: config=GenerationConfig(...) and/or any of its fields as keyword arguments
    (a keyword wins over the config). Every field is documented in minigpt.generation_config:
    temperature 0 (default) is greedy decoding; > 0 samples from softmax(logits / temperature),
        after top_k (0 = off) and top_p (1 = off) filtering. Greedy ignores top_k/top_p (they
        always keep the most likely token). repetition_penalty > 1 discourages seen tokens.
    num_beams > 1: beam search (deterministic; see beam_search), with length_penalty; the
        sampling settings are refused there (GenerationConfig.check_beam_search).
    eos_token_id: an id or a list of ids that end a row; None = model.config.eos_token_id, else
        the tokenizer's eos_id, else none; [] = never stop early.
    stop_strings: text that ends a row once it appears in the row's new text (needs tokenizer).
    seed / generator: make sampling reproducible (a torch.Generator is used for the draws).
    use_cache=False recomputes the whole sequence every step (same result, slower; for teaching).
    compile=True: torch.compile the decode step over a static cache (see minigpt.cache); the
        first call compiles (tens of seconds), later calls with the same shapes reuse it. Worth
        it for long generations; on a GPU the step becomes one CUDA graph.

    A prompt that leaves fewer than max_new_tokens in the model's context gets what fits, with a
    warning that says how many. The model runs in eval mode (no dropout), whatever mode it was
    in, and each module's mode is put back afterwards.
    """
    config = GenerationConfig.build(config, max_new_tokens=max_new_tokens, **settings)
    prompts = prepare(model, input_ids, config, attention_mask=attention_mask, tokenizer=tokenizer)
    return _generate(model, input_ids, prompts, tokenizer, generator)


def _generate(model, input_ids, prompts: Prompts, tokenizer, generator):
    """generate() over prepared prompts: the output in the form the prompts came in."""
    if prompts.config.num_beams > 1:
        rows = [hypotheses[0].tokens for hypotheses in search_beams(model, prompts)]
        width = max(len(r) for r in rows)  # hypotheses end at different lengths: pad like finished rows
        new = torch.tensor([r + [prompts.pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
        ended = None
    else:
        tokens, finished = [], []  # keep only these: a Step also holds the (B, V) logits
        for step in _sample(model, prompts, tokenizer, generator, explain=False):
            tokens.append(step.tokens)
            finished.append(step.finished)
        new = torch.stack(tokens, dim=1)  # (B, steps), pad ids after a row finished
        ended = torch.stack(finished, dim=1)
        rows = None
    if torch.is_tensor(input_ids):
        out = torch.cat([prompts.ids, new.to(prompts.ids.device)], dim=1)
        return out[0] if input_ids.dim() == 1 else out
    if rows is None:
        # each row keeps its tokens up to the step where it finished (that token included)
        lengths = torch.where(ended.any(1), ended.int().argmax(1) + 1, new.shape[1]).tolist()  # pyright: ignore[reportOptionalMemberAccess]
        rows = [row[:n] for row, n in zip(new.tolist(), lengths, strict=True)]
    if is_int_list(input_ids):
        return list(input_ids) + rows[0]
    return [list(prompt) + row for prompt, row in zip(input_ids, rows, strict=True)]


# ---- text in, text out -----------------------------------------------------------------------


def stream_text(model, tokenizer, prompt: str, max_new_tokens: int, **kwargs) -> Iterator[str]:
    """Yield the continuation of `prompt` piece by piece (whole characters only)."""
    for step in stream(model, tokenizer.encode(prompt), max_new_tokens, tokenizer=tokenizer, **kwargs):
        if step.text and step.text[0]:
            yield step.text[0]


def generate_text(
    model, tokenizer, prompt: str, max_new_tokens: int, *, config=None, generator=None, **settings
) -> str:
    """The continuation of `prompt` as text (the prompt itself not included, nor an end token)."""
    ids = tokenizer.encode(prompt)
    config = GenerationConfig.build(config, max_new_tokens=max_new_tokens, **settings)
    prompts = prepare(model, ids, config, tokenizer=tokenizer)
    new = _generate(model, ids, prompts, tokenizer, generator)[len(ids) :]
    return tokenizer.decode([t for t in new if t not in prompts.eos_ids])
