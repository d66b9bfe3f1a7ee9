"""Token ids -> text as they are generated, and stop strings checked on that text.

Streaming text is not "decode each token": a byte-level BPE token can hold part of a UTF-8
character, so the decoder must hold back an unfinished character until its last byte arrives.
Stop strings are matched on the decoded text (a stop string like "\n\n" may be one token, two,
or the end of a longer one), looking only at the newest text plus a short tail.
"""

from __future__ import annotations

import codecs


class TextStream:
    """Token ids in, text out, for one sequence, never cutting a character in half.

    A byte-level BPE token can hold part of a UTF-8 character (a Chinese character is 3 bytes and
    may be split over two tokens), so decoding token by token would print garbage. With a
    tokenizer that exposes `token_bytes` (minigpt's), bytes go through an incremental UTF-8
    decoder that holds back an unfinished character: exact and O(1) per token. Other tokenizers
    (anything with `decode`) use the windowed re-decoding of Hugging Face's TextStreamer."""

    def __init__(self, tokenizer, skip_ids=()):
        self.tokenizer, self.skip_ids = tokenizer, set(skip_ids)
        self.utf8 = (
            codecs.getincrementaldecoder("utf-8")(errors="replace") if hasattr(tokenizer, "token_bytes") else None
        )
        self.ids, self.prefix, self.read = [], 0, 0

    def push(self, token: int) -> str:
        if token in self.skip_ids:  # end-of-text is a signal, not text
            return ""
        if self.utf8 is not None:
            return self.utf8.decode(self.tokenizer.token_bytes(token))
        self.ids.append(token)
        before = self.tokenizer.decode(self.ids[self.prefix : self.read])
        after = self.tokenizer.decode(self.ids[self.prefix :])
        if after.endswith("\ufffd") or len(after) <= len(before):
            return ""  # an unfinished character: wait for the next token
        self.prefix, self.read = self.read, len(self.ids)
        return after[len(before) :]

    def flush(self) -> str:
        if self.utf8 is not None:
            return self.utf8.decode(b"", final=True)
        before = self.tokenizer.decode(self.ids[self.prefix : self.read])
        rest = self.tokenizer.decode(self.ids[self.prefix :])[len(before) :]
        self.prefix = self.read = len(self.ids)
        return rest


class TextStreams:
    """A TextStream per row, plus stop strings checked on the new text only.

    A stop string can only newly appear at the end of the text, straddling at most the last
    (longest stop string - 1) characters before the new piece, so each step searches just that
    tail + the new piece: constant work per token, however long the output grows."""

    def __init__(self, tokenizer, batch_size: int, stop_strings=None, skip_ids=()):
        if isinstance(stop_strings, str):
            stop_strings = [stop_strings]
        self.stop_strings = list(stop_strings or [])
        if any(not isinstance(s, str) or not s for s in self.stop_strings):
            raise ValueError(f"stop_strings must be non-empty strings, got {stop_strings!r}.")
        self.keep = max((len(s) for s in self.stop_strings), default=1) - 1
        self.streams = [TextStream(tokenizer, skip_ids) for _ in range(batch_size)]
        self.tails = [""] * batch_size

    def push(self, tokens: list[int], was_finished: list[bool], ends_now: list[bool], last: bool):
        """New text of each row and whether a stop string just appeared in it. A row that ends
        here (eos, stop string, or the last step) flushes its held-back bytes."""
        pieces, stopped = [], []
        for row, token in enumerate(tokens):
            if was_finished[row]:
                pieces.append("")
                stopped.append(False)
                continue
            piece = self.streams[row].push(token)
            window = self.tails[row] + piece
            hit = any(s in window for s in self.stop_strings)
            self.tails[row] = window[len(window) - self.keep :] if self.keep else ""
            if hit or ends_now[row] or last:
                piece += self.streams[row].flush()
            pieces.append(piece)
            stopped.append(hit)
        return pieces, stopped


def check_tokenizer(model, tokenizer) -> None:
    """A tokenizer must not know ids the model has no embedding for (they would crash or, worse,
    silently read another token's row). A model may have more rows than the tokenizer has ids
    (checkpoints pad the vocabulary to a round number, e.g. Qwen2.5: 151,936 rows, 151,665 ids).
    A model loaded from a folder that records its tokenizer's sha256 takes that tokenizer only: a
    smaller one fits by size and decodes the same ids as other text (issue 23)."""
    recorded = getattr(model, "tokenizer_sha256", None)
    ours = getattr(tokenizer, "sha256", None) if recorded else None
    if recorded and ours and recorded != ours:
        raise ValueError(
            f"This model was saved with tokenizer sha256 {recorded[:16]}..., but the tokenizer given is "
            f"{ours[:16]}...: the same ids would mean other text. Use the tokenizer from the model's folder "
            f"(Tokenizer.from_file(folder)), or the model trained with this tokenizer."
        )
    n, v = tokenizer.vocab_size, model.config.vocab_size
    if n > v:
        raise ValueError(
            f"The tokenizer has {n} ids but the model's vocab_size is {v}: they do not belong together "
            f"(ids >= {v} have no embedding). Load the tokenizer that was trained with this model."
        )
