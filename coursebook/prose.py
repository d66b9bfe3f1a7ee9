"""The course's prose as pieces of text with a place, for the checks that read words
(`coursebook zh-style`, `coursebook authoring-words`).

A piece is one markdown cell of a chapter (or the comments of one code cell), one string of a
quiz, one slide file, one book page. `prose_only` blanks what is not prose (fenced code, inline
code, math, link targets, HTML tags, a slide's output directives) with spaces, so a rule's match
keeps its line number and never fires inside code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .book import ROOT, rel


@dataclass
class Piece:
    path: str  # relative to the repository
    where: str  # "cell 12 (id 3f2a...)", "question 3, answer 2, feedback", "" for a whole file
    text: str
    kind: str  # "markdown", "comments", "quiz", "slides", "page"

    def line_of(self, offset: int) -> int:
        """1-based line of a character offset within the piece."""
        return self.text.count("\n", 0, offset) + 1


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group())


FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
MATH = re.compile(r"(?<![\\$])\$[^$\n]+\$")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK_TARGET = re.compile(r"\]\([^)\n]*\)")
HTML_TAG = re.compile(r"<[^>\n]+>")
COMMENT = re.compile(r"<!--.*?-->", re.S)


def prose_only(text: str) -> str:
    """text with code, math, link targets, comments and HTML tags blanked (same length and lines)."""
    for pattern in (FENCE, COMMENT, MATH_BLOCK, INLINE_CODE, MATH, LINK_TARGET, HTML_TAG):
        text = pattern.sub(_blank, text)
    return text


def _comments(source: str) -> str:
    """The comments of a code cell, each on its own line (the code blanked)."""
    lines = []
    for line in source.splitlines():
        hash_at = line.find("#")
        lines.append(" " * hash_at + line[hash_at:] if hash_at >= 0 else "")
    return "\n".join(lines)


def chapter_pieces(edition: str, comments: bool = True) -> list[Piece]:
    pieces = []
    for path in sorted((ROOT / "notebooks" / edition).glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            source = "".join(cell["source"])
            where = f"cell {i} (id {cell.get('id', '?')})"
            if cell["cell_type"] == "markdown":
                pieces.append(Piece(rel(path), where, source, "markdown"))
            elif cell["cell_type"] == "code" and comments:
                pieces.append(Piece(rel(path), where, _comments(source), "comments"))
    return pieces


def quiz_pieces(edition: str) -> list[Piece]:
    pieces = []
    for path in sorted((ROOT / "kit" / "quizzes" / edition).glob("*.json")):
        for q, question in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
            pieces.append(Piece(rel(path), f"question {q}", question.get("question", ""), "quiz"))
            for a, answer in enumerate(question.get("answers", []), start=1):
                for key in ("answer", "feedback"):
                    if isinstance(answer.get(key), str):
                        pieces.append(Piece(rel(path), f"question {q}, answer {a}, {key}", answer[key], "quiz"))
    return pieces


def slide_pieces(edition: str) -> list[Piece]:
    folder = ROOT / "kit" / "slides" / edition
    return [Piece(rel(p), "", p.read_text(encoding="utf-8"), "slides") for p in sorted(folder.glob("*.md"))]


def page_pieces(edition: str) -> list[Piece]:
    folder = ROOT / "book" / edition
    return [Piece(rel(p), "", p.read_text(encoding="utf-8"), "page") for p in sorted(folder.rglob("*.md"))]
