"""Beam search: keep several partial continuations, not just the single best next token.

Greedy decoding maximizes each step's probability; the sequence's probability is the product
of its steps, and the best product can start with a token that is not the best first step.
Beam search keeps the num_beams best partial sequences by total log-probability at every step.
It is still a heuristic (a wider beam can find a better sequence), but never looks only one
step ahead. Used by `generate(..., num_beams=W)`; `sequence_logprob` scores any continuation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .decoding import CachedDecoder, Prompts, UncachedDecoder, eval_mode, prepare
from .generation_config import GenerationConfig
from .sampling import NEG_INF


@dataclass
class Hypothesis:
    tokens: list[int]  # the new tokens (ending with eos if it ended that way)
    logprob: float  # sum of their log-probabilities under the model
    score: float  # logprob / len(tokens) ** length_penalty: what hypotheses are ranked by


def beam_search(
    model,
    input_ids,
    max_new_tokens: int | None = None,
    num_beams: int | None = None,
    *,
    config: GenerationConfig | None = None,
    attention_mask=None,
    tokenizer=None,
    **settings,
) -> list[list[Hypothesis]]:
    """Keep the num_beams most probable partial continuations at every step, not just one.

    Greedy commits to the best next token; a slightly worse first token can lead to a sequence
    of higher total probability (0.35 x 0.6 = 0.21 beats 0.4 x 0.5 = 0.20), and beam search can
    find it. Returns, for each prompt row, up to num_beams hypotheses, best score first.

    Each step scores every (beam, next token) pair by the total log-probability, keeps the 2W best
    (so W can continue even if some end with eos), moves those ending with eos among the top W to
    the finished list, and continues the W best others. A row stops once it has W finished
    hypotheses (transformers' early_stopping=True); at max_new_tokens the running beams count as
    finished. length_penalty > 0 favours longer hypotheses (scores are negative). num_beams=1 is
    exactly greedy decoding. Settings: a GenerationConfig and/or its fields (length_penalty,
    eos_token_id, use_cache, ...); num_beams defaults to 4 when neither gives it. Sampling's
    settings are refused (GenerationConfig.check_beam_search). The model runs in eval mode.
    """
    if num_beams is None and (config is None or config.num_beams == 1) and "num_beams" not in settings:
        num_beams = 4
    config = GenerationConfig.build(config, max_new_tokens=max_new_tokens, num_beams=num_beams, **settings)
    config.check_beam_search()  # (num_beams=1 skips it on construction: greedy, but still no sampling)
    prompts = prepare(model, input_ids, config, attention_mask=attention_mask, tokenizer=tokenizer)
    return search_beams(model, prompts)


@torch.inference_mode()
def search_beams(model, prompts: Prompts) -> list[list[Hypothesis]]:
    """beam_search over prepared prompts (minigpt.decoding.prepare): what generate(num_beams=W) runs."""
    ids, mask, config = prompts.ids, prompts.mask, prompts.config
    max_new_tokens, length_penalty = config.max_new_tokens, config.length_penalty
    b, w, v = ids.shape[0], config.num_beams, model.config.vocab_size
    if 2 * w > v:
        raise ValueError(f"num_beams={w} is too large for a vocabulary of {v}: need 2 * num_beams <= vocab_size.")
    with eval_mode(model):
        eos = torch.tensor(prompts.eos_ids or [-1], device=ids.device)
        decoder = (CachedDecoder if config.use_cache else UncachedDecoder)(model, ids, mask, max_new_tokens)
        logprobs = F.log_softmax(decoder.prefill().float(), dim=-1).repeat_interleave(w, dim=0)  # (B*W, V)
        decoder.reorder(torch.arange(b, device=ids.device).repeat_interleave(w))  # W copies of each prompt
        scores = torch.full((b, w), NEG_INF, device=ids.device)
        scores[:, 0] = 0.0  # the copies are identical: start from one, or the first step picks W equal beams
        sequences = torch.empty(b, w, 0, dtype=torch.long, device=ids.device)
        finished: list[list[Hypothesis]] = [[] for _ in range(b)]
        done = [False] * b
        row_offset = torch.arange(b, device=ids.device)[:, None] * w

        for step in range(max_new_tokens):
            total = (scores[:, :, None] + logprobs.view(b, w, v)).view(b, w * v)
            top_scores, top_index = total.topk(2 * w, dim=-1)  # (B, 2W), best first
            beam, token = top_index // v, top_index % v
            is_eos = torch.isin(token, eos)
            for row, rank in is_eos[:, :w].nonzero().tolist():  # only eos among the top W may finish
                if not done[row]:
                    s = top_scores[row, rank].item()
                    tokens = sequences[row, beam[row, rank]].tolist() + [token[row, rank].item()]
                    finished[row].append(Hypothesis(tokens, s, s / len(tokens) ** length_penalty))
            done = [d or len(f) >= w for d, f in zip(done, finished, strict=True)]
            scores, keep = top_scores.masked_fill(is_eos, NEG_INF).topk(w, dim=-1)  # W best that go on
            rows = (beam.gather(1, keep) + row_offset).view(-1)
            new_tokens = token.gather(1, keep)
            sequences = torch.cat([sequences.view(b * w, -1)[rows].view(b, w, -1), new_tokens[:, :, None]], dim=-1)
            if all(done) or step == max_new_tokens - 1:
                break
            decoder.reorder(rows)
            logprobs = F.log_softmax(decoder.step(new_tokens.view(-1)).float(), dim=-1)

    results = []
    for row in range(b):
        hyps = finished[row]
        if not done[row]:  # ran out of steps: the running beams are candidates too
            for s, seq in zip(scores[row].tolist(), sequences[row].tolist(), strict=True):
                if s > NEG_INF:
                    hyps.append(Hypothesis(seq, s, s / len(seq) ** length_penalty))
        results.append(sorted(hyps, key=lambda h: h.score, reverse=True)[:w])
    return results


@torch.inference_mode()
def sequence_logprob(model, prompt: list[int], continuation: list[int]) -> float:
    """log P(continuation | prompt) = sum of each token's log-probability given all before it:
    the total that greedy decoding and beam search try to make large."""
    if not prompt or not continuation:
        raise ValueError("sequence_logprob needs a non-empty prompt and a non-empty continuation.")
    ids = torch.tensor([list(prompt) + list(continuation)], device=model.device)
    with eval_mode(model):
        logits = model(ids).logits
    logprobs = F.log_softmax(logits[0, len(prompt) - 1 : -1].float(), dim=-1)
    return logprobs.gather(-1, ids[0, len(prompt) :, None]).sum().item()
