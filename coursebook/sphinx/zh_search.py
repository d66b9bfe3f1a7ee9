"""Chinese phrases in the site's search: a Sphinx extension, loaded by name through _config.yml's
sphinx.extra_extensions (coursebook.sphinx.zh_search).

The search index is segmented by jieba (html_search_language: zh), so it holds 旋转, 位置 and 编码;
the query typed in the browser is split by Sphinx's searchtools.js at spaces and punctuation only,
so 旋转位置编码 is looked up whole and finds nothing. static/zh_search.js, added to the search page,
cuts every run of Chinese characters in a query into the index's own words (the index is the
dictionary), and keeps only the pages that hold every Chinese word. English queries are split and
stemmed by Sphinx as before. `coursebook browser-check` searches zh phrases and en words and fails
when one does not find its chapter.

jieba's own dictionary lacks many of the course's terms: it cuts 外推 (extrapolation) into two
characters, which the index drops, so no query could find it. The glossary's Chinese terms
(book/zh/glossary.md, first column) are given to jieba as a user dictionary
(html_search_options["dict"]): the index then holds 外推, 预填充, 旋转位置编码 as words, and
jieba's search cut keeps their parts (旋转, 位置, 编码) too.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
SCRIPT = "zh_search.js"
GLOSSARY = "book/zh/glossary.md"
# jieba's weight for a glossary term: high enough that the term wins over the words jieba would
# cut across it in a sentence (在外推时: 在外 + 推时 at jieba's default weight), like a common word.
WEIGHT = 100_000


def glossary_words(path: Path) -> list[str]:
    """The glossary's Chinese terms: the first column of its tables, split at 、，/, without
    parentheses, terms of two Chinese characters or more (the index keeps no shorter word)."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) < 3 or set(cells[1].strip()) <= set("-: "):
            continue
        for part in re.split(r"[、，,/]", re.sub(r"（[^）]*）|\([^)]*\)", "", cells[1])):
            part = part.strip()
            if re.fullmatch(r"[\u4e00-\u9fff]{2,}", part) and part not in words and part != "术语":
                words.append(part)
    return words


def _user_dictionary(app, config):
    glossary = Path(app.srcdir) / GLOSSARY
    if not glossary.exists():
        return
    path = Path(app.doctreedir) / "zh_search_words.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{word} {WEIGHT}\n" for word in glossary_words(glossary))
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(path)}


def _add_static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def _on_search_page(app, pagename, templatename, context, doctree):
    # Only the search page runs queries; the other pages do not need the script.
    if pagename == "search":
        app.add_js_file(SCRIPT)


def setup(app):
    app.connect("config-inited", _user_dictionary)
    app.connect("builder-inited", _add_static_path)
    # Before coursebook.sphinx.fixes rebuilds the page's script list (priority 500): added after it,
    # the script would miss the page.
    app.connect("html-page-context", _on_search_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
