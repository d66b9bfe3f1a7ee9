"""Check that the zh and en editions are in lockstep, so that nbval may run on one edition only.

For each chapter (notebooks/zh/X.ipynb and notebooks/en/X.ipynb) it compares:
  * the file sets of the two editions (every chapter exists in both);
  * the code cells, in order, with Python comments and docstrings removed (by `tokenize`, so a `#` inside a
    string is kept), trailing spaces and blank lines ignored; IPython magics are transformed
    to Python first when the raw cell does not tokenize;
  * the tags of every code cell, and the tags of the tagged markdown cells, in order;
  * the outputs of every code cell after the nbval sanitize patterns (nbval_sanitize.cfg):
    stream text, text/plain, text/html, text/markdown, text/latex, JSON and SVG exactly;
    images by SHA-256 of their bytes (default) or by pixel size (--images shape); widget views
    by presence only (their model ids are random); for cells tagged nbval-ignore-output only
    the kinds of output are compared, since their content is volatile by declaration;
  * that each notebook's outputs come from one clean top-to-bottom run: every code cell that is
    not tagged skip-execution has an execution count, and the counts are 1, 2, 3, ...;
  * the same (code, tags, outputs) for the student edition, student/zh and student/en;
  * the fact-check boxes (block quotes starting "> **Fact check FC-NN-M**" or "> **核查 FC-NN-M**")
    of the two editions: numbered in reading order (a chapter's boxes are FC-NN-1, FC-NN-2, ... as
    they appear, NN its own number), and each one listed in both fact-check log pages
    (book/zh/fact_check.md, book/en/fact_check.md) and vice versa.

Images are compared by hash because `make notebooks` executes both editions in one environment:
identical code then yields identical PNG bytes (matplotlib writes no timestamp), and a hash is the
only check that catches a figure left stale in one edition. If the editions are ever executed in
different environments, `--images shape` compares the pixel size instead.

    coursebook parity                 # exit 1 with a diff of what differs
    coursebook parity --images shape
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import re
import struct
from pathlib import Path

import nbformat

from .book import EDITIONS, NOTEBOOKS, ROOT, rel
from .cells import merge_streams, strip_comments

FC_ID = re.compile(r"\bFC-\d{2}-\d+\b")
# A fact-check box is a block quote whose first line is "> **Fact check FC-NN-M**" (en) or
# "> **核查 FC-NN-M**" (zh); identifiers mentioned elsewhere in the prose are not boxes.
FC_BOX = re.compile(r"^>\s*\*\*(?:Fact check|核查)\s+(FC-\d{2}-\d+)\*\*", re.MULTILINE)
EXACT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json", "image/svg+xml")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# ----------------------------------------------------------------------------- outputs
def load_sanitizers(path: Path) -> list[tuple[str, str]]:
    # the same parsing as nbval.plugin.get_sanitize_patterns
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def png_size(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return f"{w}x{h}"
    return "unknown size"


def render_outputs(cell, sanitize, images: str) -> list[str]:
    tags = cell.metadata.get("tags", [])
    ignore = "nbval-ignore-output" in tags
    out = []
    for o in merge_streams(cell.get("outputs", [])):
        kind = o.output_type
        if kind == "stream":
            out.append(f"  stream {o.name}" + ("" if ignore else ":\n" + indent(sanitize(o.text))))
        elif kind == "error":
            out.append(f"  error {o.ename}: {sanitize(o.evalue)}")
        else:
            for mime in sorted(o.get("data", {})):
                value = o.data[mime]
                if ignore or mime == WIDGET_MIME:
                    out.append(f"  {kind} {mime}: present")
                elif mime.startswith("image/") and mime != "image/svg+xml":
                    raw = base64.b64decode(value if isinstance(value, str) else "".join(value))
                    digest = hashlib.sha256(raw).hexdigest()[:16]
                    size = png_size(raw) if mime == "image/png" else "n/a"
                    shown = f"size {size}" if images == "shape" else f"sha256 {digest}, size {size}"
                    out.append(f"  {kind} {mime}: {shown}")
                elif mime in EXACT_MIMES or isinstance(value, str):
                    text = value if isinstance(value, str) else str(value)
                    out.append(f"  {kind} {mime}:\n" + indent(sanitize(text)))
                else:
                    out.append(f"  {kind} {mime}: {sanitize(str(value))}")
    if ignore and cell.get("outputs"):
        out.append("  (content not compared: nbval-ignore-output)")
    return out


def indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.rstrip("\n").split("\n"))


def render(nb, sanitize, images: str) -> tuple[list[str], list[str]]:
    """(code and tags rendering, outputs rendering) of a notebook, cell by cell."""
    code, outputs = [], []
    k = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            k += 1
            code.append(f"code cell {k} tags={tags}")
            code += ["    " + line for line in strip_comments(cell.source, docstrings=True)]
            outputs.append(f"code cell {k} outputs:")
            outputs += render_outputs(cell, sanitize, images)
        elif tags:
            code.append(f"markdown cell tags={tags}")
    return code, outputs


def run_order(nb) -> list[str]:
    problems = []
    counts = []
    k = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        k += 1
        if "skip-execution" in cell.metadata.get("tags", []):
            continue
        if cell.execution_count is None:
            problems.append(f"code cell {k} was not executed")
        else:
            counts.append(cell.execution_count)
    if counts and counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts {counts} are not 1..{len(counts)} (not one clean run; `make notebooks`)")
    return problems


def fact_check_ids(nb) -> set[str]:
    return {m for c in nb.cells if c.cell_type == "markdown" for m in FC_BOX.findall(c.source)}


def box_order(nb, chapter: str) -> list[str]:
    """FC-NN-M is the M-th box of chapter NN: a reader meets the boxes, and the log (sorted by id) lists
    them, in one order. `chapter` is the notebook's number, "03" for 03_tokens.ipynb."""
    found = [m for c in nb.cells if c.cell_type == "markdown" for m in FC_BOX.findall(c.source)]
    expected = [f"FC-{chapter}-{m}" for m in range(1, len(found) + 1)]
    if found == expected:
        return []
    return [
        f"fact-check boxes in reading order are {found}, not {expected}: "
        "renumber them (the chapter, the log and every reference)"
    ]


