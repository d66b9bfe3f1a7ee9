"""The kit's PDFs: printed by the system Chromium with bookmarks (a tagged PDF's outline), their
title and author set with pypdf, then checked with poppler-utils and pypdf.

Checks on what was written, each failing the run: no line of a solution cell, no folded answer and
no quiz feedback is in a worksheet's text (pdftotext), while every code solution line and every
folded answer is in the answer key (so the check can fail); a worksheet prints on 2 to 6 pages;
course.pdf shows no solution and no folded answer, has a bookmark per chapter, a title and an
author; every zh PDF embeds a CJK font (pdffonts)."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..cells import is_solution, strip_comments

CJK_FONT = re.compile(
    r"WenQuanYi|wqy|Noto\s*Sans\s*CJK|NotoSansCJK|Source\s*Han|SourceHan|Droid\s*Sans\s*Fallback", re.IGNORECASE
)


@dataclass
class PrintJob:
    """An HTML page to print, the PDF to write, and the PDF's title and author."""

    page: Path
    pdf: Path
    meta: dict[str, str]


# pypdf warns about Chromium's cross-reference tables ("Object count ... exceeds defined trailer
# size"), which it reads correctly all the same.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def print_pdfs(jobs: list[PrintJob]) -> None:
    """Print each page with the system Chromium (the browser check's launcher): A4, page numbers in
    the footer, a bookmark per heading (outline, from a tagged PDF); then set the title and author."""
    from playwright.sync_api import sync_playwright

    from ..browser.chromium import launch

    footer = (
        '<div style="font-size:8px;width:100%;text-align:center;color:#777">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    )
    with sync_playwright() as p:
        browser, _ = launch(p)
        page = browser.new_page()
        for job in jobs:
            page.goto(job.page.resolve().as_uri(), wait_until="load", timeout=120_000)
            page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
            page.evaluate("document.fonts.ready.then(() => true)")
            page.pdf(
                path=str(job.pdf),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
                outline=True,
                tagged=True,
            )
            set_metadata(job.pdf, job.meta)
        browser.close()


def set_metadata(pdf: Path, meta: dict[str, str]) -> None:
    """Rewrite the PDF with this title and author (Chromium writes the page's <title> and no author)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(pdf))
    writer.add_metadata(meta)
    with open(pdf, "wb") as f:
        writer.write(f)


def pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


def outline(pdf: Path) -> list[tuple[int, str, int]]:
    """The PDF's bookmarks in order: (depth, title, page number from 1)."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    out: list[tuple[int, str, int]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, " ".join(str(item.title).split()), reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 0)
    return out


def heading_pages(pdf: Path, entries: list[tuple[int, str, str]]) -> dict[str, int]:
    """{heading id: page} for the (level, text, id) headings, matched in order with the bookmarks
    by their text; a heading whose bookmark reads otherwise (math in a title) gets no page."""
    marks = outline(pdf)
    found, j = {}, 0
    for _, text, ident in entries:
        # compared without spaces: a bookmark of a heading that wraps reads its lines run together
        k = next((k for k in range(j, len(marks)) if squash(marks[k][1]) == squash(text)), None)
        if k is not None:
            found[ident], j = marks[k][2], k + 1
    return found


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SystemExit(
            f"{name} is missing: install Debian's poppler-utils (apt-get install poppler-utils; "
            "`coursebook ensure-chromium` does it as root), or pass --no-pdf to skip the PDFs"
        )
    return path


PAGE_FOOTER = re.compile(r"^\s*\d+\s*/\s*\d+\s*$", re.MULTILINE)


def pdf_text(pdf: Path) -> str:
    """The PDF's text without the page footers ("3 / 8"), so a line broken across pages reads whole."""
    text = subprocess.run(
        [tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return PAGE_FOOTER.sub("", text)


def squash(text: str) -> str:
    """Text without whitespace and hyphens, to compare code with what pdftotext extracts: a line
    wrapped in print comes back in pieces, and a hyphen at a line's end is dropped."""
    return re.sub(r"[\s\-\u00ad]+", "", text)


def solution_lines(nb) -> list[str]:
    """Distinctive lines of the solution cells (code, and the prose of written solutions): at least
    12 characters, and not also in a cell the reader is meant to see."""
    shown = squash("\n".join(c.source for c in nb.cells if not is_solution(c)))
    lines = []
    for c in nb.cells:
        if not is_solution(c):
            continue
        # Code without its comments: print sets a comment apart, and pdftotext may read it elsewhere.
        source = strip_comments(c.source) if c.cell_type == "code" else c.source.splitlines()
        for line in source:
            line = line.strip()
            if c.cell_type == "markdown":
                line = re.sub(r"<[^>]+>|[*`_#>]", "", line).strip()
            if len(squash(line)) >= 12 and not line.startswith("#") and squash(line) not in shown:
                lines.append(line)
    return lines


DETAILS = re.compile(r"<details\b.*?</details>", re.DOTALL)
WORKSHEET_PAGES = (2, 6)  # a chapter of 12 sections with a quiz of 11 questions takes 6


def folded_lines(nb) -> list[str]:
    """Distinctive lines of the folded answers of the chapter's questions (at least 20 characters,
    not also shown outside a fold): what a worksheet and the printed course must not show."""
    shown = squash("\n".join(DETAILS.sub("", c.source) for c in nb.cells if not is_solution(c)))
    lines = []
    for c in nb.cells:
        if c.cell_type != "markdown" or is_solution(c):
            continue
        for block in DETAILS.findall(c.source):
            for line in block.splitlines():
                if "$" in line or "\\(" in line:
                    continue  # math: KaTeX prints it otherwise than it is written
                line = re.sub(r"</?[a-z][^>]*>|[*`]", "", line).strip()
                if len(squash(line)) >= 20 and squash(line) not in shown:
                    lines.append(line)
    return lines


def check_handouts(nb, quiz, worksheet: Path, answers: Path, where: str) -> list[str]:
    """A worksheet shows no solution, no folded answer and no quiz feedback, and prints on 2 to 6
    pages; its answer key holds every code solution line and every folded answer."""
    problems = []
    ws, ak = squash(pdf_text(worksheet)), squash(pdf_text(answers))
    code = squash("\n".join(c.source for c in nb.cells if is_solution(c) and c.cell_type == "code"))
    code_lines = [line for line in solution_lines(nb) if squash(line) in code]
    for line in solution_lines(nb):
        if squash(line) in ws:
            problems.append(f"{where}: the worksheet shows a solution line: {line!r}")
    for line in code_lines:
        if squash(line) not in ak:
            problems.append(f"{where}: the answer key lacks a solution line: {line!r}")
    for line in folded_lines(nb):
        if squash(line) in ws:
            problems.append(f"{where}: the worksheet shows a folded answer: {line!r}")
        if squash(line) not in ak:
            problems.append(f"{where}: the answer key lacks a folded answer: {line!r}")
    for q in quiz or []:
        for a in q["answers"]:
            feedback = squash(re.sub(r"[`*_]", "", a["feedback"]))
            if len(feedback) >= 12 and feedback in ws:
                problems.append(f"{where}: the worksheet shows a quiz feedback: {a['feedback'][:60]!r}")
    n = pages(worksheet)
    lo, hi = WORKSHEET_PAGES
    if not lo <= n <= hi:
        problems.append(f"{where}: the worksheet prints on {n} pages, {lo} to {hi} expected")
    return problems


def check_course(notebooks: list, titles: list[str], pdf: Path, meta: dict[str, str], where: str) -> list[str]:
    """The printed edition: no solution line and no folded answer in its text, a bookmark for every
    chapter, the title and author set."""
    from pypdf import PdfReader

    problems = []
    text = squash(pdf_text(pdf))
    # a solution line may also be shown by another chapter (an import, a call): that one may print
    shown = squash("\n".join(c.source for nb in notebooks for c in nb.cells if not is_solution(c)))
    for nb, title in zip(notebooks, titles, strict=True):
        for line in solution_lines(nb):
            if squash(line) in text and squash(line) not in shown:
                problems.append(f"{where}: shows a solution line of {title!r}: {line!r}")
        for line in folded_lines(nb):
            if squash(line) in text:
                problems.append(f"{where}: shows a folded answer of {title!r}: {line!r}")
    marks = {squash(t) for depth, t, _ in outline(pdf) if depth == 0}
    for title in titles:
        if squash(title) not in marks:
            problems.append(f"{where}: no bookmark for the chapter {title!r}")
    info = PdfReader(pdf).metadata or {}
    for key, value in meta.items():
        if info.get(key) != value:
            problems.append(f"{where}: {key} is {info.get(key)!r}, expected {value!r}")
    return problems


def cjk_fonts(pdf: Path) -> list[str]:
    out = subprocess.run([tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        if cols and CJK_FONT.search(cols[0]) and "yes" in cols[-5:-2]:
            found.append(cols[0])
    return found
