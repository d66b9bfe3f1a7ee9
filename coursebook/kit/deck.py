"""A chapter's slide source, kit/slides/<edition>/NN_name.md, read and checked against its notebook.

The format (CONTRIBUTING, rule 17): YAML front matter (`title`, `question`, `summary`), then slides
separated by a line holding only `---`. A slide is a `## heading`, a few lines of Markdown, at most
one figure or block, and its speaker notes after a line starting with `Note:`. Two references take
what the committed notebook shows, so a slide never drifts from its chapter:

    ![alt text](cell:CELL_ID)        the first image output of the cell with that id (#2: the second)
    ```output cell=CELL_ID lines=2-4
    ```                              lines 2 to 4 (1-based, inclusive) of the cell's printed text

A zh deck may name the en notebook's ids: a code cell's position is the same in both editions
(the parity check sees to it), so an id missing from the zh notebook is looked up in the en one
and taken at the same code-cell position. Everything a reference needs is checked here; each
problem names the deck, the slide, the reference and the fix (`DeckError` holds them all).
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from ..book import NOTEBOOKS, ROOT, rel
from ..cells import merge_streams, strip_comments

SLIDES = ROOT / "kit" / "slides"
FRONT_MATTER = ("title", "question", "summary")
FENCE = re.compile(r"^(`{3,}|~{3,})")
IMAGE_REF = re.compile(r"!\[([^\]]*)\]\(cell:([^)#\s]+)(?:#(\d+))?\)")
OUTPUT_INFO = re.compile(r"^output\s+cell=(\S+)(?:\s+lines=(\d+)-(\d+))?\s*$")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")


class DeckError(Exception):
    """Every problem found in one deck, one per line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Slide:
    number: int  # 1-based, among the content slides
    body: str  # Markdown shown on the slide
    notes: str  # Markdown for the speaker notes


@dataclass
class Deck:
    edition: str
    name: str
    path: Path
    title: str
    question: str
    summary: str
    slides: list[Slide] = field(default_factory=list)


def deck_path(edition: str, name: str, root: Path = SLIDES) -> Path:
    return root / edition / f"{name}.md"


def _split_outside_fences(lines: list[str], is_separator) -> list[list[str]]:
    """Split lines at every line for which is_separator(line) holds, except inside fenced blocks."""
    parts: list[list[str]] = [[]]
    fence = None
    for line in lines:
        m = FENCE.match(line.strip())
        if m and (fence is None or m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)):
            fence = m.group(1) if fence is None else None
        if fence is None and is_separator(line):
            parts.append([])
        else:
            parts[-1].append(line)
    return parts


def parse(text: str, edition: str, name: str, path: Path) -> Deck:
    """The deck as written; DeckError when its front matter or a slide's shape is wrong."""
    where = rel(path)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise DeckError([f"{where}: must start with front matter between two lines `---` ({', '.join(FRONT_MATTER)})"])
    end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise DeckError([f"{where}: the front matter is not valid YAML: {exc}"]) from exc
    problems = [
        f"{where}: front matter needs `{key}` (a non-empty string)"
        for key in FRONT_MATTER
        if not isinstance(meta.get(key), str) or not meta[key].strip()
    ]
    slides = []
    chunks = _split_outside_fences(lines[end + 1 :], lambda line: line.strip() == "---")
    for chunk in chunks:
        if not "\n".join(chunk).strip():
            continue
        parts = _split_outside_fences(chunk, lambda line: line.startswith("Note:"))
        body = "\n".join(parts[0]).strip()
        note_start = next((i for i, line in enumerate(chunk) if line.startswith("Note:")), None)
        notes = ""
        if note_start is not None and len(parts) > 1:
            notes = "\n".join([chunk[note_start][len("Note:") :], *chunk[note_start + 1 :]]).strip()
        number = len(slides) + 1
        if not body.startswith("## "):
            problems.append(f"{where}, slide {number}: must open with a `## heading` (found {body[:40]!r})")
        slides.append(Slide(number, body, notes))
    if not slides:
        problems.append(f"{where}: no slides after the front matter (slides are separated by lines `---`)")
    if problems:
        raise DeckError(problems)
    return Deck(edition, name, path, meta["title"].strip(), meta["question"].strip(), meta["summary"].strip(), slides)


def load(edition: str, name: str, root: Path = SLIDES) -> Deck:
    path = deck_path(edition, name, root)
    if not path.exists():
        raise DeckError(
            [f"{rel(path)} is missing: every chapter has a slide source per edition (CONTRIBUTING, rule 17)"]
        )
    return parse(path.read_text(encoding="utf-8"), edition, name, path)


@dataclass
class Figure:
    mime: str
    data: str  # base64 (PNG, JPEG) or the SVG text
    width: int = 0  # pixels as saved, 0 when unknown (SVG)
    height: int = 0


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header, (0, 0) if it is not one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return 0, 0
    return struct.unpack(">II", data[16:24])


