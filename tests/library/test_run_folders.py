"""Run folders and model folders (issue 23, the three losses of data and the full disks): what one
error message cannot show. A refused run leaves an exported model byte for byte as it was; two runs
into one --out cannot both write (the second is refused naming the first, and a folder left by a
killed run is taken over); save_pretrained replaces a folder whole or not at all; a real full disk
(a small tmpfs) during a checkpoint write or while tokenizing, and a read-only disk, end in one
line, with the run marked and nothing torn left behind."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import minigpt.checkpoint as ckpt
import numpy as np
import pytest
import torch
from conftest import randomize, remount, small_disk, used_kib
from minigpt import MiniGPT, ModelConfig
from minigpt.data import PackedDataset, save_tokens
from minigpt.runfolder import NotARunFolderError
from minigpt.tokenizer import Tokenizer
from minigpt.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[2]
COURSE_MODEL = ROOT / "minigpt" / "assets" / "course-model"


def train(*argv):
    from minigpt.cli.train import main

    return main([str(a) for a in argv])


def snapshot(folder: Path) -> dict:
    """Every file's bytes and modification time: what "nothing was changed" means."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return MiniGPT(ModelConfig.from_preset("tiny", **kw)).eval()


def logits(model):
    with torch.no_grad():
        return model(torch.arange(20)[None]).logits


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    """A token file of random ids (vocabulary 320) with its tokenizer: data that needs no preparing."""
    root = tmp_path_factory.mktemp("tokens")
    tok = Tokenizer.train(["Susan has three apples and Peter has two. " * 40], vocab_size=320)
    ids = np.random.default_rng(0).integers(3, tok.vocab_size, 6000)
    save_tokens(ids, root / "train.bin", tok)
    tok.save(root / "tokenizer.json")
    return root


def tiny_run(out, tokens, *extra):
    """The options of a small CLI run on the token file."""
    return (
        ["--data", tokens / "train.bin", "--preset", "tiny", "--vocab-size", 320, "--block-size", 16]
        + ["--batch-size", 2, "--dtype", "fp32", "--device", "cpu", "--no-progress", "--out", out]
        + list(extra)
    )


# ---- data lost, 1: --out pointed at an exported model --------------------------------------------------


def test_train_into_an_exported_model_changes_nothing(tmp_path, capsys):
    exported = tmp_path / "course-model"
    shutil.copytree(COURSE_MODEL, exported)
    before = snapshot(exported)
    for extra in ([], ["--overwrite"]):
        with pytest.raises(SystemExit) as e:
            train("--preset", "tiny", "--steps", 1, "--out", exported, *extra)
        assert e.value.code == 2
        assert "not a training run's folder" in capsys.readouterr().err
    assert snapshot(exported) == before
    # the library refuses too: a Trainer would write metrics.jsonl and checkpoints/ into it
    data = PackedDataset(np.arange(400) % 256, 16)
    config = TrainConfig(steps=1, batch_size=2, dtype="fp32", device="cpu", progress=False, out_dir=str(exported))
    with pytest.raises(NotARunFolderError, match="an exported model"):
        Trainer(tiny(), config, data).train()
    assert snapshot(exported) == before


# ---- data lost, 2: two runs into one --out ---------------------------------------------------------------


