"""Build the teaching kit of every chapter in both editions: slides, quizzes, handouts and PDFs.

    coursebook kit                      # into _build/html/kit: the built site serves it
    coursebook kit --out /tmp/kit --chapters 01_parameters --editions zh
    make kit                            # the book, then this command

Every chapter is found by glob (notebooks/<edition>/NN_name.ipynb), so adding a chapter adds its
kit. Nothing is executed: the kit is made from the notebooks' committed outputs, offline. What it
writes, with OUT = --out (default _build/html/kit, i.e. <site>/kit/ of the built book):

  OUT/index.html                              the kit of every chapter, both editions, one page
  OUT/kit.json                                the chapters built, by edition (the browser check reads it)
  OUT/slides/<ed>/<NN_name>.html              reveal.js slides of the chapter (kit/slides.py)
  OUT/quizzes/<ed>/<NN_name>.html             the chapter's quiz (jupyterquiz), no kernel needed;
                                              the same quiz closes the chapter page in the book
  OUT/handouts/<ed>/<NN_name>-worksheet.pdf   the chapter without its solutions, and the quiz
                                              without answers
  OUT/handouts/<ed>/<NN_name>-answers.pdf     answer key: the quiz's answers with their feedback,
                                              the answers folded in the chapter's questions, and
                                              the exercises with their solutions
  OUT/handouts/<ed>/course.pdf                the whole edition: every chapter, without solutions
  OUT/vendor/                                 reveal.js 6.0.2 and KaTeX 0.19.1 (MIT, from npm,
                                              vendored in kit/vendor with their licenses)

Quizzes: kit/quizzes/<ed>/<NN_name>.json (format and checks: coursebook/quizzes.py); the run
fails unless they are valid and the editions' quizzes agree; a chapter without one gets no quiz
page and says so. PDFs are printed by the system Chromium through Playwright (the browser
check's; no browser download), with KaTeX for the math and the CJK font WenQuanYi Micro Hei
(Debian fonts-wqy-microhei) for the zh edition, then checked (kit/pdf.py) with Debian's
poppler-utils; `coursebook ensure-chromium` installs Chromium, the font and poppler-utils as root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat

from .. import quizzes
from ..book import EDITIONS, NOTEBOOKS, ROOT, chapter_names, colab_url
from ..cells import title_of
from .handouts import answers_body, print_page, worksheet_body
from .pages import quiz_page, write_index
from .pdf import check_handouts, cjk_fonts, print_pdfs
from .slides import slides_page

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


def check_pdfs(jobs: list[tuple[Path, Path]], checks: list[tuple]) -> list[str]:
    """Check what was printed (handouts, CJK fonts), then remove the print pages."""
    problems = []
    for args in checks:
        problems += check_handouts(*args)
    for _, pdf in jobs:
        if "/zh/" in pdf.as_posix() and not cjk_fonts(pdf):
            problems.append(
                f"{pdf}: no embedded CJK font (pdffonts): Chinese would print as boxes; install fonts-wqy-microhei"
            )
    for page, _ in jobs:
        page.unlink()
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
    if problems:
        print("kit: quiz problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1

    out.mkdir(parents=True, exist_ok=True)
    vendor(out)
    jobs: list[tuple[Path, Path]] = []  # (print page, PDF)
    checks: list[tuple] = []  # check_handouts' arguments
    built: dict[str, list[tuple[str, str, bool]]] = {ed: [] for ed in args.editions}
    t = time.perf_counter()
    for ed in args.editions:
        course_parts = []
        for sub in ("slides", "quizzes", "handouts"):
            (out / sub / ed).mkdir(parents=True, exist_ok=True)
        site = os.path.relpath(html_root, out / "slides" / ed).replace(os.sep, "/")
        for name in names:
            nb = nbformat.read(NOTEBOOKS / ed / f"{name}.ipynb", as_version=4)
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
            (out / "slides" / ed / f"{name}.html").write_text(slides_page(nb, ed, name, links), encoding="utf-8")
            if quiz:
                page = quiz_page(ed, name, title, quiz, links)
                (out / "quizzes" / ed / f"{name}.html").write_text(page, encoding="utf-8")
            built[ed].append((name, title, bool(quiz)))
            if args.no_pdf:
                continue
            hdir = out / "handouts" / ed
            for kind, body in (
                ("worksheet", worksheet_body(nb, ed, site, quiz)),
                ("answers", answers_body(nb, ed, site, quiz)),
            ):
                page = hdir / f".{name}-{kind}.html"
                page.write_text(print_page(ed, f"{title} · {kind}", [body], "../../vendor"), encoding="utf-8")
                jobs.append((page, hdir / f"{name}-{kind}.pdf"))
            checks.append((nb, quiz, hdir / f"{name}-worksheet.pdf", hdir / f"{name}-answers.pdf", f"{ed}/{name}"))
            course_parts.append(worksheet_body(nb, ed, site, None, note=False, open_details=True))
        if not args.no_pdf and course_parts:
            page = out / "handouts" / ed / ".course.html"
            page.write_text(print_page(ed, "course", course_parts, "../../vendor"), encoding="utf-8")
            jobs.append((page, out / "handouts" / ed / "course.pdf"))
    timings["slides, quizzes, print pages"] = time.perf_counter() - t

    if jobs:
        t = time.perf_counter()
        print_pdfs(jobs)
        timings[f"{len(jobs)} PDFs (Chromium)"] = time.perf_counter() - t
        t = time.perf_counter()
        problems += check_pdfs(jobs, checks)
        timings["checks (pdftotext, pdffonts)"] = time.perf_counter() - t

    write_index(out, built, html_root, no_pdf=args.no_pdf)
    total = time.perf_counter() - start
    n = sum(len(v) for v in built.values())
    print(f"kit: {n} chapter kits ({', '.join(args.editions)}) in {out}, {total:.1f} s")
    for what, seconds in timings.items():
        print(f"  {what}: {seconds:.1f} s")
    missing = [f"{ed}/{name}" for ed, items in built.items() for name, _, has in items if not has]
    if missing:
        print(f"  no quiz yet (kit/quizzes/<ed>/<name>.json): {', '.join(missing)}")
    if problems:
        print("kit check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if jobs:
        print(
            f"  checks passed: no solution line or quiz feedback in {len(checks)} worksheets, every solution line "
            f"in the answer keys, a CJK font embedded in every zh PDF"
        )
    return 0
