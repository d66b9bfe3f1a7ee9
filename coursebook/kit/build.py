"""Build the teaching kit of every chapter in both editions: slides, quizzes, worksheets and PDFs.

    coursebook kit                      # into _build/html/kit: the built site serves it
    coursebook kit --out /tmp/kit --chapters 08_inference --editions zh
    make kit                            # the book, then this command

Every chapter is found by glob (notebooks/<edition>/NN_name.ipynb), so adding a chapter adds its
kit. Nothing is executed: the kit is made from the slide sources, the quizzes and the notebooks'
committed outputs, offline. What it writes, with OUT = --out (default _build/html/kit, i.e.
<site>/kit/ of the built book):

  OUT/slides/<ed>/<NN_name>.html              the lecture: reveal.js at 1280x720 from the chapter's
                                              slide source kit/slides/<ed>/<NN_name>.md (kit/deck.py,
                                              kit/slides.py), figures and printed output taken
                                              from the notebook's cells by id, speaker notes (S)
  OUT/quizzes/<ed>/<NN_name>.html             the chapter's quiz (jupyterquiz), no kernel needed;
                                              the same quiz closes the chapter page in the book
  OUT/handouts/<ed>/<NN_name>-worksheet.pdf   2-6 pages to write on: the lecture's summary, the
                                              chapter's questions (predict, then check) and
                                              exercise statements with room to write, the quiz
                                              without answers (kit/worksheet.py)
  OUT/handouts/<ed>/<NN_name>-answers.pdf     answer key: the quiz's answers with their feedback,
                                              the answers folded in the chapter's questions, and
                                              the exercises with their solutions
  OUT/handouts/<ed>/course.pdf                the whole edition as a book: cover, contents with
                                              page numbers, every chapter without solutions and
                                              folded answers, a bookmark per chapter and section,
                                              the book's title and author (kit/course.py)
  OUT/index.html                              sends the reader to the kit's page in the book
                                              (book/<ed>/kit.md, written by `coursebook render plan`)
  OUT/kit.json                                the chapters built, by edition (the browser check reads it)
  OUT/vendor/                                 reveal.js 6.0.2 (with its notes plugin) and KaTeX
                                              0.19.1 (MIT, from npm, vendored in kit/vendor)

The run fails before writing anything when a slide source is missing or a figure or output it
names does not resolve (a cell id gone, no image, a `lines=` range out of bounds), when a chapter
has no exercise statements, or when a quiz is not valid or the editions' quizzes disagree; and
after printing when a check on the PDFs fails (kit/pdf.py). PDFs are printed by the system
Chromium through Playwright (the browser check's; no browser download), with KaTeX for the math
and the CJK font WenQuanYi Micro Hei (Debian fonts-wqy-microhei) for the zh edition;
`coursebook ensure-chromium` installs Chromium, the font and poppler-utils as root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .. import quizzes
from ..book import EDITIONS, ROOT, chapter_names, colab_url
from ..cells import title_of
from . import worksheet
from .course import COURSE_CSS, CourseBook, metadata
from .deck import Cells, DeckError
from .deck import check as check_deck
from .deck import load as load_deck
from .handouts import answers_body, print_page
from .pages import quiz_page, write_redirect
from .pdf import PrintJob, check_course, check_handouts, cjk_fonts, heading_pages, print_pdfs
from .slides import slides_page
from .words import WORDS
from .worksheet import WORKSHEET_CSS

VENDOR = ROOT / "kit" / "vendor"


def vendor(out: Path) -> None:
    if not (VENDOR / "reveal.js" / "reveal.js").exists():
        raise SystemExit(f"{VENDOR} is incomplete: kit/vendor/reveal.js and kit/vendor/katex come with the repository")
    shutil.copytree(VENDOR, out / "vendor", dirs_exist_ok=True)


def load_quizzes(names: list[str]) -> tuple[dict[tuple[str, str], list | None], list[str]]:
    """Every chapter's quizzes by (edition, chapter), and what is wrong with them."""
    loaded, problems = {}, []
    for name in names:
        by_edition, found = quizzes.check(name)
        problems += found
        loaded |= {(ed, name): quiz for ed, quiz in by_edition.items()}
    return loaded, problems


