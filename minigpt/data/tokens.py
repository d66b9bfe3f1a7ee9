"""Real text to a flat file of token ids, read back as a `np.memmap`.

Pretraining sees one long stream of ids, documents separated by `<|endoftext|>`. Writing it
once to disk and memory-mapping it means a corpus far larger than RAM trains the same way as
the generated course corpus: a window is a slice of the file, read when it is used.

Inputs: `.txt` files (a file is one document; a literal `<|endoftext|>` inside it also
separates documents) and `.jsonl` files with one `{"text": ...}` object per line (the MiniMind
pretraining format; a line is one document). Files are read line by line and encoded in
batches of about `chunk_bytes`, so memory stays bounded.

On disk: `name.bin` (raw ids, uint16 when every id fits in 16 bits, i.e. vocabulary <= 65536,
else uint32) and `name.bin.json` (dtype, count, tokenizer hash, sources). The sidecar makes
loading unambiguous: no guessing the dtype, and ids from another tokenizer are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

FORMAT = "minigpt-tokens-1"
SUFFIXES = (".txt", ".jsonl")


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned type that holds ids 0..vocab_size-1."""
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def encode_documents(tokenizer, docs: Iterable[str]) -> np.ndarray:
    """The stream `<|endoftext|>doc<|endoftext|>doc ... <|endoftext|>` as an in-memory array,
    equal to `tokenizer.encode(corpus.text)` but encoded per document in parallel."""
    docs = list(docs)
    eos = tokenizer.eos_id
    out = [eos]
    for ids in tokenizer.encode_batch(docs):
        out.extend(ids)
        out.append(eos)
    return np.array(out, dtype=token_dtype(tokenizer.vocab_size))


