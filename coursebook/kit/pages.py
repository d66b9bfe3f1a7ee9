"""The kit's own web pages: a chapter's quiz page (jupyterquiz, no kernel), and the kit folder's
index.html, which sends the reader to the kit's page in the book."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .. import quizzes
from ..book import repository
from .words import FONTS, MONO, WORDS, lang


def quiz_page(edition: str, name: str, title: str, quiz, links: dict) -> str:
    w = WORDS[edition]
    url, branch = repository()
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/")
    raw += f"/{branch}/kit/quizzes/{edition}/{name}.json"
    snippet = f'%pip install -q jupyterquiz\nfrom jupyterquiz import display_quiz\ndisplay_quiz("{raw}")'
    return f"""<!doctype html>
<html lang="{lang(edition)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)} · {w["quiz"]}</title>
<style>body {{ font-family: {FONTS[edition]}; max-width: 760px; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
pre {{ background: #f6f8fa; padding: 0.6em; overflow-x: auto; font-family: {MONO}; }}</style>
</head><body>
<h1>{html.escape(title)} · {w["quiz"]}</h1>
<p><a href="{links["chapter"]}">{w["chapter"]}</a> · <a href="{links["slides"]}">{w["slides"]}</a></p>
{quizzes.render(quiz, "kitquiz", edition=edition)}
<p>{w["colab_quiz"]}</p>
<pre>{html.escape(snippet)}</pre>
</body></html>
"""


def write_redirect(out: Path, built: dict[str, list[str]]) -> None:
    """OUT/index.html sends the reader to the kit's page in the book (book/<edition>/kit.md), in
    the browser's language; and OUT/kit.json lists the chapters built, for the browser check."""
    target = {ed: f"../book/{ed}/kit.html" for ed in ("en", "zh")}
    links = " · ".join(
        f'<a href="{target[ed]}" lang="{lang(ed)}">{WORDS[ed]["kit"]} · {WORDS[ed]["edition"]}</a>'
        for ed in ("zh", "en")
    )
    (out / "index.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{WORDS["en"]["kit"]} · {WORDS["zh"]["kit"]}</title>
<meta http-equiv="refresh" content="3; url={target["en"]}">
<script>location.replace((navigator.language || "").startsWith("zh") ? "{target["zh"]}" : "{target["en"]}");</script>
<style>body {{ font-family: {FONTS["zh"]}; margin: 3em auto; max-width: 40em; }}</style>
</head><body><p>{links}</p></body></html>
""",
        encoding="utf-8",
    )
    (out / "kit.json").write_text(json.dumps(built, indent=1), encoding="utf-8")
