"""A run's data, made ready to train on: corpus -> tokenizer -> token files -> (train, val) ids.

    prepared = prepare_course_data("runs/x", size_bytes=8_000_000, seed=0, val_fraction=0.02, vocab_size=4096)
    prepared = prepare_token_data("corpus/", "runs/x", tokenizer=tok, val_fraction=0.02)
    PackedDataset(prepared.train_ids, 256)

What lands in the run folder: `tokenizer.json` and `data/` (`train.bin` / `val.bin` for the
course corpus, `tokens.bin` for text files, each with its `.bin.json` sidecar, and
`data_info.json`, what was asked for and what was made). Work already done is reused: the course
data when the same options made it, a text token file when its sources (paths, sizes, SHA-256)
and tokenizer are unchanged.

Under torchrun every process calls the same function: the main one writes the files, the others
wait at `barrier()` and then memory-map them. `python -m minigpt train` (minigpt/cli/train.py) is
the command-line face of this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..tokenizer import Tokenizer
from .corpus import CORPUS_VERSION, make_course_corpus
from .tokens import encode_documents, load_tokens, save_tokens, tokenize_files, tokens_up_to_date

DATA_DIR = "data"
INFO_NAME = "data_info.json"
TOKENIZER_FILE = "tokenizer.json"


@dataclass
class PreparedData:
    """Token ids to train and evaluate on (arrays or memmaps), the tokenizer that made them
    (None for a token file given without one), and a JSON-able description for the run summary."""

    train_ids: np.ndarray
    val_ids: np.ndarray
    tokenizer: Tokenizer | None
    info: dict


class OtherDataError(ValueError):
    """The run folder's data was made with other options; remaking it would replace the tokenizer
    that the run's checkpoints were trained with."""


def _no_barrier() -> None:
    pass


def split_tail(ids, fraction: float, eos: int):
    """(train, val): val is the last `fraction` of the stream, starting at the document
    separator nearest the cut (or exactly at the cut when no document ends near it)."""
    n = len(ids)
    cut = int(n * (1 - fraction))
    reach = max(1, int(n * fraction / 2))
    lo = max(0, cut - reach)
    near = lo + np.flatnonzero(np.asarray(ids[lo : min(n - 1, cut + reach)]) == eos)
    if len(near):
        cut = int(near[np.argmin(np.abs(near - cut))])
    return ids[: cut + 1], ids[cut:]


def prepare_course_data(
    out_dir,
    *,
    size_bytes: int,
    seed: int,
    val_fraction: float,
    vocab_size: int,
    tokenizer: Tokenizer | None = None,
    tokenizer_file: str | None = None,
    keep_existing: bool = False,
    is_main: bool = True,
    barrier: Callable[[], None] = _no_barrier,
) -> PreparedData:
    """The generated course corpus, split by documents (the last `val_fraction` held out), encoded
    with `tokenizer` or with a byte-level BPE of `vocab_size` learned from the training documents.

    `tokenizer_file` is recorded as given (it is part of what makes the data). `keep_existing`
    (a resumed run): if out_dir's data was made with other options, raise OtherDataError instead
    of remaking it."""
    out = Path(out_dir)
    data_dir = out / DATA_DIR
    info_path = data_dir / INFO_NAME
    wanted = {
        "kind": "course",
        "version": CORPUS_VERSION,
        "size_bytes": size_bytes,
        "seed": seed,
        "val_fraction": val_fraction,
        "vocab_size": vocab_size,
        "tokenizer_given": tokenizer_file,
    }
    made = json.loads(info_path.read_text())["request"] if info_path.is_file() else None
    reuse = made is not None and {k: made.get(k) for k in wanted} == wanted
    if keep_existing and made is not None and not reuse:
        changed = {k: (made.get(k), v) for k, v in wanted.items() if made.get(k) != v}
        raise OtherDataError(
            f"{out} was made with other data options ("
            + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items())
            + "). Resume with the run's own options (--config "
            + str(out / "run_config.json")
            + ")."
        )
    if is_main and not reuse:
        corpus = make_course_corpus(size_bytes, seed=seed)
        n_val = max(1, round(len(corpus.docs) * val_fraction))
        train_docs, val_docs = corpus.docs[:-n_val], corpus.docs[-n_val:]
        if tokenizer is None:  # learned from the training documents only
            tokenizer = Tokenizer.train(train_docs, vocab_size=vocab_size)
        data_dir.mkdir(parents=True, exist_ok=True)
        tokenizer.save(out / TOKENIZER_FILE)
        save_tokens(encode_documents(tokenizer, train_docs), data_dir / "train.bin", tokenizer)
        save_tokens(encode_documents(tokenizer, val_docs), data_dir / "val.bin", tokenizer)
        corpus_info = corpus.info()
        corpus_info.update(
            train_documents=len(train_docs),
            val_documents=len(val_docs),
            split="the last val_fraction of the documents are held out",
        )
        info_path.write_text(json.dumps({"request": wanted, "corpus": corpus_info}, indent=2))
    barrier()
    tokenizer = Tokenizer.from_file(out / TOKENIZER_FILE)
    train_ids, val_ids = load_tokens(data_dir / "train.bin", tokenizer), load_tokens(data_dir / "val.bin", tokenizer)
    info = json.loads(info_path.read_text())
    return PreparedData(train_ids, val_ids, tokenizer, {"kind": "course", **info["corpus"]})


def prepare_token_data(
    data,
    out_dir,
    *,
    tokenizer: Tokenizer | None = None,
    val_data=None,
    val_fraction: float = 0.02,
    is_main: bool = True,
    barrier: Callable[[], None] = _no_barrier,
    progress: bool = True,
) -> PreparedData:
    """A token file (`.bin` with its sidecar), or .txt/.jsonl files or a folder encoded with
    `tokenizer` into out_dir/data/tokens.bin. Held out: `val_data` (a token file), else the tail
    of the stream (split_tail)."""
    out, path = Path(out_dir), Path(data)
    if path.suffix == ".bin":
        token_file = path
    else:  # text to tokenize
        if tokenizer is None:
            raise ValueError(f"{path} is text; pass the --tokenizer tokenizer.json to encode it with.")
        token_file = out / DATA_DIR / "tokens.bin"
        if is_main and not tokens_up_to_date(token_file, path, tokenizer):
            tokenize_files(path, tokenizer, token_file, progress=progress)
        barrier()
    ids = load_tokens(token_file, tokenizer)
    meta = json.loads(Path(str(token_file) + ".json").read_text())
    if val_data:
        train_ids, val_ids = ids, load_tokens(val_data, tokenizer)
    else:
        train_ids, val_ids = split_tail(ids, val_fraction, meta["eos_id"])
    if is_main and tokenizer is not None:
        tokenizer.save(out / TOKENIZER_FILE)
    info = {
        "kind": "tokens",
        "path": str(token_file),
        "source": str(path),
        "val_data": None if val_data is None else str(val_data),
        "tokens": meta["count"],
        "documents": meta.get("documents"),
        "tokenizer_sha256": meta["tokenizer_sha256"],
        "vocab_size": meta["vocab_size"],
        "sources": meta.get("sources", []),
    }
    return PreparedData(train_ids, val_ids, tokenizer, info)
