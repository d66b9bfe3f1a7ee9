"""Tokenizer speed on the course corpus: BPE training time and encoding throughput (MB/s).

    python benchmarks/bench_tokenizer.py            # 8 MB corpus, vocab 1024/4096/8192
    python benchmarks/bench_tokenizer.py --size-mb 2 --vocab 4096

Encoding is measured three ways, because they differ a lot on a few cores:
  encode(text)       the whole stream as one string: one thread
  encode_batch(docs) one string per document: the Rust side uses every core
  tokenize_files     the streaming .txt -> memmap path (read, encode in batches, write)
Best of --repeat runs; MB = 10^6 bytes of UTF-8 input. "got" is the vocabulary BPE reached:
a templated corpus runs out of pairs seen twice before a large vocab_size is reached.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from minigpt.data import make_course_corpus, tokenize_files
from minigpt.tokenizer import Tokenizer


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=8.0)
    ap.add_argument("--vocab", type=int, nargs="+", default=[1024, 4096, 8192])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}"
    )
    t = time.perf_counter()
    corpus = make_course_corpus(int(args.size_mb * 1e6))
    gen_s = time.perf_counter() - t
    text = corpus.text
    mb = len(text.encode("utf-8")) / 1e6
    print(
        f"corpus {corpus.version}: {mb:.2f} MB, {len(corpus.docs)} documents, generated in {gen_s:.2f} s, "
        f"sha256 {corpus.sha256[:16]}"
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = corpus.save(Path(tmp) / "course.txt")
        for vocab in args.vocab:
            train_s = best_time(lambda vocab=vocab: Tokenizer.train(corpus.docs, vocab_size=vocab), 1)
            tok = Tokenizer.train(corpus.docs, vocab_size=vocab)
            n_tokens = len(tok.encode(text))
            single = best_time(lambda tok=tok: tok.encode(text), args.repeat)
            batch = best_time(lambda tok=tok: tok.encode_batch(corpus.docs), args.repeat)
            files = best_time(
                lambda tok=tok: tokenize_files(path, tok, Path(tmp) / "t.bin", progress=False), args.repeat
            )
            rows.append(
                (f"{vocab} ({tok.vocab_size})", train_s, n_tokens / (mb * 1e6), mb / single, mb / batch, mb / files)
            )

    print()
    print(
        "| vocab asked (got) | train (s) | tokens/byte | encode(text) MB/s | encode_batch MB/s | tokenize_files MB/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for vocab, train_s, tpb, s, b, f in rows:
        print(f"| {vocab} | {train_s:.2f} | {tpb:.3f} | {s:.2f} | {b:.2f} | {f:.2f} |")
    base = rows[0][3]
    print(f"\nencode_batch / encode(text) at vocab {rows[0][0]}: {rows[0][4] / base:.2f}x")


if __name__ == "__main__":
    main()