def student_parity(folder: Path, sanitize, images: str) -> list[str]:
    """The student edition (coursebook student) in lockstep too: its zh and en notebooks have the same
    code cells, tags and outputs. Its execution counts have gaps (the solution cells are gone)."""
    a, b = EDITIONS
    names = {ed: {p.name for p in (folder / ed).glob("*.ipynb")} for ed in EDITIONS}
    failures = [
        f"file set: {rel(folder / ed / name)} has no twin in {rel(folder / other)}"
        for ed, other in ((a, b), (b, a))
        for name in sorted(names[ed] - names[other])
    ]
    for name in sorted(names[a] & names[b]):
        pa, pb = folder / a / name, folder / b / name
        ca, oa = render(nbformat.read(pa, as_version=4), sanitize, images)
        cb, ob = render(nbformat.read(pb, as_version=4), sanitize, images)
        if ca != cb:
            failures.append(f"student {name}: code cells or tags differ:\n" + diff(ca, cb, rel(pa), rel(pb)))
        if oa != ob:
            failures.append(f"student {name}: outputs differ:\n" + diff(oa, ob, rel(pa), rel(pb)))
    return failures


# ----------------------------------------------------------------------------- main
def diff(a: list[str], b: list[str], name_a: str, name_b: str, limit: int = 80) -> str:
    lines = list(difflib.unified_diff(a, b, name_a, name_b, n=2, lineterm=""))
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook parity", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", choices=["hash", "shape"], default="hash", help="how images are compared")
    ap.add_argument("--sanitize", type=Path, default=ROOT / "nbval_sanitize.cfg")
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="folder holding zh/ and en/")
    ap.add_argument("--student", type=Path, default=ROOT / "student", help="the student edition's zh/ and en/")
    ap.add_argument(
        "--fact-check-pages", type=Path, default=ROOT / "book", help="folder holding zh/ and en/fact_check.md"
    )
    args = ap.parse_args(argv)

    patterns = load_sanitizers(args.sanitize)

    def sanitize(s: str) -> str:
        for regex, repl in patterns:
            s = re.sub(regex, repl, s)
        return s

    failures: list[str] = []
    a, b = EDITIONS
    names = {ed: {p.name for p in (args.notebooks / ed).glob("*.ipynb")} for ed in EDITIONS}
    for ed, other in ((a, b), (b, a)):
        for name in sorted(names[ed] - names[other]):
            failures.append(f"file set: notebooks/{ed}/{name} has no twin notebooks/{other}/{name}")
    if not names[a] & names[b]:
        failures.append("no chapter notebooks found")

    ids = {ed: set() for ed in EDITIONS}
    for name in sorted(names[a] & names[b]):
        pa, pb = args.notebooks / a / name, args.notebooks / b / name
        na, nb_ = nbformat.read(pa, as_version=4), nbformat.read(pb, as_version=4)
        ca, oa = render(na, sanitize, args.images)
        cb, ob = render(nb_, sanitize, args.images)
        if ca != cb:
            failures.append(f"{name}: code cells or tags differ (comments ignored):\n" + diff(ca, cb, rel(pa), rel(pb)))
        if oa != ob:
            failures.append(f"{name}: outputs differ (after nbval_sanitize.cfg):\n" + diff(oa, ob, rel(pa), rel(pb)))
        for path, nb in ((pa, na), (pb, nb_)):
            for problem in run_order(nb) + box_order(nb, name[:2]):
                failures.append(f"{rel(path)}: {problem}")
        ids[a] |= fact_check_ids(na)
        ids[b] |= fact_check_ids(nb_)

    failures += student_parity(args.student, sanitize, args.images)

    if ids[a] != ids[b]:
        failures.append(
            f"fact-check boxes differ: only in {a}: {sorted(ids[a] - ids[b])}, only in {b}: {sorted(ids[b] - ids[a])}"
        )
    for ed in EDITIONS:
        page = args.fact_check_pages / ed / "fact_check.md"
        logged = set(FC_ID.findall(page.read_text(encoding="utf-8"))) if page.exists() else set()
        if not page.exists():
            failures.append(f"{rel(page)} is missing")
        if ids[ed] - logged:
            failures.append(f"{rel(page)}: fact-check boxes not in the log: {sorted(ids[ed] - logged)}")
        if logged - ids[ed]:
            failures.append(f"{rel(page)}: logged but no box in any {ed} chapter: {sorted(logged - ids[ed])}")

    if failures:
        print(f"parity check FAILED ({len(failures)} problem(s)):\n")
        print("\n\n".join(failures))
        return 1
    n = len(names[a] & names[b])
    print(
        f"parity check passed: {n} chapters, zh and en agree on code, tags and outputs "
        f"(images by {args.images}); {len(ids[a])} fact-check ids, all logged"
    )
    return 0
