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

Every chapter page with a quiz (the section that book/_ext/course_kit.py adds from
kit/quizzes/): one answer clicked (or, for a numeric question, typed) per quiz, and its feedback
shown. When the teaching kit is built (`make kit`: _build/html/kit/kit.json), also:
  * every chapter's kit links (slides, worksheet and answer-key PDFs) answer HTTP 200;
  * every slide deck (kit/slides/<edition>/<name>.html) loads with no console error, no failed
    local request and no request to another host (reveal.js and KaTeX are local), reveal.js
    starts with at least 3 slides and moves to the next one, the math is typeset (KaTeX), and no
    solution cell is on a slide;
  * every quiz page (kit/quizzes/<edition>/<name>.html): one answer clicked and its feedback shown;
  * on both, every link into the site (chapter page, slides, quiz) answers HTTP 200.
`--kit require` fails when the kit is not built; `--kit skip` leaves it out.

Requests to other hosts are blocked so that the check is the same with and without internet;
they are listed in the report, and console errors caused by blocking them are not counted. The
one external <img> allowed is the Colab badge image (its link target is what is checked).

    python scripts/browser_check.py                   # exit 1 if any page fails
    python scripts/browser_check.py --kit require     # after make kit: slides and quiz pages too
    CHROMIUM_PATH=/opt/chrome/chrome python scripts/browser_check.py
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urldefrag, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_common import COLAB_BADGE_SVG, ROOT, colab_url  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM_PATH")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def launch(p):
    """(browser, description): the system Chromium if there is one, else Playwright's own build."""
    chromium = find_chromium()
    try:
        if chromium:
            return p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True), chromium
        return p.chromium.launch(args=CHROMIUM_ARGS, headless=True), "Playwright's Chromium"
    except Exception as exc:
        raise SystemExit(
            f"could not start Chromium ({chromium or 'none on PATH, none from Playwright'}): {exc}\n"
            "Install Debian's chromium (scripts/ensure_chromium.sh does it where apt-get and root are\n"
            "available) or set CHROMIUM_PATH to a Chrome/Chromium binary."
        ) from exc


