"""The course repository's URL is typed in one place: `repository.url` in _config.yml.

A fork changes that line (and `repository.branch`), runs `make notebooks` (or
`coursebook stamp`), and every Colab badge, Colab install cell and launch button
follows. This test fails if the URL, its owner/name, or a Colab link to it is typed anywhere else
in the repository, so a fork never keeps a stale copy. The notebooks' stamped cells 0 and 1 are
the exception: they are written from _config.yml by `coursebook stamp`, and
`coursebook stamp --check` (make check-notebooks) fails while they disagree with it; so are the
student notebooks' (coursebook student, checked by `coursebook student --check`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "venv", "_build", "runs", "node_modules", ".pytest_cache", ".hypothesis"}


def repository() -> tuple[str, str]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"].rstrip("/").removesuffix(".git")
    return url, url.removeprefix("https://github.com/")


def repository_files() -> list[Path]:
    """The tracked and untracked-but-not-ignored files (what a fork gets), else a walk of the tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        files = [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if p.is_file()]
    return [p for p in files if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def stamped_cells_removed(path: Path) -> str:
    """A notebook's text without cells 0 and 1, which `coursebook stamp` writes."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(nb["cells"][2:], ensure_ascii=False)


def test_the_url_is_a_github_repository():
    url, owner_name = repository()
    assert url == f"https://github.com/{owner_name}" and owner_name.count("/") == 1


def test_the_url_is_typed_only_in_config():
    url, owner_name = repository()
    typed = []
    for path in repository_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "_config.yml":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files (images, weights)
        if path.suffix == ".ipynb" and rel.startswith(("notebooks/", "student/")):  # student/: stamped too
            text = stamped_cells_removed(path)
        if owner_name in text:  # also catches the URL itself and Colab links to it
            typed.append(rel)
    assert not typed, (
        f"the repository URL ({url}) is typed outside _config.yml in: {', '.join(sorted(typed))}. "
        "Derive it from _config.yml instead (coursebook/book.py: repository(), colab_url(), pip_spec())."
    )


def test_the_stamped_notebooks_carry_the_configured_url():
    # The derived copies exist and are the configured URL (what a fork's `make notebooks` rewrites).
    url, owner_name = repository()
    notebooks = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
    assert notebooks
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        head, setup = "".join(cells[0]["source"]), "".join(cells[1]["source"])
        assert f"colab.research.google.com/github/{owner_name}/blob/" in head, path.name
        assert f"git+{url}@" in setup, path.name
