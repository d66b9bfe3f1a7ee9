"""Byte-level BPE: text <-> token ids, trained with Hugging Face `tokenizers`.

Byte-level means the base alphabet is the 256 byte values, so *any* Unicode text encodes and
decodes back exactly (no unknown token); BPE merges frequent neighbouring pieces into new
tokens until the vocabulary reaches `vocab_size`. The saved `tokenizer.json` is the same file
`transformers.PreTrainedTokenizerFast(tokenizer_file=...)` loads, and it encodes identically.

Two choices worth knowing:

- Special tokens `<|endoftext|>` (id 0, separates documents, also used as padding),
  `<|im_start|>` and `<|im_end|>` (id 1, 2, the ChatML chat template of Qwen and MiniMind).
  When their text appears in the input it is encoded as the single special id.
- `split_cjk=True` (default) cuts text before every Chinese character, so a merge never
  crosses a character boundary. Without it, GPT-2's pre-tokenizer treats a whole Chinese
  clause ("我是小红") as one word, and on a small templated corpus BPE glues template and name
  into one token -- the model could then no longer see the name "小红" as the same thing in
  "我是小红" and "我叫小红". English words keep their leading space (" Susan") either way.

For display, `tokens(text)` and `id_to_token(i)` turn each token's bytes back into text:
Chinese shows as Chinese, a space as a space; a byte that is only part of a UTF-8 character
(possible for rare characters split across tokens) shows as `<0xE4>`. For whole characters
`"".join(tok.tokens(text)) == text`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as _HFTokenizer

EOS = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (EOS, IM_START, IM_END)
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)  # every byte + the special tokens, before any merge

_SPECIAL_SPLIT = re.compile("|".join(re.escape(s) for s in SPECIAL_TOKENS))


def _byte_level_chars() -> dict[str, int]:
    """GPT-2's printable stand-in character for each byte ('Ġ' is the space), inverted."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


_CHAR_TO_BYTE = _byte_level_chars()


