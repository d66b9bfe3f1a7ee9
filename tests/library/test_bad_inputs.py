"""Bad inputs and faults (issue 11): each gets an error that names the problem and the fix, or
is refused before anything is changed. `test_bad_input` is the table (its ids read as the rows
of tests/library/BAD_INPUTS.md); the tests after it check what one message cannot: that a refused run
is left untouched, that a damaged checkpoint is skipped for an intact one, that defaults follow
transformers, that a SIGKILL while saving loses nothing."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import minigpt.checkpoint as ckpt
import minigpt.hf_config as hf
import numpy as np
import pytest
import torch
from conftest import randomize, remount, small_disk, used_kib
from minigpt import MiniGPT, ModelConfig, generate
from minigpt.data import PackedDataset
from minigpt.generate import generate_text
from minigpt.tokenizer import Tokenizer
from minigpt.train import TrainConfig, Trainer
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]


def tiny_model():
    torch.manual_seed(0)
    return MiniGPT(ModelConfig.from_preset("tiny")).eval()


def token_stream(n=4000, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n).astype(np.uint16)


def train_config(**kw):
    base = dict(steps=3, batch_size=2, lr=3e-3, warmup_steps=1, dtype="fp32", device="cpu", progress=False)
    return TrainConfig(**{**base, **kw})


# ---- shared folders (made once per test process) -------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A CLI run (course data, tiny, checkpoints at steps 1 and 2), an HF folder, a second tokenizer."""
    from minigpt.cli.train import main as train_main

    root = tmp_path_factory.mktemp("made")
    run = root / "run"
    assert (
        train_main(
            [
                "--data",
                "course",
                "--corpus-bytes",
                "120000",
                "--vocab-size",
                "320",
                "--preset",
                "tiny",
                "--block-size",
                "32",
                "--steps",
                "2",
                "--batch-size",
                "4",
                "--save-every",
                "1",
                "--eval-batches",
                "2",
                "--dtype",
                "fp32",
                "--no-progress",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    model_dir = root / "model"
    tiny_model().save_pretrained(model_dir)
    other = Tokenizer.train(["a different corpus, a different tokenizer " * 50], vocab_size=300)
    other.save(root / "other_tokenizer.json")
    return {"run": run, "model": model_dir, "other_tokenizer": root / "other_tokenizer.json", "root": root}


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def truncate(path: Path, keep: float = 0.5) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


def train(*argv):
    from minigpt.cli.train import main as train_main

    return train_main([str(a) for a in argv])


def export(*argv):
    from minigpt.cli.export import main

    return main([str(a) for a in argv])


def sample(*argv):
    from minigpt.cli.sample import main

    return main([str(a) for a in argv])


def count(*argv):
    from minigpt.cli.count import main

    return main([str(a) for a in argv])


# ---- the table ---------------------------------------------------------------------------------------
# Each case is (id, action(made, tmp_path), expected kind, pattern the message must match).
# A kind "exit" is a command that printed one line on stderr and exited with status 2 (no traceback).


def _hf_config_edit(made, tmp_path, **changes):
    folder = copy_of(made["model"], tmp_path)
    data = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    (folder / "config.json").write_text(json.dumps(data))
    return MiniGPT.from_pretrained(folder)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _outside_shard(made, tmp_path):
    folder = copy_of(made["model"], tmp_path)
    (folder / "model.safetensors").rename(tmp_path / "outside.safetensors")
    with safe_open(str(tmp_path / "outside.safetensors"), "pt") as f:
        names = list(f.keys())
    index = {"metadata": {}, "weight_map": {n: "../outside.safetensors" for n in names}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return MiniGPT.from_pretrained(folder)


def _truncated_safetensors(made, tmp_path):
    folder = copy_of(made["model"], tmp_path)
    truncate(folder / "model.safetensors", 0.01)
    return MiniGPT.from_pretrained(folder)


def _left_padded_without_mask(made, tmp_path):
    ids = torch.tensor([[0, 0, 0, 5, 6], [0, 7, 8, 9, 10]])  # row 0 padded on the left with id 0
    return generate(tiny_model(), ids, 2, eos_token_id=[], pad_token_id=0)


def _disk_full(made, tmp_path, target):
    """A real full disk during a checkpoint write: a tmpfs just big enough for step 1's checkpoint,
    and for step 2's files up to (not including) `target`. model.safetensors fails in safetensors'
    words ("No space left on device"), optimizer.pt in torch.save's ("unexpected pos")."""
    with small_disk(tmp_path / "disk", 16 * 1024) as disk:
        trainer = Trainer(
            tiny_model(), train_config(steps=2, out_dir=str(disk), save_every=1), PackedDataset(token_stream(), 16)
        )
        trainer.train(steps=1)  # step-0000001 is written normally
        first = ckpt.list_checkpoints(disk / "checkpoints")[0]
        room = {"model.safetensors": 64, "optimizer.pt": (first / "model.safetensors").stat().st_size // 1024 + 64}
        remount(disk, f"size={used_kib(disk) + room[target]}k")
        try:
            trainer.train()
        finally:
            # the older checkpoint is intact and the torn one freed its space
            assert [p.name for p in ckpt.list_checkpoints(disk / "checkpoints")] == ["step-0000001"]
            assert not list((disk / "checkpoints").glob(".tmp-*"))
            ckpt.load_checkpoint(disk)


# ---- issue 23 (round three), the training and IO side -------------------------------------------------

COURSE_MODEL = ROOT / "minigpt" / "assets" / "course-model"


def _int8_weights(made, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = copy_of(made["model"], tmp_path)
    state = load_file(folder / "model.safetensors")
    name = "model.layers.0.mlp.up_proj.weight"
    state[name] = (state[name] * 100).round().to(torch.int8)  # what an int8 export without its scales holds
    save_file(state, folder / "model.safetensors")
    return MiniGPT.from_pretrained(folder)


def _weights_linked_to_dev_zero(made, tmp_path):
    folder = copy_of(made["model"], tmp_path)
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").symlink_to("/dev/zero")
    return MiniGPT.from_pretrained(folder)


def _tied_config_over_distinct_head(made, tmp_path):
    model = tiny_model()
    model.config.tie_word_embeddings = False
    model.lm_head = torch.nn.Linear(64, 256, bias=False)  # a head of its own
    model.save_pretrained(tmp_path / "m")
    data = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**data, "tie_word_embeddings": True}))
    return MiniGPT.from_pretrained(tmp_path / "m")


def _decode_generate_batch(made, tmp_path):
    tok = Tokenizer.from_file(made["run"] / "tokenizer.json")
    out = generate(tiny_model(), torch.tensor([[1, 2, 3], [4, 5, 6]]), 2, eos_token_id=[])
    return tok.decode(out)


def _cuda_without_cuda(made, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the case is a machine without it")
    return train("--device", "cuda", "--out", tmp_path / "r")


def _short_corpus(made, tmp_path):
    text = _write(tmp_path / "short.txt", "Susan has three apples.")
    tok = made["run"] / "tokenizer.json"
    return train("--data", text, "--tokenizer", tok, "--block-size", 64, "--no-progress", "--out", tmp_path / "r")


def _resume_past_steps(made, tmp_path):
    trainer = Trainer(MiniGPT(ModelConfig.from_preset("tiny", vocab_size=320)), train_config(steps=1))
    return trainer.resume(made["run"])


def _export_to_read_only_disk(made, tmp_path):
    with small_disk(tmp_path / "disk", 64) as disk:
        remount(disk, "ro")
        return export("--checkpoint", made["run"], "--out", disk / "model")


def _run(made, tmp_path, *argv):
    return train("--config", made["run"] / "run_config.json", "--out", copy_of(made["run"], tmp_path), *argv)


CASES = [
    # data loss and silent wrong results
    (
        "train --out EXISTING without --overwrite: refused, nothing changed",
        lambda m, t: train("--config", m["run"] / "run_config.json", "--out", copy_of(m["run"], t)),
        "exit",
        r"already holds a run \(checkpoints up to step-0000002\); nothing was changed.*--resume.*--overwrite",
    ),
    (
        "train --resume with another --tokenizer: refused, both hashes named",
        lambda m, t: train(
            "--config",
            m["run"] / "run_config.json",
            "--out",
            copy_of(m["run"], t),
            "--resume",
            "--tokenizer",
            m["other_tokenizer"],
        ),
        "exit",
        r"trained with tokenizer sha256 [0-9a-f]{16}\.\.\., but --tokenizer .* is [0-9a-f]{16}\.\.\.",
    ),
    (
        "Trainer.resume with another tokenizer: refused, both hashes named",
        lambda m, t: Trainer(
            MiniGPT(ModelConfig.from_preset("tiny", vocab_size=320)),
            train_config(),
            tokenizer=Tokenizer.from_file(m["other_tokenizer"]),
        ).resume(m["run"]),
        "ValueError",
        r"tokenizer sha256 [0-9a-f]{16}\.\.\., but this run's tokenizer is [0-9a-f]{16}\.\.\.",
    ),
    (
        "resume from a checkpoint folder whose optimizer.pt is truncated: file named, intact one to use named",
        lambda m, t: (
            truncate(copy_of(m["run"], t) / "checkpoints/step-0000002/optimizer.pt"),
            ckpt.load_checkpoint(t / "run/checkpoints/step-0000002"),
        ),
        "DamagedCheckpointError",
        r"step-0000002/optimizer.pt is damaged.*--resume \S*step-0000001",
    ),
    (
        "sharded index whose weight_map points to ../outside.safetensors: refused",
        _outside_shard,
        "ValueError",
        r"points to '\.\./outside\.safetensors', outside the model folder",
    ),
    (
        "export --out onto an existing model folder without --overwrite: refused",
        lambda m, t: export("--checkpoint", m["run"], "--out", copy_of(m["model"], t)),
        "exit",
        r"--out \S+ is a model folder; nothing was changed.*--overwrite",
    ),
    ("sample --num-beams 0", lambda m, t: sample("--num-beams", 0), "exit", r"--num-beams .* >= 1.*got 0"),
    ("sample --num-beams -3", lambda m, t: sample("--num-beams", -3), "exit", r"--num-beams .* >= 1.*got -3"),
    (
        "sample --max-new-tokens 0",
        lambda m, t: sample("--max-new-tokens", 0),
        "exit",
        r"--max-new-tokens must be at least 1, got 0",
    ),
    (
        "generate: left-padded tensor batch without attention_mask (a warning, as in transformers)",
        _left_padded_without_mask,
        "UserWarning",
        r"rows \[0\] start with more pad ids \(0\).*Pass attention_mask",
    ),
    (
        "generate: eos_token_id=5000 with vocab_size 256",
        lambda m, t: generate(tiny_model(), [1, 2, 3], 2, eos_token_id=5000),
        "ValueError",
        r"eos_token_id 5000 is outside the vocabulary 0\.\.255",
    ),
    (
        "generate: pad_token_id=-7",
        lambda m, t: generate(tiny_model(), [[1, 2, 3], [4]], 2, eos_token_id=[5], pad_token_id=-7),
        "ValueError",
        r"pad_token_id must be a token id in 0\.\.255 \(vocab_size 256\), got -7",
    ),
    (
        "ModelConfig(tie_word_embeddings='no')",
        lambda m, t: ModelConfig(tie_word_embeddings="no"),
        "ValueError",
        r"tie_word_embeddings must be true or false .* got 'no'",
    ),
    (
        "ModelConfig(rope_theta='abc')",
        lambda m, t: ModelConfig(rope_theta="abc"),
        "ValueError",
        r"rope_theta must be a number, got 'abc'",
    ),
    (
        'config.json with tie_word_embeddings: "no"',
        lambda m, t: _hf_config_edit(m, t, tie_word_embeddings="no"),
        "ValueError",
        r"config\.json: tie_word_embeddings must be true or false",
    ),
    (
        'config.json with rope_theta: "abc"',
        lambda m, t: _hf_config_edit(m, t, rope_theta="abc", rope_parameters=...),
        "ValueError",
        r"config\.json: rope_theta must be a number, got 'abc'",
    ),
    # unclear errors made clear
    (
        "truncated model.safetensors",
        _truncated_safetensors,
        "ValueError",
        r"model\.safetensors \([\d,]+ bytes\) is not a complete safetensors file.*copy or export it again",
    ),
    (
        "config.json that is not valid JSON",
        lambda m, t: (
            copy_of(m["model"], t),
            _write(t / "model/config.json", '{"model_type": "llama",'),
            MiniGPT.from_pretrained(t / "model"),
        ),
        "ValueError",
        r"config\.json is not valid JSON: .* at line 1, column \d+",
    ),
    (
        "config.json without hidden_size",
        lambda m, t: _hf_config_edit(m, t, hidden_size=...),
        "ValueError",
        r"config\.json is incomplete: it has no hidden_size",
    ),
    (
        "tokenizer.json that is not valid JSON",
        lambda m, t: Tokenizer.from_file(_write(t / "tokenizer.json", '{"version": "1.0", "model":')),
        "ValueError",
        r"tokenizer\.json is not a valid tokenizer\.json \(.*\).*Tokenizer\.save",
    ),
    (
        "count --config with invalid JSON",
        lambda m, t: count("--config", _write(t / "c.json", "{hidden_size: 64}")),
        "exit",
        r"count: error: \S*c\.json is not valid JSON: .* at line 1, column 2",
    ),
    (
        "train --config with invalid JSON",
        lambda m, t: train("--config", _write(t / "o.json", "{steps: 3}")),
        "exit",
        r"--config \S*o\.json is not valid JSON",
    ),
    (
        "Tokenizer.encode(None)",
        lambda m, t: Tokenizer.from_file(m["run"] / "tokenizer.json").encode(None),
        "TypeError",
        r"Tokenizer\.encode takes a str, got NoneType",
    ),
    (
        "train --val-fraction 1.5",
        lambda m, t: train("--val-fraction", 1.5, "--out", t / "r"),
        "exit",
        r"--val-fraction is the share of the data held out, in \[0, 1\); got 1\.5",
    ),
    (
        "forward with a token id >= vocab_size",
        lambda m, t: tiny_model()(torch.tensor([[1, 256]])),
        "ValueError",
        r"input_ids must be token ids in 0\.\.255 \(vocab_size 256\); got min 1, max 256",
    ),
    (
        "disk full while writing a checkpoint's optimizer.pt",
        lambda m, t: _disk_full(m, t, "optimizer.pt"),
        "OSError",
        r"disk full while writing \S*/disk/checkpoints/\.tmp-step-0000002/optimizer\.pt\. Nothing was replaced",
    ),
    (
        "disk full while writing a checkpoint's model.safetensors",
        lambda m, t: _disk_full(m, t, "model.safetensors"),
        "OSError",
        r"disk full while writing \S*/disk/checkpoints/\.tmp-step-0000002/model\.safetensors\. Nothing was replaced",
    ),
    # options checked before any data is prepared
    (
        "train --steps 0",
        lambda m, t: train("--steps", 0, "--out", t / "r"),
        "exit",
        r"--steps must be a positive integer, got 0",
    ),
    ("train --lr -1", lambda m, t: train("--lr", -1, "--out", t / "r"), "exit", r"--lr must be a positive number"),
    (
        "train --batch-size 0",
        lambda m, t: train("--batch-size", 0, "--out", t / "r"),
        "exit",
        r"--batch-size must be a positive integer, got 0",
    ),
    (
        'train --config with "steps": 2.5',
        lambda m, t: train("--config", _write(t / "o.json", '{"steps": 2.5}'), "--out", t / "r"),
        "exit",
        r"--steps must be a positive integer, got 2\.5",
    ),
    (
        "train --preset tiny --block-size 300",
        lambda m, t: train("--preset", "tiny", "--block-size", 300, "--out", t / "r"),
        "exit",
        r"--block-size 300 must be in 1\.\.128 \(the model's max_seq_len\)",
    ),
    (
        "train --resume where there is no checkpoint",
        lambda m, t: train("--resume", "--out", t / "r"),
        "exit",
        r"--resume: no checkpoint in \S+",
    ),
    (
        "train --data missing.txt",
        lambda m, t: train("--data", t / "missing.txt", "--out", t / "r"),
        "exit",
        r"--data \S*missing\.txt: no such file or folder",
    ),
    # issue 23 (round three): data lost
    (
        "train --out EXPORTED (a copy of the course model): refused, nothing changed",
        lambda m, t: train("--preset", "tiny", "--steps", 1, "--out", copy_of(COURSE_MODEL, t)),
        "exit",
        r"--out \S+ is not a training run's folder: it holds config\.json, model\.safetensors.*\(an exported model\).*"
        r"nothing was changed",
    ),
    (
        "train --out EXPORTED --overwrite: refused too (overwrite restarts a run, it does not clear other folders)",
        lambda m, t: train("--preset", "tiny", "--steps", 1, "--overwrite", "--out", copy_of(COURSE_MODEL, t)),
        "exit",
        r"is not a training run's folder.*\(an exported model\)",
    ),
    (
        "save_pretrained(existing, dtype=torch.int8): refused before writing",
        lambda m, t: tiny_model().save_pretrained(copy_of(m["model"], t), dtype=torch.int8),
        "ValueError",
        r"save_pretrained dtype int8 is not a weight format minigpt reads or writes",
    ),
    (
        "model.double(); save_pretrained(folder): refused before writing",
        lambda m, t: tiny_model().double().save_pretrained(copy_of(m["model"], t)),
        "ValueError",
        r"save_pretrained dtype float64 is not a weight format.*a float64 model is saved as float32",
    ),
    # issue 23: silent wrong results
    (
        "config.json says tie_word_embeddings: true over a distinct lm_head.weight: kept untied, with a warning",
        _tied_config_over_distinct_head,
        "UserWarning",
        r"says tie_word_embeddings: true, but the weights hold an lm_head\.weight that differs.*loaded untied",
    ),
    (
        "sample --model EXPORTED --tokenizer OTHER: refused by the export's recorded sha256",
        lambda m, t: sample("--model", COURSE_MODEL, "--tokenizer", m["other_tokenizer"], "--max-new-tokens", 2),
        "exit",
        r"was trained with tokenizer sha256 bacac1a44052ce95\.\.\., but --tokenizer \S*other_tokenizer\.json is "
        r"[0-9a-f]{16}\.\.\.",
    ),
    (
        "generate_text(course model, OTHER tokenizer) in Python: refused by the folder's recorded sha256",
        lambda m, t: generate_text(
            MiniGPT.from_pretrained(COURSE_MODEL), Tokenizer.from_file(m["other_tokenizer"]), "Susan", max_new_tokens=2
        ),
        "ValueError",
        r"This model was saved with tokenizer sha256 bacac1a44052ce95\.\.\., but the tokenizer given is "
        r"[0-9a-f]{16}\.\.\.: the same ids would mean other text\. Use the tokenizer from the model's folder",
    ),
    (
        "sample --num-beams 2 with --top-k, --repetition-penalty, --stop, --explain: refused, not dropped",
        lambda m, t: sample(
            "--num-beams", 2, "--top-k", 5, "--repetition-penalty", 1.3, "--stop", ".", "--explain", "--prompt", "Hi"
        ),
        "exit",
        r"Beam search \(--num-beams 2\) is deterministic.*it does not do: --top-k 5 \(use 0\); --repetition-penalty "
        r"1\.3 \(use 1\.0\); --stop \['\.'\] .*; --explain True \(use False",
    ),
    (
        "train --resume --overwrite: refused (one continues the run, the other deletes it)",
        lambda m, t: _run(m, t, "--resume", "--overwrite"),
        "exit",
        r"--resume continues the run in --out, --overwrite deletes it and starts over: pass one of them",
    ),
    (
        "train --resume --block-size 16 on a run trained at 32: refused (the data position counts windows)",
        lambda m, t: _run(m, t, "--resume", "--block-size", 16, "--steps", 4),
        "exit",
        r"trained with --block-size 32; --block-size 16 would cut the data into other windows.*Resume with "
        r"--block-size 32",
    ),
    (
        "train --resume --steps 1 on a run at step 2: refused, nothing to train",
        lambda m, t: _run(m, t, "--resume", "--steps", 1),
        "exit",
        r"is at step 2 and --steps 1 counts the whole run, so there is nothing to train\. Pass --steps above 2",
    ),
    (
        "Trainer.resume of a run at step 2 with TrainConfig.steps=1",
        _resume_past_steps,
        "ValueError",
        r"is at step 2, past TrainConfig\.steps=1: steps counts the whole run",
    ),
    (
        "train --peak-tflops -1",
        lambda m, t: train("--peak-tflops", -1, "--out", t / "r"),
        "exit",
        r"--peak-tflops is the accelerator's peak TFLOP/s, a positive number .* got -1\.0",
    ),
    (
        "from_pretrained of a folder whose model.safetensors holds int8 tensors",
        _int8_weights,
        "ValueError",
        r"tensor model\.layers\.0\.mlp\.up_proj\.weight is int8: a quantized checkpoint, whose scales this loader",
    ),
    # issue 23: tracebacks a learner still met
    (
        "train --min-lr above --lr (checked before the data is prepared)",
        lambda m, t: train("--lr", 0.001, "--min-lr", 0.1, "--out", t / "r"),
        "exit",
        r"--min-lr must be at most lr=0\.001 \(the schedule decays from lr down to min_lr\), got 0\.1",
    ),
    (
        "train --device banana",
        lambda m, t: train("--device", "banana", "--out", t / "r"),
        "exit",
        r"--device 'banana' is not a device: use auto, cpu, cuda, cuda:N",
    ),
    (
        "train --device cuda on a machine without CUDA",
        _cuda_without_cuda,
        "exit",
        r"--device 'cuda': this machine has no CUDA GPU that torch can use",
    ),
    (
        "train --out FILE",
        lambda m, t: train("--out", _write(t / "notes.txt", "my notes")),
        "exit",
        r"--out \S*notes\.txt is a file, not a folder; nothing was changed",
    ),
    (
        "train --out FILE/sub (a folder under a file): not called read-only",
        lambda m, t: train("--out", _write(t / "notes.txt", "my notes") / "sub"),
        "exit",
        r"--out \S*notes\.txt/sub cannot be made: \S*notes\.txt is a file, not a folder; nothing was changed",
    ),
    (
        "export --out FILE (with --overwrite too): not 'add --overwrite'",
        lambda m, t: export("--checkpoint", m["run"], "--out", _write(t / "notes.txt", "my notes"), "--overwrite"),
        "exit",
        r"--out \S*notes\.txt is a file, not a folder; nothing was changed\. Choose a folder path",
    ),
    (
        "export --out FILE/sub (a folder under a file): not '[Errno 17] File exists'",
        lambda m, t: export("--checkpoint", m["run"], "--out", _write(t / "notes.txt", "my notes") / "sub"),
        "exit",
        r"--out \S*notes\.txt/sub cannot be made: \S*notes\.txt is a file, not a folder; nothing was changed",
    ),
    (
        "export --out on a read-only disk: not '[Errno 30]' on a temporary folder's name",
        _export_to_read_only_disk,
        "exit",
        r"--out \S*disk/model cannot be written: \S*disk is read-only \(a read-only disk, or no permission\); "
        r"nothing was changed",
    ),
    (
        "train on a corpus shorter than one window",
        _short_corpus,
        "exit",
        r"--data \S*short\.txt has \d+ training tokens, fewer than one window needs \(--block-size 64 \+ 1",
    ),
    (
        "TrainConfig(lr='1e-3') (what YAML reads for 1e-3)",
        lambda m, t: train_config(lr="1e-3"),
        "ValueError",
        r"TrainConfig\.lr must be a number, got '1e-3', a string, not a number \(YAML reads exponent notation "
        r"without a dot, like 1e-3, as a string: write 1\.0e-3 or 0\.001\)",
    ),
    (
        "Tokenizer.decode of generate's 2-D output",
        _decode_generate_batch,
        "ValueError",
        r"Tokenizer\.decode takes one sequence of ids; this is a batch \(\(2, 5\)\).*tok\.batch_decode\(ids\)",
    ),
    (
        "model.safetensors that is a link to /dev/zero",
        _weights_linked_to_dev_zero,
        "ValueError",
        r"model\.safetensors is a link to /dev/zero, not a file of weights",
    ),
    (
        "count --config missing.json",
        lambda m, t: count("--config", t / "missing.json"),
        "exit",
        r"count: error: --config \S*missing\.json does not exist",
    ),
]


def outcome(action, made, tmp_path, monkeypatch, capsys):
    """(kind, message) of what the action did: an exception, a one-line exit, or a warning."""
    args = (made, tmp_path, monkeypatch) if action.__code__.co_argcount == 3 else (made, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            action(*args)
        except SystemExit as e:
            err = capsys.readouterr().err.strip()
            if e.code == 2 and err and "\n" not in err:
                return "exit", err
            return "SystemExit", str(e.code)
        except Exception as e:  # noqa: BLE001 - the table records whatever was raised
            return type(e).__name__, str(e)
    warned = [w for w in caught if issubclass(w.category, UserWarning)]
    if warned:
        return warned[0].category.__name__, str(warned[0].message)
    return "no error", ""


@pytest.mark.parametrize("action, kind, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(action, kind, pattern, made, tmp_path, monkeypatch, capsys):
    got_kind, message = outcome(action, made, tmp_path, monkeypatch, capsys)
    if os.environ.get("BAD_INPUTS_DUMP"):  # to refresh the messages quoted in tests/library/BAD_INPUTS.md
        with open(os.environ["BAD_INPUTS_DUMP"], "a", encoding="utf-8") as dump:
            dump.write(json.dumps({"kind": got_kind, "message": message.replace(str(tmp_path), "TMP")}) + "\n")
    assert (got_kind, bool(re.search(pattern, message, re.S))) == (kind, True), message


def test_the_markdown_table_lists_every_case():
    text = (ROOT / "tests" / "library" / "BAD_INPUTS.md").read_text(encoding="utf-8")
    missing = [c[0] for c in CASES if c[0].replace("|", "\\|") not in text]
    assert not missing


# ---- what one message cannot show ----------------------------------------------------------------------


def snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_refused_train_leaves_the_existing_run_untouched(made, tmp_path, capsys):
    run = copy_of(made["run"], tmp_path)
    before = snapshot(run)
    with pytest.raises(SystemExit):
        train("--config", run / "run_config.json", "--out", run)
    assert snapshot(run) == before
    assert "Traceback" not in capsys.readouterr().err


def test_bad_options_are_refused_before_the_out_folder_is_made(tmp_path, capsys):
    bad_options = (
        ["--steps", "0"],
        ["--lr", "-0.1"],
        ["--batch-size", "0"],
        ["--val-fraction", "1.5"],
        ["--device", "banana"],  # issue 23: these four were found after --out was made, or after the data
        ["--lr", "0.001", "--min-lr", "0.1"],
        ["--peak-tflops", "-1"],
        ["--resume", "--overwrite"],
        ["--preset", "banana"],  # argparse's own errors are one line too
    )
    for bad in bad_options:
        with pytest.raises(SystemExit):
            train(*bad, "--out", tmp_path / "r")
        assert not (tmp_path / "r").exists()
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("damaged", ["optimizer.pt", "model.safetensors", "trainer_state.json"])
def test_resume_skips_a_damaged_newest_checkpoint_and_says_so(damaged, made, tmp_path, capsys):
    run = copy_of(made["run"], tmp_path)
    truncate(run / "checkpoints" / "step-0000002" / damaged)
    assert train("--config", run / "run_config.json", "--out", run, "--resume", "--steps", 3) == 0
    err = capsys.readouterr().err
    assert f"step-0000002/{damaged} is damaged" in err and "Resuming from" in err and "step-0000001" in err
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["resumed_from"].endswith("step-0000001") and summary["steps"] == 3


def test_sample_notes_a_prompt_that_leaves_fewer_new_tokens(capsys):
    """A prompt near the context (issue 23: 506 tokens, 200 new asked, 6 given without a word)."""
    tok = Tokenizer.from_file(COURSE_MODEL / "tokenizer.json")
    prompt = tok.decode(tok.encode("Counting up: " + ", ".join(str(i) for i in range(1, 400)))[:505])
    n = 1 + len(tok.encode(prompt))  # <|endoftext|> first, as every training document begins
    assert sample("--prompt", prompt, "--temperature", 0) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"note: the prompt has {n} tokens and the model's context is 512, so at most {512 - n} new tokens follow "
        f"(not --max-new-tokens 200). Shorten the prompt for more."
    )
    assert captured.out.startswith(prompt) and len(captured.out) > len(prompt) + 1


def test_a_same_size_edit_of_the_corpus_is_tokenized_again(made, tmp_path):
    from minigpt.data import tokenize_files, tokens_up_to_date

    tok = Tokenizer.from_file(made["run"] / "tokenizer.json")
    corpus = _write(tmp_path / "corpus.txt", "Susan has three apples. " * 40)
    tokens = tmp_path / "tokens.bin"
    tokenize_files(corpus, tok, tokens, progress=False)
    assert tokens_up_to_date(tokens, corpus, tok)
    edited = corpus.read_text().replace("Susan", "Peter")
    assert len(edited.encode()) == corpus.stat().st_size
    corpus.write_text(edited)
    assert not tokens_up_to_date(tokens, corpus, tok)


def test_export_with_overwrite_replaces_the_folder(made, tmp_path):
    target = copy_of(made["model"], tmp_path)
    assert export("--checkpoint", made["run"], "--out", target, "--overwrite") == 0
    assert MiniGPT.from_pretrained(target).config.vocab_size == 320


def test_documented_tiny_course_command_needs_no_vocab_or_block_size(tmp_path, capsys):
    """README: `python -m minigpt train --data course --preset tiny --steps 200 --out runs/try`
    (issue 10). Fewer steps and a smaller corpus here; the defaults under test are the same."""
    out = tmp_path / "try"
    assert (
        train(
            "--data",
            "course",
            "--preset",
            "tiny",
            "--steps",
            2,
            "--corpus-bytes",
            100_000,
            "--dtype",
            "fp32",
            "--no-progress",
            "--out",
            out,
        )
        == 0
    )
    options = json.loads((out / "run_config.json").read_text())
    assert options["block_size"] == 128  # min(256, tiny's max_seq_len)
    config = MiniGPT.from_pretrained(ckpt.find_checkpoint(out)).config
    assert config.vocab_size == Tokenizer.from_file(out / "tokenizer.json").vocab_size <= 512
    assert export("--checkpoint", out, "--out", tmp_path / "my-model") == 0


# ---- config.json defaults follow transformers ------------------------------------------------------------

transformers = pytest.importorskip("transformers")
REQUIRED = dict(vocab_size=256, hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=32)


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_missing_config_keys_get_transformers_defaults(model_type):
    ours = hf.from_hf_config({"model_type": model_type, **REQUIRED})
    theirs = transformers.AutoConfig.for_model(model_type, **REQUIRED)
    rope = getattr(theirs, "rope_parameters", None) or {}
    assert ours.tie_word_embeddings == theirs.tie_word_embeddings
    assert ours.num_kv_heads == theirs.num_key_value_heads
    assert ours.head_dim == (getattr(theirs, "head_dim", None) or theirs.hidden_size // theirs.num_attention_heads)
    assert ours.max_seq_len == theirs.max_position_embeddings
    assert ours.norm_eps == theirs.rms_norm_eps
    assert ours.rope_theta == rope.get("rope_theta", getattr(theirs, "rope_theta", None))
    assert ours.dropout == theirs.attention_dropout
    assert (ours.bos_token_id, ours.eos_token_id) == (theirs.bos_token_id, theirs.eos_token_id)


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_folder_without_tie_key_gives_the_logits_of_transformers(model_type, tmp_path):
    shapes = dict(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=176,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    config = transformers.AutoConfig.for_model(model_type, **shapes)
    reference = transformers.AutoModelForCausalLM.from_config(config)
    randomize(reference)  # an untied head different from the embedding
    reference.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    for key in ("tie_word_embeddings", "rms_norm_eps", "attention_dropout"):
        data.pop(key, None)
    (tmp_path / "config.json").write_text(json.dumps(data))
    theirs = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    ours = MiniGPT.from_pretrained(tmp_path)
    assert not ours.config.tie_word_embeddings
    ids = torch.randint(0, 256, (2, 17))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, atol=1e-4, rtol=0)


# ---- a real SIGKILL while a checkpoint is written --------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import minigpt.checkpoint as ckpt
    from minigpt import MiniGPT, ModelConfig
    from minigpt.data import PackedDataset
    from minigpt.train import TrainConfig, Trainer
    import torch

    real = ckpt._write_files
    def dying(folder, model, state, tensors, tokenizer):
        if state["step"] == 2:  # weights on disk, the rest not yet: the process is killed here
            ckpt.save_pretrained(model, folder)
            os.kill(os.getpid(), signal.SIGKILL)
        return real(folder, model, state, tensors, tokenizer)
    ckpt._write_files = dying
    torch.manual_seed(0)
    data = PackedDataset(np.random.default_rng(0).integers(0, 256, 4000).astype(np.uint16), 16)
    config = TrainConfig(steps=3, batch_size=2, lr=3e-3, warmup_steps=1, dtype="fp32", device="cpu",
                         progress=False, out_dir=sys.argv[1], save_every=1)
    Trainer(MiniGPT(ModelConfig.from_preset("tiny")), config, data).train()
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_sigkill_while_saving_loses_nothing(tmp_path):
    reference = Trainer(tiny_model(), train_config(), PackedDataset(token_stream(), 16)).train()
    child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert (tmp_path / "checkpoints" / ".tmp-step-0000002").is_dir()  # the torn write, never published
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step-0000001"]
    again = Trainer(tiny_model(), train_config(out_dir=str(tmp_path), save_every=1), PackedDataset(token_stream(), 16))
    again.resume()
    history = again.train()
    assert [m["loss"] for m in history] == [m["loss"] for m in reference]
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))
