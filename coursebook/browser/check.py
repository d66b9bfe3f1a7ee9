"""Open every page of the built book in headless Chromium and check it (`make browser-check`).

The site in _build/html (built first with `jupyter-book build . -W -n --keep-going`) is served on
127.0.0.1 and opened with Playwright driving the system Chromium (Debian's `chromium`; no browser
download, works offline). Every page in _toc.yml is checked for:
  * no console errors and no uncaught JavaScript exceptions;
  * no failed or 4xx/5xx request to the local server;
  * every <img> served by the site loaded (naturalWidth > 0).
Every chapter page (notebooks/<edition>/<name>) is also checked for:
  * in the line under the title (the paragraph holding the Colab badge), a link that resolves
    to the same chapter in the other edition, and that page loads;
  * exactly one Open-in-Colab badge, linking to the Colab URL of this notebook built from
    _config.yml's repository.url and branch, and a header launch button with the same URL;
  * on zh pages, the theme's words are Chinese (no "Show code cell", "Back to top", "Search");
  * no solution visible on load: every cell tagged `solution` shows neither its code nor its
    output until the reader opens it, and opening the first one reveals it.

Every chapter page with a quiz (the section that coursebook.sphinx.kit adds from
kit/quizzes/): one answer clicked (or, for a numeric question, typed) per quiz, and its feedback
shown. When the teaching kit is built (`make kit`: _build/html/kit/kit.json), also:
  * every chapter's kit links (slides, worksheet and answer-key PDFs) answer HTTP 200;
  * every slide deck (kit/slides/<edition>/<name>.html) loads at 1280x720 with no console error,
    no failed local request and no request to another host (reveal.js and KaTeX are local),
    reveal.js starts with 12 to 20 content slides and moves to the next one, the math is typeset
    (KaTeX), no solution is on a slide, and every slide keeps the slide limits (slide_limits.py:
    words, code and output at 20 px or more, nothing overflowing, no text ending in a colon,
    speaker notes; a figure in every deck); on the first deck, `S` opens the speaker view with
    the slide's notes;
  * every quiz page (kit/quizzes/<edition>/<name>.html): one answer clicked and its feedback shown;
  * on both, every link into the site (chapter page, slides, quiz) answers HTTP 200.
`--kit require` fails when the kit is not built; `--kit skip` leaves it out.

Reading (reading.py, search.py):
  * at 1280x900, every code and output block fits its column (scrollWidth against clientWidth of
    every <pre> and HTML output, folded blocks opened to measure); the widest block per page is
    reported;
  * at 390x844 (a phone), no page scrolls sideways;
  * a chapter page opens with its title and first section, its setup cells folded, no
    maintainer's note; zh pages have readable section anchors (no #id1, #id2, ...);
  * no page's table of contents repeats one heading three times or more;
  * the site's search finds each chapter from zh phrases typed without spaces and from en words
    (search.QUERIES).
A rule named in REPORT_ONLY (below; none today) is reported without failing; `--strict` makes it
fail.

Requests to other hosts are blocked so that the check is the same with and without internet;
they are listed in the report, and console errors caused by blocking them are not counted. The
external <img>s allowed are the Colab badge and the "Do the exercises in Colab" badge (their link
targets are what is checked).

    coursebook browser-check                   # exit 1 if any page fails
    coursebook browser-check --kit require     # after make kit: slides and quiz pages too
    coursebook browser-check --slide-shots /tmp/shots   # and a PNG of every slide, to look at
    CHROMIUM_PATH=/opt/chrome/chrome coursebook browser-check

The modules: site.py serves the site and keeps the browser offline, book_pages.py checks a page
of the book, kit_pages.py a page of the kit, quiz.py answers quizzes, chromium.py finds the browser.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from ..book import ROOT
from . import reading
from .book_pages import check_page
from .chromium import launch
from .kit_pages import check_kit_page
from .search import check_search
from .site import offline, serve, toc_pages

# Rules reported without failing (a new rule's name goes here while the pages catch up): none
# today; code blocks wider than their column and repeated headings fail.
REPORT_ONLY: set[str] = set()
MOBILE = {"width": 390, "height": 844}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook browser-check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="built site (default _build/html)")
    ap.add_argument(
        "--kit",
        choices=["auto", "require", "skip"],
        default="auto",
        help="check the teaching kit (slides, quiz pages) when built (auto, the default), "
        "fail when it is not (require), or leave it out (skip)",
    )
    ap.add_argument(
        "--slide-shots", type=Path, metavar="DIR", help="write a 1280x720 PNG of every slide of every deck into DIR"
    )
    ap.add_argument("--strict", action="store_true", help="fail on the rules in REPORT_ONLY too")
    args = ap.parse_args(argv)
    report_only = set() if args.strict else REPORT_ONLY

    kit_index = args.html / "kit" / "kit.json"
    if args.kit == "require" and not kit_index.exists():
        print(f"{kit_index} is missing: build the kit first (make kit)", file=sys.stderr)
        return 2
    kit = json.loads(kit_index.read_text(encoding="utf-8")) if args.kit != "skip" and kit_index.exists() else None
    if not (args.html / "index.html").exists():
        print(f"{args.html} has no index.html: build the book first (make book)", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        print("browser check: the Python package playwright is missing: pip install -e ./coursebook", file=sys.stderr)
        return 2

    server, base = serve(args.html)
    pages = toc_pages()
    results = []
    kit_results: list[tuple[str, list[str], str]] = []
    start = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser, chromium = launch(p)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            blocked = offline(context, base)
            page = context.new_page()
            for doc in pages:
                problems, info = check_page(page, base, doc, blocked)
                reported = read_page(page, doc, info)
                problems += [text for rule, text in reported if rule not in report_only]
                info["reported"] = [text for rule, text in reported if rule in report_only]
                results.append((doc, problems, info))
            search_problems, search_lines = check_search(page, base)
            phone = browser.new_context(viewport=MOBILE, is_mobile=True, has_touch=True)
            offline(phone, base)
            phone_page = phone.new_page()
            for doc, problems, info in results:
                phone_page.goto(base + doc + ".html", wait_until="load", timeout=30_000)
                sideways = reading.page_scrolls_sideways(phone_page)
                info["phone"] = "ok" if not sideways else f"+{sideways}px"
                if sideways:
                    problems.append(f"at {MOBILE['width']} px the page scrolls sideways by {sideways} px")
            phone.close()
            if kit is not None:
                for _doc, problems, info in results:
                    for href in info.get("kit_links", []):
                        if "#" not in href and href.startswith(base):
                            status = page.request.get(href).status
                            if status != 200:
                                problems.append(f"kit link {href} answers HTTP {status}")
                for edition, names in kit.items():
                    for name in names:
                        for rel in (f"kit/slides/{edition}/{name}.html", f"kit/quizzes/{edition}/{name}.html"):
                            if rel.startswith("kit/quizzes/") and not (args.html / rel).exists():
                                continue  # a chapter without a quiz yet (coursebook kit says so)
                            first_deck = rel.startswith("kit/slides/") and not any(
                                r.startswith("kit/slides/") for r, _, _ in kit_results
                            )
                            problems, summary = check_kit_page(
                                page, base, rel, blocked, speaker=first_deck, shots=args.slide_shots
                            )
                            kit_results.append((rel, problems, summary))
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    seconds = time.perf_counter() - start

    results.append(("search", search_problems, {"search": search_lines}))
    return report(results, kit_results, blocked, kit is not None, args.kit, f"Chromium {version} ({chromium})", seconds)


def read_page(page, doc: str, info: dict) -> list[tuple[str, str]]:
    """The reading rules on the page open in `page`: [(rule, problem)]; fills info's columns."""
    found: list[tuple[str, str]] = []
    widths = reading.block_widths(page)
    widest = max(widths["blocks"], key=lambda b: b["scroll"], default=None)
    info["widest"] = f"{widest['scroll']}/{widest['client']}" if widest else "-"
    info["wide"] = f"{len(widths['wide'])}/{len(widths['blocks'])}" if widths["blocks"] else "-"
    for block in widths["wide"]:
        rule = "code-width" if block["kind"] == "code" else "width"
        found.append(
            (
                rule,
                f"{block['kind']} block {block['scroll']} px wide in a {block['client']} px box at 1280 px "
                f"(longest line {block['longest']} characters: {block['longestLine'][:70]!r})",
            )
        )
    for text, n in reading.repeated_headings(page):
        found.append(("headings", f"the table of contents repeats {text!r} {n} times: name each section"))
    parts = doc.split("/")
    if len(parts) == 3 and parts[0] == "notebooks":
        found += [("opening", text) for text in reading.opening_problems(page, parts[1])]
    if parts[1:2] == ["zh"]:
        anchors = reading.numbered_anchors(page)
        if anchors:
            found.append(("anchors", f"sections with numbered anchors {anchors[:5]} (coursebook.sphinx.zh_anchors)"))
    return found


