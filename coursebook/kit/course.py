"""One edition as one printed book, course.pdf: a cover, a table of contents with page numbers,
every chapter with its outputs, without its solutions and without the folded answers of its
questions (a reader who prints the course has no "open it after you have a guess").

Chromium makes the PDF's bookmarks from the headings (page.pdf(outline=True, tagged=True)): one per
chapter (`#`, h1) and one per section (`##`, h2) under it, `###` one level deeper. The contents'
page numbers come from a first printing: kit.pdf reads the page of each bookmark, and the page is
printed again with them (the contents keep their length, so no page moves).
"""

from __future__ import annotations

import html
import re

from ..book import config
from ..cells import is_solution, tags, title_of
from .render import Renderer
from .words import WORDS

DETAILS = re.compile(r"<details\b.*?</details>\s*", re.DOTALL)
HEADING = re.compile(r"<h([12])>(.*?)</h\1>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")
PLACEHOLDER = "000"

COURSE_CSS = """
.cover { height: 240mm; display: flex; flex-direction: column; justify-content: center; }
.cover .book { font-size: 30pt; font-weight: bold; line-height: 1.2; margin-bottom: 14pt; }
.cover .edition { font-size: 16pt; color: #2c5d8a; margin-bottom: 36pt; }
.cover .author, .cover .repo { font-size: 11pt; color: #444; }
.toc { break-before: page; }
.toc ol { list-style: none; padding: 0; margin: 0; }
.toc li.toc-chapter { font-weight: bold; margin-top: 5pt; }
.toc li.toc-section { padding-left: 14pt; font-size: 9.5pt; }
.toc a { color: inherit; text-decoration: none; display: flex; gap: 4pt; }
.toc a .t { flex: none; max-width: 88%; }
.toc a .dots { flex: 1; border-bottom: 0.6pt dotted #999; margin-bottom: 3pt; }
.toc a .p { flex: none; min-width: 16pt; text-align: right; font-variant-numeric: tabular-nums; }
.chapter { break-before: page; }
"""


def plain(fragment: str) -> str:
    """A heading's text: tags dropped, entities decoded, whitespace squeezed."""
    return " ".join(html.unescape(TAG.sub("", fragment)).split())


def chapter_html(nb, edition: str, site: str, k: int) -> tuple[str, list[tuple[int, str, str]]]:
    """(HTML, [(level, text, id)]) of one chapter as printed in the course: no solution cell, no
    folded answer, no Colab install cell; its h1 and h2 headings get ids for the contents."""
    r = Renderer(edition, site)
    parts = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell) or (cell.cell_type == "code" and "skip-execution" in tags(cell) and i <= 1):
            continue
        if cell.cell_type == "markdown":
            source = DETAILS.sub("", cell.source)
            if source.strip():
                parts.append(f'<div class="md">{r.markdown(source)}</div>')
        else:
            parts.append(r.cell(cell))
    body = "".join(parts)
    found: list[tuple[int, str, str]] = []

    def add_id(m: re.Match) -> str:
        ident = f"c{k}-{len(found)}"
        found.append((int(m.group(1)), plain(m.group(2)), ident))
        return f'<h{m.group(1)} id="{ident}">{m.group(2)}</h{m.group(1)}>'

    body = HEADING.sub(add_id, body)
    return f'<section class="chapter">{body}</section>', found


def contents(edition: str, entries: list[tuple[int, str, str]], pages: dict[str, int] | None) -> str:
    """The table of contents: chapters and their sections, each with its page (a placeholder of the
    same width before the pages are known)."""
    rows = []
    for level, text, ident in entries:
        page = PLACEHOLDER if pages is None else str(pages.get(ident, ""))
        kind = "toc-chapter" if level == 1 else "toc-section"
        rows.append(
            f'<li class="{kind}"><a href="#{ident}"><span class="t">{html.escape(text)}</span>'
            f'<span class="dots"></span><span class="p">{page}</span></a></li>'
        )
    return f'<section class="toc"><h1>{WORDS[edition]["contents"]}</h1><ol>{"".join(rows)}</ol></section>'


def metadata(edition: str) -> dict[str, str]:
    """The PDF's title and author: the book's, from _config.yml, and the edition."""
    cfg = config()
    return {
        "/Title": f"{cfg.get('title', '')} · {WORDS[edition]['edition']}",
        "/Author": str(cfg.get("author", "")),
    }


class CourseBook:
    """The printed edition, built once; `html(pages)` writes it with or without the page numbers."""

    def __init__(self, edition: str, notebooks: list, site: str):
        self.edition = edition
        self.chapters, self.entries = [], []
        for k, nb in enumerate(notebooks):
            body, found = chapter_html(nb, edition, site, k)
            self.chapters.append(body)
            self.entries += found
        self.titles = [title_of(nb) for nb in notebooks]

    def cover(self) -> str:
        cfg = config()
        repo = (cfg.get("repository") or {}).get("url", "")
        return (
            f'<div class="cover"><div class="book">{html.escape(str(cfg.get("title", "")))}</div>'
            f'<div class="edition">{WORDS[self.edition]["edition"]}</div>'
            f'<div class="author">{html.escape(str(cfg.get("author", "")))}</div>'
            f'<div class="repo">{html.escape(str(repo))}</div></div>'
        )

    def parts(self, pages: dict[str, int] | None) -> list[str]:
        return [self.cover(), contents(self.edition, self.entries, pages), *self.chapters]
