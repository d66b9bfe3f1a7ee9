"""The teaching kit's pages in the browser: every slide deck stepped, every quiz page answered."""

from __future__ import annotations

from urllib.parse import urldefrag

from .quiz import click_quizzes
from .site import listening

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

    start = len(blocked)
    summary = ""
    with listening(page, console=on_console, pageerror=on_pageerror, response=on_response):
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
    if len(blocked) > start:
        problems.append(f"requests to other hosts (the kit must work offline): {blocked[start:][:3]}")
    return problems, summary
