"""Datasets: where the shifted targets and the loss masks are made.

A language model predicts token t+1 from tokens 0..t. So a training pair is the same ids
twice, shifted by one: X = ids[i : i+T], Y = ids[i+1 : i+T+1]. Y is what the package calls
`targets` (already shifted: position t is scored against targets[t]), the name the model's
forward and the trainer take it by; `labels` keeps Hugging Face's meaning, the unshifted ids,
shifted inside (minigpt.loss). So a batch from here goes to `model(**batch)` or the Trainer as is.

Three shapes of data:

- `PackedDataset`: one long stream cut into windows (pretraining). No padding needed.
- `ExampleDataset` + `PadCollate`: separate examples of different lengths, padded on the right
  to the longest in the batch. Padding positions get target -100 (ignored by the loss) and
  attention_mask 0, so a padded batch has exactly the loss of its examples run one by one.
- `SFTDataset`: prompt/answer pairs or chats, where only the answer is learned: the prompt's
  targets are -100 too, so the model is trained to answer, not to write questions.

`ResumableSampler` orders a dataset's items (shuffled, epoch after epoch) as a pure function of
(seed, position), so a trainer that stops at step s resumes exactly by starting the sampler at
the number of items already consumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..loss import IGNORE_INDEX  # the one constant; re-exported here for `from minigpt.data import IGNORE_INDEX`

# ---- packed windows --------------------------------------------------------------------------


class PackedDataset(Dataset):
    """Windows of a token stream (array or memmap): item k is (x, y), both int64 of length T,
    x = ids[s : s+T], y = ids[s+1 : s+T+1] with s = k * stride.

    stride = block_size (default) tiles the stream without overlap; stride = 1 makes every
    position a start, so a shuffled sampler gives the random windows of nanoGPT."""

    def __init__(self, ids, block_size: int, stride: int | None = None):
        self.ids = ids
        self.block_size = int(block_size)
        self.stride = int(stride or block_size)
        if self.block_size <= 0 or self.stride <= 0:
            raise ValueError(f"block_size and stride must be positive, got {block_size} and {stride}.")
        n = len(ids)
        if n < self.block_size + 1:
            raise ValueError(
                f"The token stream has {n} tokens, but one window needs block_size + 1 = {self.block_size + 1} "
                f"(T inputs and the target after the last). Fix: use block_size <= {max(n - 1, 0)}, or more text."
            )

    def __len__(self) -> int:
        return (len(self.ids) - self.block_size - 1) // self.stride + 1

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(f"window {k} out of range 0..{len(self) - 1}")
        s = k * self.stride
        chunk = torch.from_numpy(np.asarray(self.ids[s : s + self.block_size + 1]).astype(np.int64))
        return chunk[:-1], chunk[1:]


class ResumableSampler(Sampler[int]):
    """Indices 0..n-1 in a fresh random order each epoch, the order a function of (seed, epoch).

    The g-th index overall (g counts across epochs) is `index_at(g)`, so nothing but g needs
    saving to resume: build the sampler with `start` = items consumed so far. With several
    processes (DDP), rank r of w takes the global positions r, r+w, r+2w, ... of that order.
    `num_samples=None` runs forever; the trainer decides when to stop. Orders are reproducible
    for a given torch version (torch.randperm on a seeded CPU generator)."""

    def __init__(
        self,
        num_items: int,
        seed: int = 0,
        start: int = 0,
        shuffle: bool = True,
        num_samples: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ):
        if num_items <= 0:
            raise ValueError(f"Nothing to sample: the dataset has {num_items} items.")
        self.n, self.seed, self.start, self.shuffle = num_items, seed, start, shuffle
        self.num_samples, self.rank, self.world_size = num_samples, rank, world_size
        self._epoch, self._perm = None, None

    def index_at(self, g: int) -> int:
        epoch, offset = divmod(g, self.n)
        if not self.shuffle:
            return offset
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=gen), epoch
        assert self._perm is not None
        return int(self._perm[offset])

    def __iter__(self) -> Iterator[int]:
        i = self.start
        while self.num_samples is None or i < self.start + self.num_samples:
            yield self.index_at(i * self.world_size + self.rank)
            i += 1

    def __len__(self) -> int:
        if self.num_samples is None:
            raise TypeError("An endless ResumableSampler has no length; pass num_samples to give it one.")
        return self.num_samples


# ---- variable-length examples, padding, answer-only masks ----------------------------------


def shift(ids: Sequence[int], loss_mask: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """(input_ids, targets) = (ids[:-1], ids[1:]), with targets -100 where loss_mask[1:] is 0.

    loss_mask[j] = 1 means "token j is something to learn to predict" (from tokens before it)."""
    ids = [int(i) for i in ids]
    targets = ids[1:]
    if loss_mask is not None:
        if len(loss_mask) != len(ids):
            raise ValueError(f"loss_mask has {len(loss_mask)} entries for {len(ids)} ids.")
        targets = [y if m else IGNORE_INDEX for y, m in zip(targets, loss_mask[1:], strict=True)]
    return ids[:-1], targets


class ExampleDataset(Dataset):
    """Separate token sequences (id lists, or (ids, loss_mask) tuples), returned already shifted:
    item = {"input_ids": LongTensor (L-1,), "targets": LongTensor (L-1,)}.

    Sequences longer than max_len + 1 are cut to max_len + 1 (a model with context max_len
    sees max_len inputs); one left with nothing to learn is dropped and counted in `dropped`."""

    def __init__(self, examples: Iterable, max_len: int | None = None):
        self.items, self.dropped = [], 0
        for ex in examples:
            pair = isinstance(ex, tuple) and len(ex) == 2 and not isinstance(ex[0], (int, np.integer))
            ids, mask = ex if pair else (ex, None)
            ids = list(ids)
            mask = list(mask) if mask is not None else [1] * len(ids)
            if max_len is not None:
                ids, mask = ids[: max_len + 1], mask[: max_len + 1]
            x, y = shift(ids, mask)
            if not any(label != IGNORE_INDEX for label in y):
                self.dropped += 1
                continue
            self.items.append((x, y))
        if not self.items:
            raise ValueError(
                f"No example has anything to learn ({self.dropped} dropped: shorter than 2 tokens, or the "
                f"learned part was cut off by max_len={max_len}). Fix: raise max_len or check the data."
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        x, y = self.items[k]
        return {"input_ids": torch.tensor(x, dtype=torch.long), "targets": torch.tensor(y, dtype=torch.long)}


class PadCollate:
    """Batch examples of different lengths: pad on the right to the longest (or a multiple of
    `pad_to_multiple_of`), targets -100 and attention_mask 0 on padding. Examples with
    Hugging Face `labels` (unshifted) instead of `targets` are padded the same way, under that name.

    Right padding keeps every real token at its own position 0, 1, 2, ... and, with causal
    attention, no real token ever looks at a pad; the -100 targets keep pads out of the loss."""

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None):
        self.pad_id, self.multiple = pad_id, pad_to_multiple_of

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        longest = max(len(ex["input_ids"]) for ex in examples)
        if self.multiple:
            longest = -(-longest // self.multiple) * self.multiple
        key = target_key(examples[0])
        batch = {
            "input_ids": torch.full((len(examples), longest), self.pad_id, dtype=torch.long),
            key: torch.full((len(examples), longest), IGNORE_INDEX, dtype=torch.long),
            "attention_mask": torch.zeros((len(examples), longest), dtype=torch.long),
        }
        for row, ex in enumerate(examples):
            n = len(ex["input_ids"])
            batch["input_ids"][row, :n] = torch.as_tensor(ex["input_ids"])
            batch[key][row, :n] = torch.as_tensor(ex[key])
            batch["attention_mask"][row, :n] = 1
        return batch


def target_key(example: dict) -> str:
    """ "targets" (already shifted) or "labels" (Hugging Face's, shifted inside): which one an
    example or batch carries."""
    for key in ("targets", "labels"):
        if key in example:
            return key
    raise ValueError(
        f"An example needs 'targets' (already shifted, as the datasets here make them) or 'labels' "
        f"(Hugging Face's: the input ids, shifted inside); it has {sorted(example)}."
    )


def collate(items: list) -> dict[str, torch.Tensor]:
    """The trainer's default batching: (x, y) windows are stacked as input_ids and targets; dict
    examples of different lengths are padded (PadCollate). Equal-length batches get no
    attention_mask, so attention keeps its fast causal path."""
    if isinstance(items[0], dict):
        if len({len(it["input_ids"]) for it in items}) == 1 and "attention_mask" not in items[0]:
            keys = ("input_ids", target_key(items[0]))
            return {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in keys}
        return PadCollate(pad_id=0)(items)
    xs, ys = zip(*items, strict=True)
    return {"input_ids": torch.stack(xs), "targets": torch.stack(ys)}


def chat_example(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """ChatML, as Qwen and MiniMind write it:

        <|im_start|>user\\n{question}<|im_end|>\\n<|im_start|>assistant\\n{answer}<|im_end|>\\n

    Returns (ids, loss_mask): 1 on each assistant reply and its <|im_end|> (so the model learns
    to stop), 0 on everything else. The pieces are encoded one by one so the mask boundaries
    are exact; for ordinary text this equals encoding the whole string at once."""
    ids, mask = [], []
    for m in messages:
        if m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
            raise ValueError(f"A chat message needs role system/user/assistant and string content, got {m!r}.")
        head = tokenizer.encode(f"<|im_start|>{m['role']}\n")
        body = tokenizer.encode(m["content"]) + [tokenizer.im_end_id]
        tail = tokenizer.encode("\n")
        learn = 1 if m["role"] == "assistant" else 0
        ids += head + body + tail
        mask += [0] * len(head) + [learn] * len(body) + [0] * len(tail)
    return ids, mask


def chat_prompt_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The ids a chat model continues from: the conversation so far + '<|im_start|>assistant\\n'."""
    ids, _ = chat_example(tokenizer, messages) if messages else ([], [])
    return ids + tokenizer.encode("<|im_start|>assistant\n")


def prompt_answer_example(tokenizer, prompt: str, answer: str, chat: bool = True) -> tuple[list[int], list[int]]:
    """One question/answer pair. chat=True: the ChatML template above. chat=False: plain
    `prompt + answer<|endoftext|>` (e.g. "...? Answer:" + " 7."), learning answer and end."""
    if chat:
        return chat_example(tokenizer, [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}])
    p = [tokenizer.eos_id] + tokenizer.encode(prompt)
    a = tokenizer.encode(answer) + [tokenizer.eos_id]
    return p + a, [0] * len(p) + [1] * len(a)


class SFTDataset(ExampleDataset):
    """Supervised fine-tuning data where only answers are learned.

    `data` items may be (prompt, answer) tuples, {"prompt": ..., "answer": ...} dicts, or
    {"conversations"/"messages": [{"role", "content"}, ...]} chats (MiniMind's SFT format)."""

    def __init__(self, tokenizer, data: Iterable, max_len: int = 512, chat: bool = True):
        def examples():
            for k, item in enumerate(data):
                if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(s, str) for s in item):
                    yield prompt_answer_example(tokenizer, item[0], item[1], chat)
                elif isinstance(item, dict) and "prompt" in item and "answer" in item:
                    yield prompt_answer_example(tokenizer, item["prompt"], item["answer"], chat)
                elif isinstance(item, dict) and ("conversations" in item or "messages" in item):
                    yield chat_example(tokenizer, item.get("conversations") or item.get("messages") or [])
                else:
                    raise ValueError(
                        f"SFT item {k} is {str(item)[:80]!r}. Fix: use (prompt, answer), "
                        f'{{"prompt": ..., "answer": ...}} or {{"conversations": [{{"role": ..., "content": ...}}]}}.'
                    )

        super().__init__(examples(), max_len=max_len)