def _readable(raw: bytes) -> str:
    """Decode whole UTF-8 characters; show each stray byte of a partial character as <0xNN>."""
    out, i = [], 0
    while i < len(raw):
        for n in (1, 2, 3, 4):  # a valid character decodes at exactly its own length
            try:
                out.append(raw[i : i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"<0x{raw[i]:02X}>")
            i += 1
    return "".join(out)


class Tokenizer:
    """A thin wrapper over `tokenizers.Tokenizer` with the few calls the course uses."""

    def __init__(self, tk: _HFTokenizer):
        self.tk = tk
        for s in SPECIAL_TOKENS:
            if tk.token_to_id(s) is None:
                raise ValueError(f"This tokenizer has no {s!r} token; minigpt needs {list(SPECIAL_TOKENS)}.")
        self.eos_id = tk.token_to_id(EOS)
        self.im_start_id = tk.token_to_id(IM_START)
        self.im_end_id = tk.token_to_id(IM_END)
        self.pad_id = self.eos_id  # padding positions are masked out, so any id works; eos is common

    # ---- training, loading, saving ------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 4096,
        *,
        min_frequency: int = 2,
        split_cjk: bool = True,
        show_progress: bool = False,
    ) -> Tokenizer:
        """Learn byte-level BPE merges from an iterable of documents.

        Special-token strings inside the texts are cut out before counting, so no merges are
        wasted on pieces of '<|endoftext|>'. The result can have fewer than `vocab_size` ids
        when the text has fewer pairs worth merging (seen at least `min_frequency` times).
        """
        if not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size={vocab_size!r} is too small: a byte-level BPE needs 256 byte tokens plus "
                f"{len(SPECIAL_TOKENS)} special tokens {list(SPECIAL_TOKENS)} = {MIN_VOCAB_SIZE} ids before "
                f"any merge. Use vocab_size >= {MIN_VOCAB_SIZE} (the course model uses 4096)."
            )
        if isinstance(texts, str):
            texts = [texts]
        seen = [0]

        def pieces():
            for text in texts:
                for part in _SPECIAL_SPLIT.split(text):
                    if part:
                        seen[0] += 1
                        yield part

        tk = _HFTokenizer(models.BPE())
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if split_cjk:
            cjk = pre_tokenizers.Split(Regex(r"\p{Han}"), behavior="isolated")
            tk.pre_tokenizer = pre_tokenizers.Sequence([cjk, byte_level])
        else:
            tk.pre_tokenizer = byte_level
        tk.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=show_progress,
        )
        tk.train_from_iterator(pieces(), trainer=trainer)
        if seen[0] == 0:
            raise ValueError("Tokenizer.train got no text: pass a non-empty list (or iterator) of strings.")
        return cls(tk)

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        """Load a `tokenizer.json` (or a folder that contains one)."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"No tokenizer file at {path}. Pass the path of a tokenizer.json written by "
                f"Tokenizer.save (or a folder containing one)."
            )
        try:
            # utf-8-sig: a byte-order mark (some Windows editors write one) is an encoding detail, not JSON
            tk = _HFTokenizer.from_str(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not UTF-8 text ({e}): not a tokenizer.json, or a damaged one.") from None
        except Exception as e:  # the Rust side raises a bare Exception ("EOF while parsing ...")
            raise ValueError(
                f"{path} is not a valid tokenizer.json ({e}). The file is damaged, cut off or of another kind: "
                f"copy it again, or write it with Tokenizer.save."
            ) from None
        return cls(tk)

    def save(self, path: str | Path) -> Path:
        """Write `tokenizer.json` (a folder path gets `folder/tokenizer.json`)."""
        path = Path(path)
        if path.is_dir() or path.suffix != ".json":
            path.mkdir(parents=True, exist_ok=True)
            path = path / "tokenizer.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    def save_pretrained(self, folder: str | Path, model_max_length: int = 512) -> Path:
        """Write tokenizer.json + tokenizer_config.json, so `AutoTokenizer.from_pretrained(folder)`
        of transformers loads it (with the ChatML chat template of Qwen/MiniMind)."""
        folder = Path(folder)
        self.save(folder / "tokenizer.json")
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": None,
            "eos_token": EOS,
            "pad_token": EOS,
            "unk_token": None,
            "additional_special_tokens": [IM_START, IM_END],
            "model_max_length": model_max_length,
            "clean_up_tokenization_spaces": False,
            "chat_template": (
                "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
            ),
        }
        (folder / "tokenizer_config.json").write_text(
            json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return folder

    def to_json(self) -> str:
        return self.tk.to_str(pretty=True)

    @property
    def sha256(self) -> str:
        """Hash of the serialized tokenizer: recorded next to token files and checkpoints so a
        mismatch (ids from one tokenizer, decoded with another) is caught, not silently wrong."""
        return hashlib.sha256(self.tk.to_str().encode("utf-8")).hexdigest()

    # ---- text <-> ids -------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size(with_added_tokens=True)

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> list[int]:
        """Text to ids. No BOS/EOS is added: the data pipeline places separators itself."""
        if not isinstance(text, str):
            raise TypeError(
                f"Tokenizer.encode takes a str, got {type(text).__name__} ({text!r:.40}); "
                f"for many texts use encode_batch(list of str)."
            )
        try:
            return self.tk.encode(text, add_special_tokens=False).ids
        except Exception as e:  # lone surrogates ('\ud800') are not Unicode scalar values
            raise ValueError(
                f"Cannot encode {text[:40]!r}: {e}. The text must be valid Unicode (no lone surrogates)."
            ) from e

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Many texts at once; the Rust side runs them in parallel threads."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer.encode_batch takes a list of str; for one text use encode(text).")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(
                f"Tokenizer.encode_batch takes a list of str; item {bad[0]} is a {type(texts[bad[0]]).__name__}."
            )
        return [e.ids for e in self.tk.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids) -> str:
        """Ids to text, special tokens included, so decode(encode(t)) == t for any text. One
        sequence (a list, a 1-D tensor or array); a batch of them goes to batch_decode."""
        ndim = getattr(ids, "ndim", None)  # a tensor or an array says; a list is looked into
        if isinstance(ids, int) or ndim == 0:
            ids = [ids]
        elif (ndim is not None and ndim != 1) or (ndim is None and any(isinstance(i, (list, tuple)) for i in ids)):
            shape = tuple(ids.shape) if ndim is not None else f"{len(ids)} sequences"
            raise ValueError(
                f"Tokenizer.decode takes one sequence of ids; this is a batch ({shape}), as generate returns for "
                f"batched or 2-D input. Decode each row with tok.batch_decode(ids) (a list of texts), or "
                f"tok.decode(ids[0]) for the first."
            )
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"Token ids {bad[:5]} are outside this tokenizer's range 0..{self.vocab_size - 1}.")
        return self.tk.decode(ids, skip_special_tokens=False)

    def batch_decode(self, batch) -> list[str]:
        """Many sequences (a list of lists, or a 2-D tensor: generate's output for a batch) to texts."""
        return [self.decode(row) for row in batch]

    # ---- display ------------------------------------------------------------------------

    def token_bytes(self, i: int) -> bytes:
        """The exact bytes token `i` stands for (a special token: its UTF-8 text)."""
        raw = self.tk.id_to_token(int(i))
        if raw is None:
            raise ValueError(f"Token id {i} is outside this tokenizer's range 0..{self.vocab_size - 1}.")
        if raw in SPECIAL_TOKENS:
            return raw.encode("utf-8")
        return bytes(_CHAR_TO_BYTE[c] for c in raw)

    def id_to_token(self, i: int) -> str:
        """A readable string for token `i`: '你', ' Susan', '<|endoftext|>', or '<0xE4>' pieces."""
        return _readable(self.token_bytes(i))

    def token_to_id(self, token: str) -> int | None:
        """Inverse of id_to_token for tokens made of whole characters (None if not in the vocabulary)."""
        if token in SPECIAL_TOKENS:
            return self.tk.token_to_id(token)
        return self.tk.token_to_id("".join(_BYTE_TO_CHAR[b] for b in token.encode("utf-8")))

    def tokens(self, text: str) -> list[str]:
        """How `text` is cut into tokens, each shown readably (see `id_to_token`)."""
        return [self.id_to_token(i) for i in self.encode(text)]

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, eos_id={self.eos_id}, sha256={self.sha256[:12]})"


_BYTE_TO_CHAR = {b: c for c, b in _CHAR_TO_BYTE.items()}
