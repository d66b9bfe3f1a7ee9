"""The kit's PDFs: printed by the system Chromium, then checked with poppler-utils.

Checks on what was written, each failing the run: no line of a solution cell and no quiz feedback
is in a worksheet's text (pdftotext), while every code solution line is in the answer key (so the
check can fail); every zh PDF embeds a CJK font (pdffonts)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..cells import is_solution, strip_comments

CJK_FONT = re.compile(
    r"WenQuanYi|wqy|Noto\s*Sans\s*CJK|NotoSansCJK|Source\s*Han|SourceHan|Droid\s*Sans\s*Fallback", re.IGNORECASE
)


def print_pdfs(jobs: list[tuple[Path, Path]]) -> None:
    """Print each (html, pdf) with the system Chromium (the browser check's launcher)."""
    from playwright.sync_api import sync_playwright

    from ..browser.chromium import launch

    footer = (
        '<div style="font-size:8px;width:100%;text-align:center;color:#777">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    )
    with sync_playwright() as p:
        browser, _ = launch(p)
        page = browser.new_page()
        for src, pdf in jobs:
            page.goto(src.resolve().as_uri(), wait_until="load", timeout=120_000)
            page.wait_for_function("document.body.dataset.ready === '1'", timeout=60_000)
            page.evaluate("document.fonts.ready.then(() => true)")
            page.pdf(
                path=str(pdf),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=footer,
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        browser.close()


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SystemExit(
            f"{name} is missing: install Debian's poppler-utils (apt-get install poppler-utils; "
            "`coursebook ensure-chromium` does it as root), or pass --no-pdf to skip the PDFs"
        )
    return path


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        [tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


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


def check_handouts(nb, quiz, worksheet: Path, answers: Path, where: str) -> list[str]:
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
    for q in quiz or []:
        for a in q["answers"]:
            feedback = squash(re.sub(r"[`*_]", "", a["feedback"]))
            if len(feedback) >= 12 and feedback in ws:
                problems.append(f"{where}: the worksheet shows a quiz feedback: {a['feedback'][:60]!r}")
    return problems


def cjk_fonts(pdf: Path) -> list[str]:
    out = subprocess.run([tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        if cols and CJK_FONT.search(cols[0]) and "yes" in cols[-5:-2]:
            found.append(cols[0])
    return found
