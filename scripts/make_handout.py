"""Write copies of the chapter notebooks without their solutions, for handing out exercises.

Every cell tagged `solution` (code solutions and the markdown cells that hold written
solutions) is removed. The repository's notebooks are not changed.

    python scripts/make_handout.py --out _build/handout/              # both editions
    python scripts/make_handout.py --edition zh --clear-outputs --out _build/handout/

Note: the Colab badge in a handout still opens the repository's notebook, which has the
solutions; share the handout files themselves (Drive, the course site) with students.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_common import EDITIONS, chapter_notebooks  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="output folder (gets zh/ and en/ inside)")
    ap.add_argument("--edition", choices=EDITIONS, help="default: both")
    ap.add_argument("--clear-outputs", action="store_true", help="also remove every output")
    args = ap.parse_args(argv)

    for path in chapter_notebooks(args.edition):
        nb = nbformat.read(path, as_version=4)
        kept = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
        removed = len(nb.cells) - len(kept)
        nb.cells = kept
        if args.clear_outputs:
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            nb.metadata.pop("widgets", None)
        target = args.out / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        print(f"{target}: {removed} solution cell(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
