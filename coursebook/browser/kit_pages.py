"""The teaching kit's pages in the browser: every slide deck stepped and measured against the
slide limits (slide_limits.py), every quiz page answered."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urldefrag

from .quiz import click_quizzes
from .site import listening
from .slide_limits import SLIDE_H, SLIDE_W, check_slides
from .slide_limits import summary as slide_summary

MIN_SLIDES, MAX_SLIDES = 12, 20  # content slides, the title slide not counted

SLIDE_STATE = r"""() => {
  const ready = typeof Reveal !== "undefined" && Reveal.isReady();
  const total = ready ? Reveal.getTotalSlides() : 0;
  let moved = false;
  if (ready && total > 1) { Reveal.next(); moved = Reveal.getIndices().h === 1; Reveal.slide(0); }
  const text = document.body.innerText;
  return {ready, total, moved, katex: document.querySelectorAll(".katex").length,
          rawMath: /\\\(|\\\[/.test(text), solution: text.includes("#@title Solution")};
}"""


def speaker_view(page) -> str | None:
    """Press `S` as a lecturer would: the speaker view must open with this slide's notes. None if it
    does; else what went wrong."""
    page.evaluate("Reveal.slide(1)")
    try:
        with page.context.expect_page(timeout=10_000) as popup_info:
            page.keyboard.press("s")
        popup = popup_info.value
        popup.wait_for_selector(".speaker-controls-notes .value", timeout=10_000)
        popup.wait_for_function(
            "document.querySelector('.speaker-controls-notes .value').textContent.trim().length > 20", timeout=10_000
        )
        popup.close()
    except Exception as exc:
        return f"the speaker view (S) did not open with the notes: {str(exc).splitlines()[0]}"
    finally:
        page.evaluate("Reveal.slide(0)")
    return None


def screenshots(page, folder: Path, rel: str) -> None:
    """A PNG of every slide at 1280x720, to look at (not kept in the repository)."""
    stem = rel.removeprefix("kit/slides/").removesuffix(".html").replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(page.evaluate("Reveal.getTotalSlides()")):
        page.evaluate(f"Reveal.slide({i})")
        page.wait_for_timeout(50)
        page.screenshot(path=str(folder / f"{stem}-{i:02d}.png"))
    page.evaluate("Reveal.slide(0)")


def check_kit_page(
    page, base: str, rel: str, blocked: list[str], speaker: bool = False, shots: Path | None = None
) -> tuple[list[str], str]:
    """A slide deck or a quiz page of the kit: (problems, summary). `speaker`: also open the speaker
    view; `shots`: write a screenshot of every slide there."""
    problems: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    def on_pageerror(exc):
        problems.append(f"uncaught JavaScript exception: {exc}")

    def on_response(resp):
        if resp.url.startswith(base) and resp.status >= 400:
            problems.append(f"HTTP {resp.status}: {resp.url}")

    start = len(blocked)
    summary = ""
    with listening(page, console=on_console, pageerror=on_pageerror, response=on_response):
        if rel.startswith("kit/slides/"):
            page.set_viewport_size({"width": SLIDE_W, "height": SLIDE_H})
        response = page.goto(base + rel, wait_until="load", timeout=30_000)
        if response is None or response.status != 200:
            problems.append(f"page did not load: HTTP {response.status if response else 'none'}")
        page.wait_for_timeout(300)  # KaTeX runs on load
        if rel.startswith("kit/slides/"):
            state = page.evaluate(SLIDE_STATE)
            if not state["ready"]:
                problems.append("reveal.js did not start")
            elif not MIN_SLIDES <= state["total"] - 1 <= MAX_SLIDES:
                problems.append(f"{state['total'] - 1} content slides, {MIN_SLIDES} to {MAX_SLIDES} expected")
            elif not state["moved"]:
                problems.append("Reveal.next() did not move to the second slide")
            if state["rawMath"]:
                problems.append("math left as TeX (\\( or \\[ in the text): KaTeX did not typeset it")
            if state["solution"]:
                problems.append("a solution cell (#@title Solution ...) is on a slide")
            if state["ready"]:
                found, info = check_slides(page)
                problems += found
                summary = f"{slide_summary(info)}, {state['katex']} formulas"
                if speaker:
                    trouble = speaker_view(page)
                    if trouble:
                        problems.append(trouble)
                if shots is not None:
                    screenshots(page, shots, rel)
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
    if len(blocked) > start:
        problems.append(f"requests to other hosts (the kit must work offline): {blocked[start:][:3]}")
    return problems, summary