class Cells:
    """A chapter's cells by id, in one edition, with the en notebook as the map for a zh deck."""

    def __init__(self, edition: str, name: str, notebooks: Path = NOTEBOOKS):
        self.edition, self.name = edition, name
        self.path = notebooks / edition / f"{name}.ipynb"
        self.nb = nbformat.read(self.path, as_version=4)
        self.en = self.nb if edition == "en" else nbformat.read(notebooks / "en" / f"{name}.ipynb", as_version=4)

    def cell(self, cell_id: str):
        """The cell with this id here, or the code cell at the same position as the en cell with it."""
        for c in self.nb.cells:
            if c.get("id") == cell_id:
                return c
        if self.edition != "en":
            en_code = [c for c in self.en.cells if c.cell_type == "code"]
            k = next((k for k, c in enumerate(en_code) if c.get("id") == cell_id), None)
            if k is not None:
                code = [c for c in self.nb.cells if c.cell_type == "code"]
                if k >= len(code):
                    raise LookupError(
                        f"cell {cell_id} is code cell {k + 1} of notebooks/en/{self.name}.ipynb, and "
                        f"notebooks/{self.edition}/{self.name}.ipynb has {len(code)} code cells: the editions "
                        "are out of step (coursebook parity)"
                    )
                ours, en = (strip_comments(c.source, docstrings=True) for c in (code[k], en_code[k]))
                if ours != en:
                    raise LookupError(
                        f"cell {cell_id} is code cell {k + 1} of notebooks/en/{self.name}.ipynb, but that code "
                        f"cell of notebooks/{self.edition}/{self.name}.ipynb holds other code: the editions are "
                        "out of step (coursebook parity)"
                    )
                return code[k]
        places = [rel(self.path)] + ([f"notebooks/en/{self.name}.ipynb"] if self.edition != "en" else [])
        raise LookupError(
            f"no cell with id {cell_id!r} in {' or '.join(places)}: the cell was removed or its id changed; "
            'point the deck at the cell that shows this now (its "id" field)'
        )

    def figure(self, cell_id: str, number: int = 1) -> Figure:
        c = self.cell(cell_id)
        images = []
        for o in c.get("outputs", []):
            data = o.get("data", {}) if o.get("output_type") in ("display_data", "execute_result") else {}
            mime = next((m for m in IMAGE_MIMES if m in data), None)
            if mime:
                raw = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
                images.append(Figure(mime, raw.strip()))
        if not images:
            raise LookupError(f"cell {cell_id} has no image output (is it the cell that draws the figure?)")
        if number > len(images):
            raise LookupError(f"cell {cell_id} has {len(images)} image output(s); #{number} asks for image {number}")
        fig = images[number - 1]
        if fig.mime == "image/png":
            fig.width, fig.height = png_size(base64.b64decode(fig.data))
        return fig

    def text(self, cell_id: str, lines: tuple[int, int] | None = None) -> str:
        """The cell's printed text (stdout; else its value's text/plain), or the lines asked for."""
        c = self.cell(cell_id)
        outputs = merge_streams([dict(o) for o in c.get("outputs", [])])
        text = "".join(o["text"] for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
        if not text.strip():
            for o in outputs:
                plain = o.get("data", {}).get("text/plain") if o.get("output_type") == "execute_result" else None
                if plain:
                    text = plain if isinstance(plain, str) else "".join(plain)
        if not text.strip():
            raise LookupError(f"cell {cell_id} prints no text (no stdout, no text value)")
        all_lines = text.rstrip("\n").splitlines()
        if lines is None:
            return "\n".join(all_lines)
        a, b = lines
        if not 1 <= a <= b <= len(all_lines):
            raise LookupError(
                f"lines={a}-{b} is out of range: cell {cell_id} prints {len(all_lines)} lines "
                f"(1-{len(all_lines)}); the output changed, pick the lines again"
            )
        return "\n".join(all_lines[a - 1 : b])


def references(body: str) -> list[tuple[str, str, int | tuple[int, int] | None]]:
    """('figure', id, image number) and ('output', id, (a, b) or None) in a slide's Markdown."""
    refs: list[tuple[str, str, int | tuple[int, int] | None]] = []
    for m in IMAGE_REF.finditer(body):
        refs.append(("figure", m.group(2), int(m.group(3) or 1)))
    for line in body.splitlines():
        m = FENCE.match(line.strip())
        if m:
            info = line.strip()[len(m.group(1)) :].strip()
            if info.startswith("output"):
                o = OUTPUT_INFO.match(info)
                if o is None:
                    refs.append(("bad-output", info, None))
                else:
                    span = (int(o.group(2)), int(o.group(3))) if o.group(2) else None
                    refs.append(("output", o.group(1), span))
    return refs


def check(deck: Deck, cells: Cells) -> list[str]:
    """Every reference of the deck that does not resolve, each with the fix."""
    problems = []
    for slide in deck.slides:
        for kind, ref, arg in references(slide.body):
            where = f"{rel(deck.path)}, slide {slide.number}"
            try:
                if kind == "figure":
                    assert isinstance(arg, int)
                    cells.figure(ref, arg)
                elif kind == "output":
                    assert arg is None or isinstance(arg, tuple)
                    cells.text(ref, arg)
                else:
                    problems.append(
                        f"{where}: ```{ref}: write ```output cell=CELL_ID or ```output cell=CELL_ID lines=A-B"
                    )
            except LookupError as exc:
                problems.append(f"{where}: {exc}")
    return problems