def report(results, kit_results, blocked, kit_built: bool, kit_mode: str, browser: str, seconds: float) -> int:
    """Print a table of the pages and of the kit's pages, then every problem; 1 if there is one."""
    search = next(info for doc, _, info in results if doc == "search")
    results = [r for r in results if r[0] != "search"] + [r for r in results if r[0] == "search"]
    width = max(len(d) for d, _, _ in results)
    print(f"browser check: {browser}, {len(results) - 1} pages, {seconds:.1f} s\n")
    print(
        f"{'page':{width}s}  {'result':6s}  {'images':6s}  {'twin':7s}  {'colab':5s}  {'hidden':9s}  {'quiz':5s}  "
        f"{'wide':6s}  {'widest px':9s}  {'phone':7s}  blocked"
    )
    for doc, problems, info in results:
        if doc == "search":
            continue
        verdict = "ok" if not problems else "FAIL"
        print(
            f"{doc:{width}s}  {verdict:6s}  {info['images']:6s}  {info['twin'] or '-':7s}  "
            f"{info['colab'] or '-':5s}  {info['solutions']:9s}  {info['quiz']:5s}  {info['wide']:6s}  "
            f"{info['widest']:9s}  {info['phone']:7s}  {info['blocked']}"
        )
    print("\nsearch (search.html?q=...): pages found, and where the chapter is among them")
    print("\n".join(search["search"]))
    reported = [(doc, info["reported"]) for doc, _, info in results if info.get("reported")]
    if reported:
        print("\nreported, not failing yet (browser/check.py REPORT_ONLY; --strict fails on them):")
        for doc, lines in reported:
            print(f"  {doc}:")
            for line in lines:
                print(f"    - {line}")
    if not kit_built:
        print(
            "\nteaching kit: not built (make kit), slides and quiz pages not checked"
            if kit_mode == "auto"
            else "\nteaching kit: skipped (--kit skip)"
        )
    else:
        kw = max(len(r) for r, _, _ in kit_results) if kit_results else 10
        print(f"\nteaching kit: {len(kit_results)} pages\n{'page':{kw}s}  {'result':6s}  what")
        for rel, problems, summary in kit_results:
            print(f"{rel:{kw}s}  {'ok' if not problems else 'FAIL':6s}  {summary}")
    results += [(rel, problems, {}) for rel, problems, _ in kit_results]
    hosts = sorted({urlparse(u).netloc for u in blocked})
    if blocked:
        print(f"\nblocked {len(blocked)} requests to other hosts (the check runs offline): {', '.join(hosts)}")
    failed = [(d, pr) for d, pr, _ in results if pr]
    for doc, problems in failed:
        print(f"\n{doc}:")
        for problem in problems:
            print(f"  - {problem}")
    if failed:
        print(f"\nbrowser check FAILED on {len(failed)} of {len(results)} pages")
        return 1
    print("\nbrowser check passed")
    return 0
