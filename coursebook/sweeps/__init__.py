"""The chapters' training sweeps, each one recorded command that writes the JSON a chapter plots.

    coursebook sweep heads    chapter 5: 1 to 16 heads at one width, then GQA and MQA (sweeps/heads.py)
    coursebook sweep scale    chapter 9: loss against model size and token budget (sweeps/scale.py)
    coursebook sweep training chapter 7: learning rate, schedule and clipping (sweeps/training.py)
    coursebook sweep gqa      chapter 5: MHA, GQA and MQA, three seeds each (sweeps/gqa.py)
    coursebook sweep positions chapter 6: RoPE, ALiBi and NoPE read past their training length (sweeps/positions.py)
    coursebook sweep scale_lr chapter 9: the largest sizes at lower learning rates (sweeps/scale_lr.py)

`make sweep-heads` and `make sweep-scale` run them niced, with the output paths the chapters
read (minigpt/assets/experiments/, shipped with the package so Colab has them too).
"""

from __future__ import annotations

import importlib
import platform
import shlex
import sys
import time

import torch
from minigpt import MiniGPT, ModelConfig, TrainConfig, Trainer
from minigpt.data import PackedDataset, make_course_corpus

SWEEPS = {
    "heads": "chapter 5: how many heads, and how many key/value heads, at the same width",
    "scale": "chapter 9: validation loss against model size and token budget",
    "gqa": "chapter 5: multi-head, grouped-query and multi-query attention, three seeds each",
    "training": "chapter 7: learning rate, schedule (cosine, WSD, constant) and clipping, three seeds each",
    "positions": "chapter 6: RoPE, ALiBi and NoPE trained alike, read past their training length, three seeds",
    "scale_lr": "chapter 9: why the largest sizes lose: their matrices' learning rate",
}


def corpus_tokens(tokenizer, size_bytes: int, seed: int):
    """The course corpus (generated) encoded with the course tokenizer: one flat id tensor, and
    the corpus's sha256."""
    corpus = make_course_corpus(size_bytes, seed=seed)
    ids = [tokenizer.eos_id]
    for doc in corpus.docs:
        ids += tokenizer.encode(doc) + [tokenizer.eos_id]
    return torch.tensor(ids), corpus.sha256


def course_corpora(tokenizer, train_bytes: int, val_bytes: int):
    """The sweeps' training corpus (corpus seed 0) and validation corpus (seed 1), encoded, and the
    record of both that every sweep's JSON keeps under "corpus": (train_ids, val_ids, record)."""
    train_ids, train_hash = corpus_tokens(tokenizer, train_bytes, seed=0)
    val_ids, val_hash = corpus_tokens(tokenizer, val_bytes, seed=1)
    record = {
        "train": {"size_bytes": train_bytes, "seed": 0, "sha256": train_hash, "tokens": len(train_ids)},
        "val": {"size_bytes": val_bytes, "seed": 1, "sha256": val_hash, "tokens": len(val_ids)},
        "tokenizer_sha256": tokenizer.sha256,
    }
    return train_ids, val_ids, record


def train(model_kw: dict, config: TrainConfig, block: int, train_ids, val_ids, optimizer=None):
    """One model of the sweep, built from seed `config.seed` and trained on windows of `block`
    tokens; returns (model in eval mode, its history, seconds). `optimizer(model, config)`, if
    given, replaces the trainer's AdamW (a recipe with its own parameter groups)."""
    torch.manual_seed(config.seed)
    model = MiniGPT(ModelConfig(**model_kw))
    trainer = Trainer(model, config, PackedDataset(train_ids, block), PackedDataset(val_ids, block))
    if optimizer is not None:
        trainer.optimizer = optimizer(model, config)
    start = time.perf_counter()
    trainer.train()
    return model.eval(), trainer.history, time.perf_counter() - start


def command_line(sweep: str, argv: list[str] | None) -> str:
    """The command that ran this sweep, as recorded in its JSON."""
    return shlex.join(["coursebook", "sweep", sweep, *(sys.argv[3:] if argv is None else argv)])


def run_record(command: str) -> dict:
    """What every sweep's JSON records of its run first: the command, when, on what CPU and torch."""
    return {
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": f"cpu ({platform.machine()}, {torch.get_num_threads()} thread(s), kernels "
        f"{torch.backends.cpu.get_cpu_capability()})",
        "torch": torch.__version__,
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in SWEEPS:
        lines = [f"  {name:<9} {help_}" for name, help_ in SWEEPS.items()]
        print("usage: coursebook sweep {" + ",".join(SWEEPS) + "} [--help] ...\n\n" + "\n".join(lines))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown sweep {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    return importlib.import_module(f"{__name__}.{argv[0]}").main(argv[1:])
