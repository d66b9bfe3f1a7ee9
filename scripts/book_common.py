"""Shared helpers for the book scripts: where the notebooks are and what the repository URL is.

The course repository URL and branch are read from `_config.yml` (`repository.url`,
`repository.branch`); nothing else in the repository spells them out.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EDITIONS = ("zh", "en")  # folder names under notebooks/ and book/
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
SETUP_TAGS = ["nbval-skip", "skip-execution"]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def config() -> dict:
    with open(ROOT / "_config.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def repository() -> tuple[str, str]:
    """(url without trailing slash or .git, branch) from _config.yml."""
    repo = config().get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if url.endswith(".git"):
        url = url[:-4]
    branch = str(repo.get("branch", "main"))
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        sys.exit(f"_config.yml: repository.url must be https://github.com/OWNER/NAME, got {url!r}")
    return url, branch


def colab_url(rel_path: str | Path) -> str:
    """The Colab URL of a notebook given by its path relative to the repository root."""
    url, branch = repository()
    owner_name = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_name}/blob/{branch}/{Path(rel_path).as_posix()}"


def pip_spec() -> str:
    url, branch = repository()
    return f"git+{url}@{branch}"


def chapter_notebooks(edition: str | None = None) -> list[Path]:
    """Every chapter notebook (notebooks/<edition>/NN_name.ipynb), sorted."""
    editions = [edition] if edition else list(EDITIONS)
    out: list[Path] = []
    for ed in editions:
        out += sorted(p for p in (NOTEBOOKS / ed).glob("*.ipynb"))
    return out


def twin_of(path: Path) -> Path:
    ed = path.parent.name
    other = "en" if ed == "zh" else "zh"
    return path.parent.parent / other / path.name


def rel(path: Path) -> str:
    """Path relative to the repository root when inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (stdout, stderr). The kernel splits a
    cell's printing into chunks at arbitrary points (it flushes on a timer), so the same text
    can arrive as one output or as several; merged, it is the same on every run."""
    merged = []
    for o in outputs:
        if (
            merged
            and o.get("output_type") == "stream"
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == o.get("name")
        ):
            merged[-1]["text"] = merged[-1]["text"] + o["text"]
        else:
            merged.append(o)
    return merged