def test_a_second_run_is_refused_naming_the_first_and_a_killed_run_is_taken_over(tmp_path, tokens, capsys):
    out = tmp_path / "run"
    env = dict(os.environ)  # minigpt is installed: the subprocess imports it as a user would
    first = subprocess.Popen(
        [sys.executable, "-m", "minigpt", "train", *map(str, tiny_run(out, tokens, "--steps", 100_000))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 240
        while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text():
            assert first.poll() is None, first.stderr.read().decode()[-2000:] if first.stderr else ""
            assert time.time() < deadline, "the first run did not start training"
            time.sleep(0.2)
        with pytest.raises(SystemExit) as e:  # the first is training now: a second run into --out
            train(*tiny_run(out, tokens, "--steps", 2))
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"is being written by another run (pid {first.pid} on" in err, err
        assert "nothing was changed" in err
        assert not (out / "checkpoints").exists()  # the second run wrote nothing
    finally:
        first.send_signal(signal.SIGKILL)  # no cleanup runs: the folder is left as a crash leaves it
        first.wait(timeout=60)
    assert train(*tiny_run(out, tokens, "--steps", 2, "--overwrite")) == 0
    err = capsys.readouterr().err
    assert f"was left by a run that stopped without finishing (pid {first.pid} on" in err
    assert json.loads((out / "run_summary.json").read_text())["status"] == "finished"
    assert not (out / ".lock.json").exists()  # released at the end: the next run finds no one


# ---- data lost, 3: save_pretrained replaces a folder whole, or not at all -------------------------------------


def test_save_pretrained_that_fails_leaves_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "model"
    saved = randomize(tiny())
    saved.save_pretrained(folder)
    before = snapshot(folder)
    other = randomize(tiny(), seed=99)
    for bad in (
        lambda: other.save_pretrained(folder, dtype=torch.int8),
        lambda: other.double().save_pretrained(folder),
    ):
        with pytest.raises(ValueError, match="not a weight format"):
            bad()
        assert snapshot(folder) == before
    torch.testing.assert_close(logits(MiniGPT.from_pretrained(folder)), logits(saved), rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary sibling left


def test_save_pretrained_on_a_full_disk_leaves_the_old_folder(tmp_path):
    with small_disk(tmp_path / "disk", 4096) as disk:
        saved = randomize(tiny())
        saved.save_pretrained(disk / "model")
        before = snapshot(disk / "model")
        remount(disk, f"size={used_kib(disk) + 64}k")  # room for a config.json, not for new weights
        with pytest.raises(OSError, match="disk full while writing"):
            randomize(tiny(), seed=99).save_pretrained(disk / "model")
        assert snapshot(disk / "model") == before
        assert sorted(p.name for p in disk.iterdir()) == ["model"]  # the half-written sibling is gone
        torch.testing.assert_close(logits(MiniGPT.from_pretrained(disk / "model")), logits(saved), rtol=0, atol=0)


def test_save_pretrained_keeps_other_files_and_drops_stale_weights(tmp_path):
    folder = tmp_path / "model"
    tok = Tokenizer.train(["Susan has three apples. " * 40], vocab_size=300)
    tok.save_pretrained(folder)  # a tokenizer saved first, as people do with transformers
    (folder / "README.md").write_text("my notes")
    torch.save({"stale": torch.zeros(1)}, folder / "pytorch_model.bin")  # an older copy of the weights
    model = randomize(tiny())
    model.save_pretrained(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert (folder / "README.md").read_text() == "my notes"
    assert Tokenizer.from_file(folder).sha256 == tok.sha256
    torch.testing.assert_close(logits(MiniGPT.from_pretrained(folder)), logits(model), rtol=0, atol=0)


def test_a_model_saved_with_its_tokenizer_refuses_another(tmp_path):
    from minigpt.hf_format import check_tokenizer_sha256, save_pretrained

    tok = Tokenizer.train(["Susan has three apples. " * 40], vocab_size=300)
    other = Tokenizer.train(["Peter has two pears. " * 40], vocab_size=300)
    save_pretrained(tiny(), tmp_path / "m", tokenizer=tok)
    check_tokenizer_sha256(tmp_path / "m", tok, "tok", "")
    with pytest.raises(ValueError, match=r"trained with tokenizer sha256 [0-9a-f]{16}\.\.\., but other is"):
        check_tokenizer_sha256(tmp_path / "m", other, "other", "")
    assert Tokenizer.from_file(tmp_path / "m").sha256 == tok.sha256


# ---- full and read-only disks, for real ------------------------------------------------------------------------


def test_cli_run_on_a_disk_that_fills_up_during_a_checkpoint(tmp_path, tokens, capsys):
    reference = tmp_path / "reference"
    assert train(*tiny_run(reference, tokens, "--steps", 2, "--save-every", 1)) == 0
    first = sum(
        -(-p.stat().st_size // 4096) * 4 for p in reference.rglob("*") if p.is_file() and "0000002" not in str(p)
    )
    capsys.readouterr()
    with small_disk(tmp_path / "disk", first + 256) as disk:  # step 1 fits, step 2 does not
        out = disk / "run"
        assert train(*tiny_run(out, tokens, "--steps", 2, "--save-every", 1)) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("python -m minigpt train: error: [Errno 28] disk full while writing "), err
        summary = json.loads((out / "run_summary.json").read_text())
        assert summary["status"] == "stopped: disk full" and summary["steps"] == 2
        assert [p.name for p in ckpt.list_checkpoints(out / "checkpoints")] == ["step-0000001"]
        assert not list((out / "checkpoints").glob(".tmp-*"))  # the torn checkpoint freed its space
        remount(disk, f"size={first + 4096}k")  # room again: the run continues from step 1
        assert train(*tiny_run(out, tokens, "--steps", 2, "--save-every", 1, "--resume")) == 0
        assert json.loads((out / "run_summary.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("data", ["text", "course"])
def test_cli_full_disk_while_tokenizing_is_one_line_and_leaves_nothing(data, tmp_path, tokens, capsys):
    """A text file goes through tokenize_files; the course corpus (the default --data) through
    save_tokens, whose full disk was numpy's "N requested and M written" (issue 23)."""
    text = tmp_path / "corpus.txt"
    text.write_text("Susan has three apples and Peter has two.\n" * 4000)  # ~170 KB of text, ~80K tokens
    source = [text] if data == "text" else ["course", "--corpus-bytes", 200_000]  # ~200 KB, ~100K tokens
    with small_disk(tmp_path / "disk", 64) as disk:
        with pytest.raises(SystemExit) as e:
            train("--data", *source, "--tokenizer", tokens / "tokenizer.json", "--no-progress", "--out", disk / "run")
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "disk full while writing" in err, err
        assert list(disk.iterdir()) == []  # the folder this command made is gone, with its partial tokens


def test_cli_run_on_a_read_only_disk_is_refused_before_anything(tmp_path, tokens, capsys):
    with small_disk(tmp_path / "disk", 64) as disk:
        remount(disk, "ro")
        with pytest.raises(SystemExit) as e:
            train(*tiny_run(disk / "run", tokens, "--steps", 1))
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "cannot be written" in err and "read-only" in err, err


def test_refusals_from_the_data_leave_no_out_folder(tmp_path, capsys):
    """A corpus shorter than one window is known only once it is tokenized: the folder the
    command made for it is removed, so a refusal leaves nothing behind."""
    short = tmp_path / "short.txt"
    short.write_text("Susan has three apples.")
    tok = tmp_path / "tokenizer.json"
    Tokenizer.train(["Susan has three apples. " * 40], vocab_size=300).save(tok)
    with pytest.raises(SystemExit):
        train("--data", short, "--tokenizer", tok, "--block-size", 64, "--no-progress", "--out", tmp_path / "r")
    assert "fewer than one window" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ---- resume: what the library says -----------------------------------------------------------------------------


def test_resume_with_other_windows_says_the_data_position_moved(tmp_path, capsys):
    stream = np.random.default_rng(0).integers(0, 256, 4000)
    base = dict(steps=4, batch_size=2, lr=3e-3, warmup_steps=1, dtype="fp32", device="cpu", progress=False)
    Trainer(tiny(), TrainConfig(**base, out_dir=str(tmp_path), save_every=2), PackedDataset(stream, 32)).train(steps=2)
    capsys.readouterr()
    again = Trainer(tiny(), TrainConfig(**base, out_dir=str(tmp_path)), PackedDataset(stream, 16))
    again.resume()
    out = capsys.readouterr().out
    assert "training data (block_size 32 -> 16, items 124 -> 249, stride 32 -> 16" in out, out


CHILD_HOLDS = textwrap.dedent("""
    import sys, time
    from minigpt.runfolder import hold_run_folder
    with hold_run_folder(sys.argv[1]):
        print("held", flush=True)
        time.sleep(600)
""")


def test_trainer_into_a_folder_another_process_holds_is_refused(tmp_path):
    from minigpt.runfolder import RunInUseError

    env = dict(os.environ)  # minigpt is installed: the subprocess imports it as a user would
    child = subprocess.Popen([sys.executable, "-c", CHILD_HOLDS, str(tmp_path)], env=env, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"held"
        config = TrainConfig(steps=1, batch_size=2, dtype="fp32", device="cpu", progress=False, out_dir=str(tmp_path))
        with pytest.raises(RunInUseError, match=f"pid {child.pid} on"):
            Trainer(tiny(), config, PackedDataset(np.arange(400) % 256, 16)).train()
    finally:
        child.kill()
        child.wait(timeout=60)
    assert not (tmp_path / "checkpoints").exists()
