"""The shipped course model: load it, measure it on the held-out probes, write its model card.

The model in minigpt/assets/course-model was trained by one recorded command (`make
course-model`, see the Makefile): the trainer on the generated course corpus, exported in
bf16, then measured here. Loading needs no download: the files are package data.

    python -m minigpt card --model DIR --run RUN_DIR   # probes -> DIR/model_card.json (minigpt/cli/card.py)
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import cast

import torch

from .data.probes import course_probes, evaluate_probes, probe_ids
from .generate import generate
from .model import MiniGPT
from .tokenizer import Tokenizer

COURSE_MODEL_DIR = Path(__file__).parent / "assets" / "course-model"
CARD_NAME = "model_card.json"


def load_course_model(device=None, dtype: torch.dtype | None = None, path: str | Path | None = None):
    """(model, tokenizer) of the shipped course model, in eval mode; fp32 unless `dtype` says."""
    folder = Path(path) if path else COURSE_MODEL_DIR
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"No course model in {folder}. It ships with the package (minigpt/assets/course-model); "
            f"in a clone of the repository, `make course-model` trains and exports it."
        )
    model = MiniGPT.from_pretrained(folder, device=device, dtype=dtype)
    return model, Tokenizer.from_file(folder / "tokenizer.json")


def course_model_card(path: str | Path | None = None) -> dict:
    folder = Path(path) if path else COURSE_MODEL_DIR
    return json.loads((folder / CARD_NAME).read_text(encoding="utf-8"))


def complete_probes(model, tokenizer, probes, batch_size: int = 64) -> list[str]:
    """Greedy continuation of every probe (decoded text), batched: prompts are left-padded."""
    out = []
    for i in range(0, len(probes), batch_size):
        batch = probes[i : i + batch_size]
        prompts = [probe_ids(tokenizer, p) for p in batch]
        steps = max(p.max_new_tokens for p in batch)
        rows = cast(
            "list[list[int]]", generate(model, prompts, steps, eos_token_id=tokenizer.eos_id)
        )  # list in, list out
        for prompt, row in zip(prompts, rows, strict=True):
            new = [t for t in row[len(prompt) :] if t != tokenizer.eos_id]
            out.append(tokenizer.decode(new))
    return out


def evaluate_course_probes(model, tokenizer, probes=None) -> dict[str, float]:
    """Accuracy per probe kind and per kind/language (greedy decoding, exact-prefix rule)."""
    probes = course_probes() if probes is None else probes
    with torch.inference_mode():
        completions = dict(zip(probes, complete_probes(model, tokenizer, probes), strict=True))
    return evaluate_probes(lambda p: completions[p], probes)


def write_model_card(model_dir: str | Path, run_dir: str | Path | None = None, command: str | None = None) -> dict:
    """Measure the exported model on the probes and write model_card.json next to it."""
    model_dir = Path(model_dir)
    model, tokenizer = load_course_model(path=model_dir)
    start = time.perf_counter()
    accuracy = evaluate_course_probes(model, tokenizer)
    summary = {}
    for folder in filter(None, (Path(run_dir) if run_dir else None, model_dir)):
        if (folder / "run_summary.json").is_file():
            summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
            break
    card = {
        "name": "minigpt course model",
        "architecture": "Llama-style decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU), "
        "exported as LlamaForCausalLM",
        "config": model.config.to_dict(),
        "parameters": model.num_parameters(),
        "weights_dtype": json.loads((model_dir / "config.json").read_text())["torch_dtype"],
        "tokenizer": {"vocab_size": tokenizer.vocab_size, "sha256": tokenizer.sha256},
        "training": summary,
        "build_command": command,
        "probes": {
            "rule": "greedy continuation of the prompt must start with the answer, ending at a word boundary",
            "probes": len(course_probes()),
            "accuracy": accuracy,
            "evaluated_on": f"{platform.machine()}, torch {torch.__version__}",
            "seconds": round(time.perf_counter() - start, 1),
        },
    }
    (model_dir / CARD_NAME).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card