def load_decks(names: list[str], editions: list[str]) -> tuple[dict, list[str]]:
    """Every chapter's deck and cells by (edition, chapter), and what is wrong with them."""
    loaded, problems = {}, []
    for ed in editions:
        for name in names:
            try:
                deck, cells = load_deck(ed, name), Cells(ed, name)
            except DeckError as exc:
                problems += exc.problems
                continue
            problems += check_deck(deck, cells)
            problems += worksheet.check(cells.nb, f"notebooks/{ed}/{name}.ipynb")
            loaded[ed, name] = deck, cells
    return loaded, problems


def check_pdfs(jobs: list[PrintJob], checks: list[tuple], course_checks: list[tuple]) -> list[str]:
    """Check what was printed (handouts, the whole editions, CJK fonts), then remove the print pages."""
    problems = []
    for args in checks:
        problems += check_handouts(*args)
    for args in course_checks:
        problems += check_course(*args)
    for job in jobs:
        if "/zh/" in job.pdf.as_posix() and not cjk_fonts(job.pdf):
            problems.append(
                f"{job.pdf}: no embedded CJK font (pdffonts): Chinese would print as boxes; install fonts-wqy-microhei"
            )
    for job in jobs:
        job.page.unlink(missing_ok=True)
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook kit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--html",
        type=Path,
        default=ROOT / "_build" / "html",
        help="the built book (links from the kit to the chapters point into it)",
    )
    ap.add_argument("--out", type=Path, help="default: HTML/kit")
    ap.add_argument("--editions", nargs="+", choices=EDITIONS, default=list(EDITIONS))
    ap.add_argument("--chapters", nargs="+", metavar="NN_name", help="default: every chapter (by glob)")
    ap.add_argument("--no-pdf", action="store_true", help="slides and quizzes only (no Chromium, no poppler)")
    args = ap.parse_args(argv)
    out = (args.out or args.html / "kit").resolve()
    html_root = args.html.resolve()

    start = time.perf_counter()
    timings: dict[str, float] = {}
    names = chapter_names()
    if args.chapters:
        unknown = sorted(set(args.chapters) - set(names))
        if unknown:
            raise SystemExit(f"no such chapter: {', '.join(unknown)} (chapters: {', '.join(names)})")
        names = args.chapters
    loaded, problems = load_quizzes(names)
    decks, deck_problems = load_decks(names, args.editions)
    problems += deck_problems
    if problems:
        print("kit FAILED, nothing written:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1

    out.mkdir(parents=True, exist_ok=True)
    vendor(out)
    jobs: list[PrintJob] = []
    checks: list[tuple] = []  # check_handouts' arguments
    books: list[tuple[CourseBook, PrintJob, list, list[str]]] = []
    built: dict[str, list[str]] = {ed: [] for ed in args.editions}
    t = time.perf_counter()
    for ed in args.editions:
        for sub in ("slides", "quizzes", "handouts"):
            (out / sub / ed).mkdir(parents=True, exist_ok=True)
        site = os.path.relpath(html_root, out / "slides" / ed).replace(os.sep, "/")
        hdir = out / "handouts" / ed
        notebooks = []
        for name in names:
            deck, cells = decks[ed, name]
            nb = cells.nb
            quiz = loaded[ed, name]
            title = title_of(nb)
            links = {
                "site": site,
                "vendor": "../../vendor",
                "chapter": f"{site}/notebooks/{ed}/{name}.html",
                "colab": colab_url(f"notebooks/{ed}/{name}.ipynb"),
                "quiz": f"../../quizzes/{ed}/{name}.html" if quiz else None,
                "slides": f"../../slides/{ed}/{name}.html",
            }
            (out / "slides" / ed / f"{name}.html").write_text(slides_page(deck, cells, links), encoding="utf-8")
            if quiz:
                page = quiz_page(ed, name, title, quiz, links)
                (out / "quizzes" / ed / f"{name}.html").write_text(page, encoding="utf-8")
            built[ed].append(name)
            notebooks.append(nb)
            if args.no_pdf:
                continue
            meta = metadata(ed)
            for kind, body, page_title, css in (
                ("worksheet", worksheet.worksheet_body(nb, deck, site, quiz), worksheet.title(deck), WORKSHEET_CSS),
                ("answers", answers_body(nb, ed, site, quiz), f"{title} · {WORDS[ed]['ak_kind']}", ""),
            ):
                page = hdir / f".{name}-{kind}.html"
                page.write_text(print_page(ed, page_title, [body], "../../vendor", css), encoding="utf-8")
                jobs.append(PrintJob(page, hdir / f"{name}-{kind}.pdf", meta | {"/Title": page_title}))
            checks.append((nb, quiz, hdir / f"{name}-worksheet.pdf", hdir / f"{name}-answers.pdf", f"{ed}/{name}"))
        if not args.no_pdf and notebooks:
            book = CourseBook(ed, notebooks, site)
            page = hdir / ".course.html"
            meta = metadata(ed)
            page.write_text(
                print_page(ed, meta["/Title"], book.parts(None), "../../vendor", COURSE_CSS), encoding="utf-8"
            )
            job = PrintJob(page, hdir / "course.pdf", meta)
            jobs.append(job)
            books.append((book, job, notebooks, [title_of(nb) for nb in notebooks]))
    timings["slides, quizzes, print pages"] = time.perf_counter() - t

    if jobs:
        t = time.perf_counter()
        print_pdfs(jobs)
        # The whole editions again, with the page of every chapter and section in their contents.
        for book, job, _, _ in books:
            pages = heading_pages(job.pdf, book.entries)
            job.page.write_text(
                print_page(book.edition, job.meta["/Title"], book.parts(pages), "../../vendor", COURSE_CSS),
                encoding="utf-8",
            )
        print_pdfs([job for _, job, _, _ in books])
        timings[f"{len(jobs) + len(books)} PDFs (Chromium)"] = time.perf_counter() - t
        t = time.perf_counter()
        course_checks = [
            (nbs, titles, job.pdf, job.meta, f"{job.pdf.parent.name}/course.pdf") for _, job, nbs, titles in books
        ]
        problems += check_pdfs(jobs, checks, course_checks)
        timings["checks (pdftotext, pdffonts, pypdf)"] = time.perf_counter() - t

    write_redirect(out, built)
    total = time.perf_counter() - start
    n = sum(len(v) for v in built.values())
    print(f"kit: {n} chapter kits ({', '.join(args.editions)}) in {out}, {total:.1f} s")
    for what, seconds in timings.items():
        print(f"  {what}: {seconds:.1f} s")
    internal = [
        f"{ed}/{name} ({', '.join(found)})"
        for (ed, name), (_, cells) in decks.items()
        if (found := worksheet.internal_names(cells.nb))
    ]
    if internal:
        print(f"  note: worksheets print the chapter's internal names (seeds, fact-check ids): {'; '.join(internal)}")
    missing = [f"{ed}/{name}" for ed, items in built.items() for name in items if loaded[ed, name] is None]
    if missing:
        print(f"  no quiz yet (kit/quizzes/<ed>/<name>.json): {', '.join(missing)}")
    if problems:
        print("kit check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if jobs:
        print(
            f"  checks passed: no solution, folded answer or quiz feedback in {len(checks)} worksheets of 2-6 pages, "
            f"every solution and folded answer in the answer keys, {len(books)} course PDFs without them, with a "
            "bookmark per chapter, title and author; a CJK font embedded in every zh PDF"
        )
    return 0
