"""The kit's own web pages: a chapter's quiz page (jupyterquiz, no kernel) and the kit's index."""

from __future__ import annotations

import html
import json
import os
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


def write_index(out: Path, built: dict, html_root: Path, no_pdf: bool) -> None:
    site = os.path.relpath(html_root, out).replace(os.sep, "/")
    rows = []
    for ed, items in built.items():
        w = WORDS[ed]
        rows.append(f'<h2 lang="{lang(ed)}">{w["edition"]}</h2><ul lang="{lang(ed)}">')
        for name, title, has_quiz in items:
            links = [
                f'<a href="{site}/notebooks/{ed}/{name}.html">{w["chapter"]}</a>',
                f'<a href="slides/{ed}/{name}.html">{w["slides"]}</a>',
                f'<a href="quizzes/{ed}/{name}.html">{w["quiz"]}</a>' if has_quiz else w["no_quiz"],
            ]
            if not no_pdf:
                links += [
                    f'<a href="handouts/{ed}/{name}-worksheet.pdf">{w["worksheet"]}</a>',
                    f'<a href="handouts/{ed}/{name}-answers.pdf">{w["answers"]}</a>',
                ]
            rows.append(f"<li>{html.escape(title)}: {' · '.join(links)}</li>")
        rows.append("</ul>")
        if not no_pdf:
            rows.append(f'<p><a href="handouts/{ed}/course.pdf">{w["course"]}</a></p>')
    (out / "index.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teaching kit · 教学资料</title>
<style>body {{ font-family: {FONTS["zh"]}; max-width: 900px; margin: 2em auto; padding: 0 1em; line-height: 1.6; }}
</style>
</head><body><h1>Teaching kit · 教学资料</h1>
<p>Built by <code>make kit</code> (<code>coursebook kit</code>) from the chapters' committed outputs.</p>
{"".join(rows)}
</body></html>
""",
        encoding="utf-8",
    )
    (out / "kit.json").write_text(
        json.dumps({ed: [n for n, _, _ in items] for ed, items in built.items()}, indent=1), encoding="utf-8"
    )
