"""Small Sphinx fixes for the course book, loaded through _config.yml's sphinx.local_extensions.

1. Duplicate inline scripts.
Under jupyter-book 1.0.4 / Sphinx 7.4 the inline scripts of sphinx-thebe 0.3.1
(`const THEBE_JS_URL = ...`) and sphinx-togglebutton reach each page twice, once registered with
filename "" and once with None, so every page throws "Identifier 'THEBE_JS_URL' has already been
declared" in the browser console (found by scripts/browser_check.py). This drops duplicate
<script> entries from each page's context; it changes nothing else.

2. Page language: the zh edition's pages get <html lang="zh-CN">.
"""


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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts)
    app.connect("html-page-context", _page_language)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
