"""Small Sphinx fixes for the course book: a Sphinx extension, loaded by name through
_config.yml's sphinx.extra_extensions (coursebook.sphinx.fixes).

1. Duplicate inline scripts.
Under jupyter-book 1.0.4 / Sphinx 7.4 the inline scripts of sphinx-thebe 0.3.1
(`const THEBE_JS_URL = ...`) and sphinx-togglebutton reach each page twice, once registered with
filename "" and once with None, so every page throws "Identifier 'THEBE_JS_URL' has already been
declared" in the browser console (found by the browser check). This drops duplicate
<script> entries from each page's context; it changes nothing else.

2. Page language: the zh edition's pages get <html lang="zh-CN">.

3. Chinese line breaks: a line break inside a Chinese paragraph of the source (between two CJK
characters or CJK punctuation) is removed, since HTML renders it as a space ("内部。 你会看到").
Code, literals and math are left alone.

4. Previous/Next stay inside an edition: the theme links the last page of one edition to the
first of the other; such a link is dropped.

5. The fact-check log's table gets the class `fact-log`, which book/_static/course.css lays out
to the width of the page (identifiers on one line, long code allowed to wrap).

6. The theme's own words on zh pages (Search, Contents, previous/next, Show code cell content,
Back to top) are Chinese. Sphinx translates theme strings per build, not per page, so they are
replaced in the written zh pages; each pattern includes its surrounding markup, so that text
inside the chapters (code, outputs) is never touched.
"""

import re
from pathlib import Path

from docutils import nodes

CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
CJK_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
SKIP = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block, nodes.raw)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # The second copy is registered with filename None, the first with "": same script.
        filename = getattr(script, "filename", script) or ""
        attributes = sorted(getattr(script, "attributes", {}).items())
        key = (str(filename), getattr(script, "priority", None), repr(attributes))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _page_language(app, pagename, templatename, context, doctree):
    """<html lang="zh-CN"> on the zh edition's pages (the site's language is English), so that
    browsers and screen readers pick Chinese fonts and pronunciation."""
    if pagename.startswith(("book/zh/", "notebooks/zh/")):
        context["language"] = "zh-CN"


def _edition(pagename: str | None) -> str | None:
    for edition in ("zh", "en"):
        if pagename and pagename.startswith((f"book/{edition}/", f"notebooks/{edition}/")):
            return edition
    return None


def _join_chinese_lines(app, doctree):
    if _edition(app.env.docname) != "zh":
        return
    texts = [t for t in doctree.findall(nodes.Text) if not isinstance(t.parent, SKIP)]
    for i, text in enumerate(texts):
        joined = CJK_BREAK.sub("", text)
        # MyST gives a soft line break a Text node of its own ("\n") between two runs of text.
        if text.strip() == "" and "\n" in text and 0 < i < len(texts) - 1:
            before, after = texts[i - 1], texts[i + 1]
            if re.search(rf"[{CJK}]$", before) and re.match(rf"[{CJK}]", after):
                joined = ""
        if joined != text:
            text.parent.replace(text, nodes.Text(joined))


def _mark_fact_log(app, doctree):
    if app.env.docname.endswith("/fact_check"):
        for table in doctree.findall(nodes.table):
            table["classes"].append("fact-log")


def _links_stay_in_edition(app, pagename, templatename, context, doctree):
    here = _edition(pagename)
    if here is None:
        return
    for key in ("prev", "next"):
        link = context.get(key)
        if not link:
            continue
        if _points_to(str(link.get("link", "")), pagename, "en" if here == "zh" else "zh"):
            context[key] = None


def _points_to(href: str, pagename: str, edition: str) -> bool:
    """Does the relative link href, seen from pagename, land in the other edition's folders?"""
    parts = pagename.split("/")[:-1]
    for piece in href.split("#")[0].split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    target = "/".join(parts)
    return target.startswith((f"book/{edition}/", f"notebooks/{edition}/"))


ZH_THEME_STRINGS = {
    'search-button__default-text">Search<': 'search-button__default-text">搜索<',
    '<i class="fa-solid fa-list"></i> Contents': '<i class="fa-solid fa-list"></i> 目录',
    "<h2> Contents </h2>": "<h2> 目录 </h2>",
    'prev-next-subtitle">previous<': 'prev-next-subtitle">上一页<',
    'prev-next-subtitle">next<': 'prev-next-subtitle">下一页<',
    'admonition-title">Show code cell content<': 'admonition-title">显示代码单元格<',
    'admonition-title">Hide code cell content<': 'admonition-title">隐藏代码单元格<',
    'admonition-title">Show code cell source<': 'admonition-title">显示代码<',
    'admonition-title">Hide code cell source<': 'admonition-title">隐藏代码<',
    'admonition-title">Show code cell output<': 'admonition-title">显示输出<',
    'admonition-title">Hide code cell output<': 'admonition-title">隐藏输出<',
    "</i>Back to top</button>": "</i>回到顶部</button>",
    'aria-label="Search this book..."': 'aria-label="搜索本书……"',
    'placeholder="Search this book..."': 'placeholder="搜索本书……"',
}


def _translate_zh_theme(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for folder in ("book/zh", "notebooks/zh"):
        for page in (out / folder).rglob("*.html"):
            html = page.read_text(encoding="utf-8")
            new = html
            for english, chinese in ZH_THEME_STRINGS.items():
                new = new.replace(english, chinese)
            if new != html:
                page.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _translate_zh_theme)
    app.connect("doctree-read", _join_chinese_lines)
    app.connect("doctree-read", _mark_fact_log)
    app.connect("html-page-context", _links_stay_in_edition)
    app.connect("html-page-context", _dedupe_scripts)
    app.connect("html-page-context", _page_language)
    # env_version: bump it when a doctree transform above changes, so cached doctrees are rebuilt.
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