def toc_pages() -> list[str]:
    """Document names in _toc.yml order, e.g. 'book/index', 'notebooks/en/01_parameters'."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(str(node["file"]).removesuffix(".md").removesuffix(".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return pages


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


WAIT_FOR_IMAGES = """async () => {
  window.scrollTo(0, document.body.scrollHeight);
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); setTimeout(r, 5000); })));
  return imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}));
}"""

# Every link, with: is it the Colab badge, and is it in the same paragraph as the badge (the
# line stamped under the chapter title, which holds the twin link).
THEME_ENGLISH = """() => {
  const found = [];
  const where = ".admonition-title, .search-button__default-text, #pst-back-to-top, .prev-next-subtitle";
  document.querySelectorAll(where).forEach(el => {
    const text = el.textContent.trim();
    if (/^(Show|Hide) code cell|^Back to top$|^Search$|^(previous|next)$/.test(text)) found.push(text);
  });
  return [...new Set(found)];
}"""

SOLUTIONS = """() => Array.from(document.querySelectorAll(".cell.tag_solution")).map(cell => {
  const parts = Array.from(cell.querySelectorAll(".cell_input, .cell_output"));
  return parts.some(el => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null);
})"""

LINKS = """() => {
  const badgeImg = document.querySelector("article img[src*='colab-badge']");
  const stamped = badgeImg ? badgeImg.closest("p") : null;
  return Array.from(document.querySelectorAll("a[href]")).map(a => ({
    href: a.href,
    stamped: !!stamped && stamped.contains(a),
    badge: !!a.querySelector("img[src*='colab-badge']"),
  }));
}"""


QUIZ_FEEDBACK = """(quiz) => Array.from(quiz.querySelectorAll('[id^="fb"]'))
  .filter(e => e.innerText.trim() !== "").length"""


def click_quizzes(page) -> tuple[int, list[str]]:
    """Answer one question of every jupyterquiz quiz on the page (click a choice, or type a number
    and Enter) and check that its feedback appears. (number of quizzes, problems)"""
    problems = []
    quizzes = page.locator(".kit-quiz")
    n = quizzes.count()
    for k in range(n):
        quiz = quizzes.nth(k)
        try:
            quiz.locator(".Quiz").first.wait_for(timeout=5_000)  # drawn by the quiz's own script
        except Exception:
            problems.append(f"quiz {k + 1}: jupyterquiz drew no question")
            continue
        before = quiz.evaluate(QUIZ_FEEDBACK)
        choice = quiz.locator("label.MCButton")
        if choice.count():
            choice.first.click()
        else:
            box = quiz.locator("input.Input-text").first
            box.fill("0")
            box.press("Enter")
        page.wait_for_timeout(100)
        if quiz.evaluate(QUIZ_FEEDBACK) <= before:
            problems.append(f"quiz {k + 1}: answering a question showed no feedback")
    return n, problems


SLIDE_STATE = r"""() => {
  const ready = typeof Reveal !== "undefined" && Reveal.isReady();
  const total = ready ? Reveal.getTotalSlides() : 0;
  let moved = false;
  if (ready && total > 1) { Reveal.next(); moved = Reveal.getIndices().h === 1; Reveal.slide(0); }
  const text = document.body.innerText;
  return {ready, total, moved, katex: document.querySelectorAll(".katex").length,
          rawMath: /\\\(|\\\[/.test(text), solution: text.includes("#@title Solution")};
}"""


def check_kit_page(page, base: str, rel: str, blocked: list[str]) -> tuple[list[str], str]:
    """A slide deck or a quiz page of the kit: (problems, summary)."""
    problems: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    def on_pageerror(exc):
        problems.append(f"uncaught JavaScript exception: {exc}")

    def on_response(resp):
        if resp.url.startswith(base) and resp.status >= 400:
            problems.append(f"HTTP {resp.status}: {resp.url}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("response", on_response)
    start = len(blocked)
    summary = ""
    try:
        response = page.goto(base + rel, wait_until="load", timeout=30_000)
        if response is None or response.status != 200:
            problems.append(f"page did not load: HTTP {response.status if response else 'none'}")
        page.wait_for_timeout(300)  # KaTeX runs on load
        if rel.startswith("kit/slides/"):
            state = page.evaluate(SLIDE_STATE)
            if not state["ready"]:
                problems.append("reveal.js did not start")
            elif state["total"] < 3:
                problems.append(f"only {state['total']} slides (title, objectives, exercises at least)")
            elif not state["moved"]:
                problems.append("Reveal.next() did not move to the second slide")
            if state["rawMath"]:
                problems.append("math left as TeX (\\( or \\[ in the text): KaTeX did not typeset it")
            if state["solution"]:
                problems.append("a solution cell (#@title Solution ...) is on a slide")
            summary = f"{state['total']} slides, {state['katex']} formulas"
        else:
            n, quiz_problems = click_quizzes(page)
            problems += quiz_problems
            if n == 0:
                problems.append("no quiz on the quiz page")
            summary = f"{n - len(quiz_problems)}/{n} quiz answered"
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        for href in sorted({urldefrag(h)[0] for h in hrefs if h.startswith(base)}):
            status = page.request.get(href).status
            if status != 200:
                problems.append(f"link {href} answers HTTP {status}")
        page.wait_for_timeout(100)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_pageerror)
        page.remove_listener("response", on_response)
    if len(blocked) > start:
        problems.append(f"requests to other hosts (the kit must work offline): {blocked[start:][:3]}")
    return problems, summary


def check_page(page, base: str, doc: str, blocked: list[str]) -> tuple[list[str], dict]:
    url = base + doc + ".html"
    problems: list[str] = []
    console_errors: list[tuple[str, str]] = []
    local_failures: list[str] = []
    page_blocked: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            console_errors.append((msg.text, (msg.location or {}).get("url", "")))

    def on_pageerror(exc):
        problems.append(f"uncaught JavaScript exception: {exc}")

    def on_requestfailed(req):
        if req.url.startswith(base):
            local_failures.append(f"request failed: {req.url} ({req.failure})")

    def on_response(resp):
        if resp.url.startswith(base) and resp.status >= 400:
            local_failures.append(f"HTTP {resp.status}: {resp.url}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    page.on("requestfailed", on_requestfailed)
    page.on("response", on_response)
    start = len(blocked)
    try:
        response = page.goto(url, wait_until="load", timeout=30_000)
        if response is None or response.status != 200:
            problems.append(f"page did not load: HTTP {response.status if response else 'none'}")
        try:
            page.wait_for_load_state("networkidle", timeout=10_000)
        except Exception:
            pass
        images = page.evaluate(WAIT_FOR_IMAGES)
        links = page.evaluate(LINKS)
        solutions = page.evaluate(SOLUTIONS)
        theme_english = []
        if doc.split("/")[1:2] == ["zh"]:
            theme_english = page.evaluate(THEME_ENGLISH)
        revealed = None
        if solutions:
            page.locator(".cell.tag_solution summary").first.click()
            revealed = page.evaluate(SOLUTIONS)[0]
        kit_links = page.evaluate("() => Array.from(document.querySelectorAll('.kit-links a')).map(a => a.href)")
        n_quizzes, quiz_problems = click_quizzes(page)
        problems += quiz_problems
        page.wait_for_timeout(200)  # late console messages
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_pageerror)
        page.remove_listener("requestfailed", on_requestfailed)
        page.remove_listener("response", on_response)
    page_blocked = blocked[start:]

    for text, where in console_errors:
        if where and any(where.startswith(b) for b in page_blocked):
            continue  # the blocked external request itself
        problems.append(f"console error: {text}" + (f" ({where})" if where else ""))
    problems += local_failures

    n_local = n_ok = 0
    for img in images:
        if img["src"].startswith(base):
            n_local += 1
            if img["width"] > 0:
                n_ok += 1
            else:
                problems.append(f"image not loaded: {img['src']}")
        elif img["src"] != COLAB_BADGE_SVG:
            problems.append(f"external image (the book must be self-contained): {img['src']}")

    if theme_english:
        problems.append(f"English theme words on a zh page: {theme_english}")
    visible = sum(solutions)
    if visible:
        problems.append(f"{visible} of {len(solutions)} solution cells visible before the reader opens them")
    if solutions and not revealed:
        problems.append("opening the first solution cell does not show it")
    info = {
        "images": f"{n_ok}/{n_local}",
        "twin": "",
        "colab": "",
        "blocked": len(page_blocked),
        "solutions": f"{len(solutions) - visible}/{len(solutions)}" if solutions else "-",
        "quiz": f"{n_quizzes - len(quiz_problems)}/{n_quizzes}" if n_quizzes else "-",
        "kit_links": kit_links,
    }
    parts = doc.split("/")
    if len(parts) == 3 and parts[0] == "notebooks":
        _, edition, name = parts
        if not any(h.split("#")[0].endswith(f"kit/slides/{edition}/{name}.html") for h in kit_links):
            problems.append("no link to the chapter's slides under the title (book/_ext/course_kit.py adds it)")
        other = "en" if edition == "zh" else "zh"
        twin_url = f"{base}notebooks/{other}/{name}.html"
        stamped_links = [urldefrag(link["href"])[0] for link in links if link["stamped"]]
        if twin_url in stamped_links:
            status = page.request.get(twin_url).status
            info["twin"] = "ok" if status == 200 else f"HTTP {status}"
            if status != 200:
                problems.append(f"twin page {twin_url} answers HTTP {status}")
        else:
            info["twin"] = "MISSING"
            problems.append(f"the line under the title (with the Colab badge) has no link to the twin {twin_url}")

        want = colab_url(f"notebooks/{edition}/{name}.ipynb")
        badges = [link["href"] for link in links if link["badge"]]
        launch = [
            link["href"]
            for link in links
            if link["href"].startswith("https://colab.research.google.com/github/") and not link["badge"]
        ]
        if badges != [want]:
            problems.append(f"Colab badge links {badges}, expected exactly [{want}]")
        if not launch or any(h != want for h in launch):
            problems.append(f"Colab launch button links {launch}, expected {want}")
        info["colab"] = "ok" if badges == [want] and launch and all(h == want for h in launch) else "WRONG"
    return problems, info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="built site (default _build/html)")
    ap.add_argument(
        "--kit",
        choices=["auto", "require", "skip"],
        default="auto",
        help="check the teaching kit (slides, quiz pages) when built (auto, the default), "
        "fail when it is not (require), or leave it out (skip)",
    )
    args = ap.parse_args(argv)

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
        print("browser check: the Python package playwright is missing: pip install -e '.[book]'", file=sys.stderr)
        return 2

    server, base = serve(args.html)
    pages = toc_pages()
    blocked: list[str] = []
    results = []
    kit_results: list[tuple[str, list[str], str]] = []
    start = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser, chromium = launch(p)
            context = browser.new_context(viewport={"width": 1280, "height": 900})

            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            for doc in pages:
                problems, info = check_page(page, base, doc, blocked)
                results.append((doc, problems, info))
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
                                continue  # a chapter without a quiz yet (make_kit.py says so)
                            problems, summary = check_kit_page(page, base, rel, blocked)
                            kit_results.append((rel, problems, summary))
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    seconds = time.perf_counter() - start

    width = max(len(d) for d, _, _ in results)
    print(f"browser check: Chromium {version} ({chromium}), {len(results)} pages, {seconds:.1f} s\n")
    print(
        f"{'page':{width}s}  {'result':6s}  {'images':6s}  {'twin':7s}  {'colab':5s}  {'hidden':9s}  {'quiz':5s}  "
        "blocked"
    )
    for doc, problems, info in results:
        verdict = "ok" if not problems else "FAIL"
        print(
            f"{doc:{width}s}  {verdict:6s}  {info['images']:6s}  {info['twin'] or '-':7s}  "
            f"{info['colab'] or '-':5s}  {info['solutions']:9s}  {info['quiz']:5s}  {info['blocked']}"
        )
    if kit is None:
        print(
            "\nteaching kit: not built (make kit), slides and quiz pages not checked"
            if args.kit == "auto"
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


if __name__ == "__main__":
    sys.exit(main())
