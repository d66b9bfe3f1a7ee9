"""Stamp every chapter notebook from the single repository URL in _config.yml.

What is stamped (and what --check compares):
  cell 0   "# <title>" (kept as the author wrote it), then one generated line: the Open-in-Colab
           badge for this notebook, the "Do the exercises in Colab" badge for its student edition
           (student/<ed>/, coursebook student), and a link to the same chapter in the other edition, titled
           with the twin's own title. Nothing else belongs in cell 0.
  cell 1   the Colab-only setup cell: `pip install "minigpt[course] @ git+<repository url>@<branch>"`
           when running in Colab (the library and the plotting the chapters use), tagged
           nbval-skip and skip-execution, no outputs. Its first line is a Colab form title and
           its metadata cellView "form", so Colab shows one line, "Install minigpt (Colab only)",
           with the code folded; the book drops the title line and folds the cell with the device
           cell (coursebook.sphinx.chapter_cells). Its words are for learners: what it does, and
           what to do instead on one's own computer; nothing about how the course is built.
  metadata kernelspec python3.
No other cell is read or written.

    coursebook stamp            # rewrite the notebooks that disagree
    coursebook stamp --check    # change nothing; exit 1 and list the notebooks that disagree
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from .book import COLAB_BADGE_SVG, chapter_notebooks, colab_url, pip_spec, rel, twin_of
from .generated import Output, sync
from .student import exercises_badge

SETUP_TAGS = ["nbval-skip", "skip-execution"]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
EXTRA = "course"  # minigpt's extra with the chapters' plotting and widgets (pyproject.toml)

TWIN_LABEL = {  # label written in the language of the twin, so its readers find it
    "zh": "阅读简体中文版：",
    "en": "Read the English edition: ",
}

SETUP_COMMENT = {
    "en": (
        "#@title Install minigpt (Colab only)\n"
        "# In Colab, this installs minigpt from the course repository, with\n"
        "# the plotting and widgets the chapters use. On your own computer,\n"
        "# install it once instead, in a clone of the repository:\n"
        '#     pip install -e ".[course]"\n'
    ),
    "zh": (
        "#@title 安装 minigpt（仅在 Colab 中）\n"
        "# 在 Colab 中，这个单元格从课程仓库安装 minigpt，\n"
        "# 以及各章用到的画图和交互控件。\n"
        "# 在自己的电脑上，请克隆课程仓库，在其中安装一次：\n"
        '#     pip install -e ".[course]"\n'
    ),
}
# Colab shows a cell whose metadata says cellView "form" as its #@title line, the code folded.
SETUP_METADATA = {"cellView": "form"}


def title_of(nb, path: Path) -> str:
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise SystemExit(f"{rel(path)}: cell 0 must be a markdown cell starting with '# Title'")
    first = nb.cells[0].source.lstrip().splitlines()[0] if nb.cells[0].source.strip() else ""
    if not first.startswith("# "):
        raise SystemExit(f"{rel(path)}: cell 0 must start with a level-1 title '# ...', found {first!r}")
    return first[2:].strip()


def header_source(nb, path: Path, twin_nb) -> str:
    twin = twin_of(path)
    badge = f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(rel(path))})"
    twin_link = f"{TWIN_LABEL[twin.parent.name]}[{title_of(twin_nb, twin)}](../{twin.parent.name}/{twin.name})"
    return f"# {title_of(nb, path)}\n\n{badge} {exercises_badge(path)} · {twin_link}"


def setup_source(edition: str) -> str:
    package, url = pip_spec(EXTRA).split(" @ ")
    return (
        SETUP_COMMENT[edition]
        + "import subprocess\n"
        + "import sys\n"
        + "\n"
        # Two lines, so the folded cell fits its column on the book's page.
        + f'SPEC = (\n    "{package} @ "\n    "{url}"\n)\n'
        + 'if "google.colab" in sys.modules:\n'
        + '    pip = [sys.executable, "-m", "pip", "install", "-q", SPEC]\n'
        + "    subprocess.run(pip, check=True)"
    )


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and "google.colab" in cell.source


def stamped(nb, path: Path, twin_nb):
    """Return a stamped copy of nb and the list of reasons it differed."""
    new = copy.deepcopy(nb)
    reasons = []

    head = header_source(nb, path, twin_nb)
    if new.cells[0].source != head:
        reasons.append("cell 0 (title, Colab badge, twin link)")
        new.cells[0].source = head

    edition = path.parent.name
    want = nbformat.v4.new_code_cell(setup_source(edition), metadata={**SETUP_METADATA, "tags": list(SETUP_TAGS)})
    if len(new.cells) > 1 and is_setup_cell(new.cells[1]):
        cell = new.cells[1]
        if (
            cell.source != want.source
            or cell.metadata.get("tags") != SETUP_TAGS
            or any(cell.metadata.get(key) != value for key, value in SETUP_METADATA.items())
            or cell.get("outputs")
            or cell.get("execution_count") is not None
        ):
            reasons.append("cell 1 (Colab setup cell: source, tags, form view or outputs)")
            cell.source = want.source
            cell.metadata["tags"] = list(SETUP_TAGS)
            cell.metadata.update(SETUP_METADATA)
            cell.outputs = []
            cell.execution_count = None
    else:
        reasons.append("cell 1 (Colab setup cell missing)")
        new.cells.insert(1, want)

    if dict(new.metadata.get("kernelspec", {})) != KERNELSPEC:
        reasons.append("metadata.kernelspec (must be python3)")
        new.metadata["kernelspec"] = dict(KERNELSPEC)
    return new, reasons


def output(path: Path) -> Output:
    """What the notebook's file should hold: unchanged when it is stamped already (so a file
    another tool formatted differently is not rewritten), else nbformat's text of the stamped copy."""
    nb = nbformat.read(path, as_version=4)
    new, reasons = stamped(nb, path, nbformat.read(twin_of(path), as_version=4))
    if not reasons:
        return Output(path, path.read_text(encoding="utf-8"))
    text = nbformat.writes(new)
    return Output(path, text if text.endswith("\n") else text + "\n", reasons)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook stamp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook disagrees")
    args = ap.parse_args(argv)

    paths = chapter_notebooks()
    if not paths:
        print("no notebooks under notebooks/zh or notebooks/en", file=sys.stderr)
        return 1
    orphans = [p for p in paths if not twin_of(p).exists()]
    if orphans:
        for path in orphans:
            print(f"{rel(path)}: its twin {rel(twin_of(path))} does not exist; not stamped", file=sys.stderr)
        return 1
    return sync(
        [output(p) for p in paths],
        check=args.check,
        what=f"notebooks stamped from _config.yml ({pip_spec(EXTRA)})",
        fix="coursebook stamp",
    )