def find_files(paths) -> list[Path]:
    """Expand files and folders (recursively, sorted) into the .txt/.jsonl files to read."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(
                f"{p} does not exist. Fix: check the path; pass .txt or .jsonl files, or a folder of them."
            )
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
            if not found:
                raise ValueError(
                    f"The folder {p} holds no .txt or .jsonl files. Fix: point at a folder with text files."
                )
            files += found
        elif p.suffix in SUFFIXES:
            files.append(p)
        else:
            raise ValueError(
                f"{p}: unsupported file type {p.suffix!r}. Fix: use .txt (plain UTF-8 text) or .jsonl "
                f'(one {{"text": "..."}} object per line).'
            )
    if not files:
        raise ValueError("No input files given. Fix: pass at least one .txt or .jsonl path.")
    return files


def _lines(path: Path) -> Iterator[tuple[int, str, int]]:
    """(line number, decoded line, byte count), with a UTF-8 error that says where and how to fix."""
    offset = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}, line {lineno}: byte 0x{raw[e.start]:02X} at byte offset {offset + e.start} "
                    f"is not valid UTF-8 ({e.reason}). Fix: convert the file to UTF-8, e.g. "
                    f"`iconv -f GB18030 -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}` for Chinese "
                    f"text saved as GBK."
                ) from None
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]  # a byte-order mark is an encoding detail, not text
            offset += len(raw)
            yield lineno, line, len(raw)


def _solid(c: str) -> bool:
    return c.isprintable() and not c.isspace()


def _txt_pieces(path: Path, chunk_bytes: int) -> Iterator[tuple[str, int]]:
    """Pieces of a text file to encode separately, cut only where that cannot change the ids.

    Byte-level BPE pre-tokenizes on whitespace runs, so a cut inside a run ("\\n\\n", "  \\n")
    would split a token. A cut after "x\\n" and before a non-space character is safe: the same
    pre-tokens arise either way. (A file with no such place is read whole.)"""
    buf, size, prev = [], 0, ""
    for _, line, nbytes in _lines(path):
        if size >= chunk_bytes and len(prev) >= 2 and prev[-1] == "\n" and _solid(prev[-2]) and _solid(line[:1] or " "):
            yield "".join(buf), size
            buf, size = [], 0
        buf.append(line)
        size += nbytes
        prev = line
    if buf:
        yield "".join(buf), size


def _jsonl_docs(path: Path) -> Iterator[tuple[str, int]]:
    for lineno, line, nbytes in _lines(path):
        if not line.strip():
            yield "", nbytes
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{path}, line {lineno}: not valid JSON ({e.msg} at column {e.colno}). "
                f'Fix: one JSON object per line, like {{"text": "..."}}.'
            ) from None
        if not isinstance(obj, dict) or "text" not in obj:
            keys = list(obj) if isinstance(obj, dict) else type(obj).__name__
            raise ValueError(
                f'{path}, line {lineno}: no "text" field (found {keys}). Fix: each line must be an object '
                f'with the document in "text", like {{"text": "..."}} (the MiniMind pretraining format).'
            )
        if not isinstance(obj["text"], str):
            raise ValueError(f'{path}, line {lineno}: "text" is a {type(obj["text"]).__name__}, not a string.')
        yield obj["text"], nbytes


def tokenize_files(paths, tokenizer, out_path, *, chunk_bytes: int = 1 << 20, progress: bool = True) -> dict:
    """Encode .txt/.jsonl files into `out_path` (flat ids) + `out_path.json` (sidecar).

    Each document is followed by <|endoftext|>, and the stream starts with one, as in the
    course corpus. Returns the sidecar dict. Errors name the file and line, and the fix."""
    files = find_files(paths)
    sources = source_fingerprints(files)  # before reading: a file edited meanwhile is re-tokenized next time
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(tokenizer.vocab_size)
    eos = tokenizer.eos_id
    count, documents = 0, 0
    bar = tqdm(
        total=sum(f.stat().st_size for f in files), unit="B", unit_scale=True, desc="tokenizing", disable=not progress
    )

    try:
        with open(out_path, "wb") as out:

            def write(ids):
                nonlocal count
                out.write(np.asarray(ids, dtype=dtype).tobytes())
                count += len(ids)

            def flush(texts, nbytes, eos_after_each):
                for ids in tokenizer.encode_batch(texts) if texts else []:
                    write(ids + [eos] if eos_after_each else ids)
                bar.update(nbytes)

            write([eos])
            for f in files:
                texts, nbytes = [], 0
                if f.suffix == ".txt":  # one document, encoded in pieces of a batch in parallel
                    pieces = 0
                    for text, n in _txt_pieces(f, max(chunk_bytes // 16, 1)):
                        texts.append(text)
                        nbytes += n
                        pieces += 1
                        if nbytes >= chunk_bytes:
                            flush(texts, nbytes, False)
                            texts, nbytes = [], 0
                    flush(texts, nbytes, False)
                    if pieces:
                        write([eos])
                        documents += 1
                else:  # one document per line
                    for text, n in _jsonl_docs(f):
                        nbytes += n
                        if text:
                            texts.append(text)
                            documents += 1
                        if nbytes >= chunk_bytes:
                            flush(texts, nbytes, True)
                            texts, nbytes = [], 0
                    flush(texts, nbytes, True)
    except BaseException:  # a full disk, a bad line, Ctrl-C: no partial token file is left taking the space
        bar.close()
        out_path.unlink(missing_ok=True)
        raise
    bar.close()
    if documents == 0:
        out_path.unlink()
        raise ValueError(
            f'No text found in {[str(f) for f in files]} (empty files or empty "text" fields). '
            f"Fix: check that the files hold text."
        )
    meta = {
        "format": FORMAT,
        "dtype": dtype.name,
        "count": count,
        "documents": documents,
        "vocab_size": tokenizer.vocab_size,
        "eos_id": eos,
        "tokenizer_sha256": tokenizer.sha256,
        "sources": sources,
    }
    Path(str(out_path) + ".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


def source_fingerprints(files) -> list[dict]:
    """Path, size and SHA-256 of each file: what a token file records about its sources, so a
    cache is reused only for the very same bytes (an edit that keeps the size is caught too)."""
    out = []
    for f in files:
        digest = hashlib.sha256()
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out.append({"path": str(f), "bytes": f.stat().st_size, "sha256": digest.hexdigest()})
    return out


def tokens_up_to_date(token_file, source, tokenizer) -> bool:
    """True when token_file was made from these files (same paths, sizes and SHA-256 of the
    contents) by this tokenizer: tokenizing them again would give the same file."""
    token_file = Path(token_file)
    side = Path(str(token_file) + ".json")
    if not (token_file.is_file() and side.is_file()):
        return False
    meta = json.loads(side.read_text(encoding="utf-8"))
    if meta.get("tokenizer_sha256") != tokenizer.sha256:
        return False
    files = find_files(source)
    recorded = meta.get("sources") or []
    if [(r.get("path"), r.get("bytes")) for r in recorded] != [(str(f), f.stat().st_size) for f in files]:
        return False  # cheap check first: hashing is needed only when paths and sizes agree
    return recorded == source_fingerprints(files)


def save_tokens(ids: np.ndarray, out_path, tokenizer) -> dict:
    """Write an in-memory id array (e.g. `encode_documents(tok, corpus.docs)`) as a token file."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(tokenizer.vocab_size)
    ids = np.asarray(ids)
    # Not ndarray.tofile: on a full disk it says only "N requested and M written", with no errno to
    # tell it from another failure; Python's write says ENOSPC (issue 23).
    with open(out_path, "wb") as out:
        out.write(ids.astype(dtype).tobytes())
    meta = {
        "format": FORMAT,
        "dtype": dtype.name,
        "count": int(ids.size),
        "documents": int((ids == tokenizer.eos_id).sum()) - 1,
        "vocab_size": tokenizer.vocab_size,
        "eos_id": tokenizer.eos_id,
        "tokenizer_sha256": tokenizer.sha256,
        "sources": [],
    }
    Path(str(out_path) + ".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


def load_tokens(path, tokenizer=None) -> np.memmap:
    """Memory-map a token file written by `tokenize_files`; refuse one made by another tokenizer."""
    path = Path(path)
    side = Path(str(path) + ".json")
    if not path.is_file():
        raise FileNotFoundError(f"No token file at {path}. Fix: create it with minigpt.data.tokenize_files(...).")
    if not side.is_file():
        raise FileNotFoundError(
            f"{path} has no sidecar {side.name}, so its dtype and tokenizer are unknown. "
            f"Fix: re-create it with minigpt.data.tokenize_files(...)."
        )
    meta = json.loads(side.read_text(encoding="utf-8"))
    dtype = np.dtype(meta["dtype"])
    expected = meta["count"] * dtype.itemsize
    if path.stat().st_size != expected:
        raise ValueError(
            f"{path} holds {path.stat().st_size} bytes but its sidecar says {meta['count']} x {dtype.name} = "
            f"{expected} bytes: the file is truncated or from another run. Fix: tokenize again."
        )
    if tokenizer is not None and meta["tokenizer_sha256"] != tokenizer.sha256:
        raise ValueError(
            f"{path} was made with tokenizer {meta['tokenizer_sha256'][:12]}, not with this one "
            f"({tokenizer.sha256[:12]}): its ids would decode to the wrong text. Fix: load the tokenizer "
            f"it was made with, or tokenize again."
        )
    return np.memmap(path, dtype=dtype, mode="r", shape=(meta["count"],))


def iter_texts(paths, chunk_bytes: int = 1 << 20) -> Iterator[str]:
    """The text of .txt/.jsonl files as an iterator of strings, e.g. to train a tokenizer on a
    corpus larger than memory: `Tokenizer.train(iter_texts("data/"), 6400)`. Same reading and
    the same errors as `tokenize_files`; long .txt files come in pieces cut between lines."""
    for f in find_files(paths):
        if f.suffix == ".txt":
            for text, _ in _txt_pieces(f, chunk_bytes):
                yield text
        else:
            for text, _ in _jsonl_docs(f):
                if text:
                    yield text
