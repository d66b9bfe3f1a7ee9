"""Write copies of the chapter notebooks without their solutions, for handing out exercises.

Every cell tagged `solution` (code solutions and the markdown cells that hold written
solutions) is left out. The repository's notebooks are not changed.

    coursebook handout --out _build/handout/                           # both editions
    coursebook handout --edition zh --clear-outputs --out _build/handout/

The Colab badge in a handout still opens the repository's notebook, which has the solutions;
share the handout files themselves (Drive, the course site) with students.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from .book import EDITIONS, chapter_notebooks
from .cells import without_solutions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook handout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, required=True, help="output folder (gets zh/ and en/ inside)")
    ap.add_argument("--edition", choices=EDITIONS, help="default: both")
    ap.add_argument("--clear-outputs", action="store_true", help="also remove every output")
    args = ap.parse_args(argv)

    for path in chapter_notebooks(args.edition):
        nb = nbformat.read(path, as_version=4)
        handout = without_solutions(nb, clear_outputs=args.clear_outputs)
        target = args.out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(handout, target)
        print(f"{target}: {len(nb.cells) - len(handout.cells)} solution cell(s) removed")
    return 0
