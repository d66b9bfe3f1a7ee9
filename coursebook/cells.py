"""What a chapter notebook's cells mean to the tools: tags, solutions, titles, sections, streams.

The conventions are CONTRIBUTING's: cell 0 is `# Title`; `## What you will learn` / `## 本章目标`
lists the objectives; `## Exercises` / `## 练习` closes the chapter; a cell tagged `solution` is
a solution (code, or a written answer in a `<details>` block), which handouts and the student
edition leave out.
"""

from __future__ import annotations

import copy
import io
import re
import tokenize

OBJECTIVES_TITLES = ("What you will learn", "Learning objectives", "学习目标", "本章目标")
EXERCISES_TITLES = ("Exercises", "练习")
# A markdown heading line that opens the objectives or the exercises section.
OBJECTIVES = re.compile(rf"^##\s+({'|'.join(OBJECTIVES_TITLES)})\s*$", re.MULTILINE)
EXERCISES = re.compile(rf"^##\s+({'|'.join(EXERCISES_TITLES)})\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{2,4}\s+(.+?)\s*$", re.MULTILINE)  # sections and their sub-headings
SOLUTION_TAG = "solution"


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def is_solution(cell) -> bool:
    return SOLUTION_TAG in tags(cell)


def without_solutions(nb, clear_outputs: bool = False):
    """A copy of the notebook with every `solution` cell removed (and, if asked, every output)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not is_solution(c)]
    if clear_outputs:
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
    return nb


def title_of(nb) -> str:
    """The chapter's title: cell 0's first line without its `#`."""
    first = nb.cells[0].source.strip().splitlines()[0] if nb.cells and nb.cells[0].source.strip() else ""
    return first.lstrip("#").strip()


def find(nb, pattern: re.Pattern) -> int | None:
    """The index of the first markdown cell where pattern matches, or None."""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and pattern.search(c.source):
            return i
    return None


def headings(nb) -> list[str]:
    """Every `##` to `####` heading of the notebook, in order."""
    return [m for c in nb.cells if c.cell_type == "markdown" for m in HEADING.findall(c.source)]


def code_cell_sections(nb) -> list[tuple[int, str]]:
    """(notebook cell index, the `## ` heading above it, "" before the first) of every code cell."""
    out, heading = [], ""
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("## "):
                    heading = line[3:].strip()
        elif c.cell_type == "code":
            out.append((i, heading))
    return out


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


_LINE_STARTS = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)


def _blank(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> None:
    (r0, c0), (r1, c1) = start, end
    if r0 == r1:
        lines[r0 - 1] = lines[r0 - 1][:c0] + " " * (c1 - c0) + lines[r0 - 1][c1:]
        return
    lines[r0 - 1] = lines[r0 - 1][:c0]
    for r in range(r0, r1 - 1):
        lines[r] = ""
    lines[r1 - 1] = " " * c1 + lines[r1 - 1][c1:]


def _strip_by_tokens(src: str, docstrings: bool = False) -> list[str] | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    lines = src.splitlines()
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col]
        elif docstrings and tok.type == tokenize.STRING:
            # A string that is a whole statement (a docstring) is prose, like a comment.
            before = next((t for t in reversed(tokens[:i]) if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            after = next((t for t in tokens[i + 1 :] if t.type != tokenize.COMMENT), None)
            starts = before is None or before.type in _LINE_STARTS
            ends = after is None or after.type in (tokenize.NEWLINE, tokenize.ENDMARKER)
            if starts and ends:
                _blank(lines, tok.start, tok.end)
    return lines


def strip_comments(src: str, docstrings: bool = False) -> list[str]:
    """Lines of a code cell without comments, trailing spaces and blank lines (and without
    docstrings, i.e. strings that are a whole statement, when `docstrings`). Comments are found
    by `tokenize`, so a `#` inside a string is kept; IPython magics are transformed to Python
    first when the raw cell does not tokenize."""
    lines = _strip_by_tokens(src, docstrings)
    if lines is None:
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            lines = _strip_by_tokens(TransformerManager().transform_cell(src), docstrings)
        except Exception:  # not valid IPython either
            lines = None
    if lines is None:  # neither Python nor IPython: compare it as it is
        lines = src.splitlines()
    return [line.rstrip() for line in lines if line.strip()]
