"""A page of the built book in the browser: loads clean, images load, solutions stay hidden, zh
pages speak Chinese, quizzes answer; on a chapter page, the line under the title is right."""

from __future__ import annotations

from urllib.parse import urldefrag

from ..book import COLAB_BADGE_SVG, colab_url
from ..student import exercises_badge_svg
from .quiz import click_quizzes
from .site import WAIT_FOR_IMAGES, listening

# The theme's English words left on a zh page.
THEME_ENGLISH = """() => {
  const found = [];
  const where = ".admonition-title, .search-button__default-text, #pst-back-to-top, .prev-next-subtitle";
  document.querySelectorAll(where).forEach(el => {
    const text = el.textContent.trim();
    if (/^(Show|Hide) code cell|^Back to top$|^Search$|^(previous|next)$/.test(text)) found.push(text);
  });
  return [...new Set(found)];
}"""

# For every cell tagged `solution`: is its code or output visible?
SOLUTIONS = """() => Array.from(document.querySelectorAll(".cell.tag_solution")).map(cell => {
  const parts = Array.from(cell.querySelectorAll(".cell_input, .cell_output"));
  return parts.some(el => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null);
})"""

# Every link, with: is it the Colab badge, and is it in the same paragraph as the badge (the
# line stamped under the chapter title, which holds the twin link).
LINKS = """() => {
  const badgeImg = document.querySelector("article img[src*='colab-badge']");
  const stamped = badgeImg ? badgeImg.closest("p") : null;
  return Array.from(document.querySelectorAll("a[href]")).map(a => ({
    href: a.href,
    stamped: !!stamped && stamped.contains(a),
    badge: !!a.querySelector("img[src*='colab-badge']"),
  }));
}"""


def check_page(page, base: str, doc: str, blocked: list[str]) -> tuple[list[str], dict]:
    """A page of the book (its name in _toc.yml): (problems, what the report prints about it)."""
    url = base + doc + ".html"
    problems: list[str] = []
    console_errors: list[tuple[str, str]] = []
    local_failures: list[str] = []

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

    start = len(blocked)
    handlers = dict(console=on_console, pageerror=on_pageerror, requestfailed=on_requestfailed, response=on_response)
    with listening(page, **handlers):
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
        # the kit's files linked from the page (the chapter's line, the kit page's table, the guide)
        kit_links = page.evaluate(
            "() => Array.from(document.querySelectorAll('.kit-links a, article a[href*=\"/kit/\"]')).map(a => a.href)"
        )
        n_quizzes, quiz_problems = click_quizzes(page)
        problems += quiz_problems
        page.wait_for_timeout(200)  # late console messages
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
        elif img["src"] not in (COLAB_BADGE_SVG, exercises_badge_svg("en"), exercises_badge_svg("zh")):
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
        problems += check_chapter_header(page, base, parts[1], parts[2], links, info)
    return problems, info


def check_chapter_header(page, base: str, edition: str, name: str, links: list[dict], info: dict) -> list[str]:
    """A chapter page's line under its title: the kit links, the twin link (and that the twin
    loads), one Colab badge and the launch button, both to this notebook's Colab URL, and the
    badge that opens the student notebook in Colab."""
    problems: list[str] = []
    kit_links = info["kit_links"]
    if not any(h.split("#")[0].endswith(f"kit/slides/{edition}/{name}.html") for h in kit_links):
        problems.append("no link to the chapter's slides under the title (coursebook.sphinx.kit adds it)")
    if any(h.split("#")[0].endswith("-answers.pdf") for h in kit_links):
        problems.append("the chapter page links an answer key: learners' pages link slides, quiz and worksheet only")
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
    student = colab_url(f"student/{edition}/{name}.ipynb")  # the "Do the exercises in Colab" badge
    if stamped_links.count(student) != 1:
        problems.append(f"the line under the title should link the student notebook once: {student}")
    badges = [link["href"] for link in links if link["badge"]]
    launch = [
        link["href"]
        for link in links
        if link["href"].startswith("https://colab.research.google.com/github/")
        and not link["badge"]
        and link["href"] != student
    ]
    if badges != [want]:
        problems.append(f"Colab badge links {badges}, expected exactly [{want}]")
    if not launch or any(h != want for h in launch):
        problems.append(f"Colab launch button links {launch}, expected {want}")
    info["colab"] = "ok" if badges == [want] and launch and all(h == want for h in launch) else "WRONG"
    return problems
