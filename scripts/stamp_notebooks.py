"""Stamp every chapter notebook from the single repository URL in _config.yml.

What is stamped (and what --check compares):
  cell 0   "# <title>" (kept as the author wrote it), then one generated line: the Open-in-Colab
           badge for this notebook and a link to the same chapter in the other edition, titled
           with the twin's own title. Nothing else belongs in cell 0.
  cell 1   the Colab-only setup cell: `pip install git+<repository url>@<branch>` when running
           in Colab, tagged nbval-skip and skip-execution, no outputs.
  metadata kernelspec python3.

    python scripts/stamp_notebooks.py            # rewrite notebooks that disagree
    python scripts/stamp_notebooks.py --check    # exit 1 and list the notebooks that disagree
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_common import (  # noqa: E402
    COLAB_BADGE_SVG,
    KERNELSPEC,
    SETUP_TAGS,
    chapter_notebooks,
    colab_url,
    pip_spec,
    rel,
    twin_of,
)

TWIN_LABEL = {  # label written in the language of the twin, so its readers find it
    "zh": "阅读简体中文版：",
    "en": "Read the English edition: ",
}

SETUP_COMMENT = {
    "en": (
        "# Colab only: install minigpt from the course repository. Elsewhere, install it once in\n"
        '# a clone of the repository (pip install -e ".[book]"). CI and the book never run this cell.\n'
        "# Written by scripts/stamp_notebooks.py: edit the script, not this cell.\n"
    ),
    "zh": (
        "# 仅在 Colab 中运行：从课程仓库安装 minigpt。在本地，请先克隆仓库并安装一次\n"
        '# （pip install -e ".[book]"）。CI 和在线书都不会运行这个单元格。\n'
        "# 本单元格由 scripts/stamp_notebooks.py 生成：要改就改脚本，不要手改这里。\n"
    ),
}


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
    return f"# {title_of(nb, path)}\n\n{badge} · {twin_link}"


def setup_source(edition: str) -> str:
    return (
        SETUP_COMMENT[edition]
        + "import subprocess\n"
        + "import sys\n"
        + "\n"
        + 'if "google.colab" in sys.modules:\n'
        + f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{pip_spec()}"], check=True)'
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
    want = nbformat.v4.new_code_cell(setup_source(edition), metadata={"tags": list(SETUP_TAGS)})
    if len(new.cells) > 1 and is_setup_cell(new.cells[1]):
        cell = new.cells[1]
        if (
            cell.source != want.source
            or cell.metadata.get("tags") != SETUP_TAGS
            or cell.get("outputs")
            or cell.get("execution_count") is not None
        ):
            reasons.append("cell 1 (Colab setup cell: source, tags or outputs)")
            cell.source = want.source
            cell.metadata["tags"] = list(SETUP_TAGS)
            cell.outputs = []
            cell.execution_count = None
    else:
        reasons.append("cell 1 (Colab setup cell missing)")
        new.cells.insert(1, want)

    if dict(new.metadata.get("kernelspec", {})) != KERNELSPEC:
        reasons.append("metadata.kernelspec (must be python3)")
        new.metadata["kernelspec"] = dict(KERNELSPEC)
    return new, reasons


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook disagrees")
    args = ap.parse_args(argv)

    paths = chapter_notebooks()
    if not paths:
        print("no notebooks under notebooks/zh or notebooks/en", file=sys.stderr)
        return 1
    bad = []
    for path in paths:
        twin = twin_of(path)
        if not twin.exists():
            bad.append((path, [f"its twin {rel(twin)} does not exist"]))
            continue
        nb = nbformat.read(path, as_version=4)
        twin_nb = nbformat.read(twin, as_version=4)
        new, reasons = stamped(nb, path, twin_nb)
        if reasons:
            bad.append((path, reasons))
            if not args.check:
                nbformat.write(new, path)
    if args.check:
        if bad:
            print(
                "stamp check FAILED: these notebooks disagree with _config.yml's repository "
                "(run `python scripts/stamp_notebooks.py` to fix):"
            )
            for path, reasons in bad:
                print(f"  {rel(path)}: " + "; ".join(reasons))
            return 1
        print(f"stamp check passed: {len(paths)} notebooks agree with {pip_spec()}")
        return 0
    missing = [(p, r) for p, r in bad if any("does not exist" in x for x in r)]
    for path, reasons in bad:
        verb = "NOT stamped" if (path, reasons) in missing else "stamped"
        print(f"{verb}: {rel(path)}: " + "; ".join(reasons))
    print(f"{len(paths)} notebooks, {len(bad) - len(missing)} rewritten")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
