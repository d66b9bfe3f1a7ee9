"""Every code block of README.md's tour runs exactly as written, and prints what the README says.

The tour's convention: a ```python or ```bash block, then a ```text block with its output. A
python block's stdout must equal the text; a bash block's output must contain the text's lines
in that order (it also prints tables, progress bars and timings). All blocks run one after the
other in one empty folder, as a reader would run them, with this interpreter first on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def tour_blocks() -> list[tuple[str, str, str]]:
    """(language, code, expected output) for each runnable block of the tour section."""
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A short tour") :]
    tour = tour[: tour.index("\n## ", 1)]
    fences = [(m.group(1), m.group(2)) for m in FENCE.finditer(tour)]
    blocks = []
    for (lang, code), (next_lang, output) in zip(fences, fences[1:], strict=False):
        if lang in ("python", "bash"):
            assert next_lang == "text", f"README tour: a {lang} block must be followed by its ```text output"
            blocks.append((lang, code, output))
    return blocks


def run_block(lang: str, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)  # only the installed package, as a reader has it
    cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-eo", "pipefail", "-c", code]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readme")
    return folder, [(lang, code, expected, run_block(lang, code, folder)) for lang, code, expected in tour_blocks()]


def test_the_tour_has_python_and_bash_blocks():
    langs = [lang for lang, _, _ in tour_blocks()]
    assert langs.count("python") >= 2 and langs.count("bash") >= 1, langs


def test_every_block_runs_and_prints_what_the_readme_says(tour):
    _, results = tour
    for lang, code, expected, result in results:
        assert result.returncode == 0, f"README {lang} block failed:\n{code}\n--- stderr ---\n{result.stderr[-3000:]}"
        if lang == "python":
            assert result.stdout.rstrip() == expected.rstrip(), f"README python block:\n{code}"
        else:
            lines = iter(result.stdout.splitlines())
            for want in expected.strip().splitlines():
                assert any(line.strip() == want.strip() for line in lines), (
                    f"README bash block: {want!r} missing (or out of order) in its output:\n{result.stdout[-3000:]}"
                )


@pytest.mark.parametrize("folder", ["tiny-llama", "my-model"])
def test_the_saved_folders_load_in_transformers_with_the_same_logits(tour, folder):
    transformers = pytest.importorskip("transformers")
    from minigpt import MiniGPT

    cwd, _ = tour
    path = cwd / folder
    ours = MiniGPT.from_pretrained(path).eval()
    theirs = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
    ids = torch.randint(0, ours.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, atol=1e-4, rtol=1e-4)


def test_the_documented_commands_write_only_ignored_folders(tour):
    cwd, _ = tour
    written = {p.name + "/" if p.is_dir() else p.name for p in cwd.iterdir()}
    ignored = subprocess.run(
        ["git", "check-ignore", *sorted(written)], cwd=README.parent, capture_output=True, text=True
    ).stdout.split()
    assert set(ignored) == written, f"not ignored by .gitignore: {written - set(ignored)}"
