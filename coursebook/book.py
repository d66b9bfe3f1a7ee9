"""Where the book's pieces are, and the course repository's URL.

The repository is found once: the folder above this package when it holds `_config.yml` (the
package lives at the top of the course repository and is installed from there, editable), else
the nearest folder holding `_config.yml` and `notebooks/` from the current directory up.

The course repository URL and branch are read from `_config.yml` (`repository.url`,
`repository.branch`); nothing else in the repository spells them out.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml


def _find_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    if (here / "_config.yml").is_file():
        return here
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "_config.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    sys.exit("coursebook: no course repository here (a folder with _config.yml and notebooks/): run it inside one")


ROOT = _find_root()
NOTEBOOKS = ROOT / "notebooks"
EDITIONS = ("zh", "en")  # folder names under notebooks/ and book/
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"


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


def pip_spec(extra: str = "") -> str:
    """What pip installs the course's minigpt from: the repository at its branch, with an extra."""
    url, branch = repository()
    return f"minigpt[{extra}] @ git+{url}@{branch}" if extra else f"git+{url}@{branch}"


def chapter_notebooks(edition: str | None = None) -> list[Path]:
    """Every chapter notebook (notebooks/<edition>/NN_name.ipynb), sorted."""
    editions = [edition] if edition else list(EDITIONS)
    out: list[Path] = []
    for ed in editions:
        out += sorted(p for p in (NOTEBOOKS / ed).glob("*.ipynb"))
    return out


def chapter_names() -> list[str]:
    """The chapters' file stems (NN_name), from both editions."""
    return sorted({p.stem for p in chapter_notebooks()})


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
