"""The built site, seen by a browser: served on 127.0.0.1, its pages in _toc.yml order, cut off
from other hosts, with page events listened to while a page is checked."""

from __future__ import annotations

import functools
import http.server
import threading
from contextlib import contextmanager
from pathlib import Path

from ..book import ROOT


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


# Scroll down, load every image eagerly, wait for them: [{src, width}] (width 0: it did not load).
WAIT_FOR_IMAGES = """async () => {
  window.scrollTo(0, document.body.scrollHeight);
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); setTimeout(r, 5000); })));
  return imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}));
}"""


def offline(context, base: str) -> list[str]:
    """Let the browser context reach only the local site (and data: URLs); every other request is
    aborted and its URL appended to the list returned, so a check runs the same without internet."""
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return blocked


@contextmanager
def listening(page, **handlers):
    """page.on(event, handler) for each event=handler while the block runs, then removed."""
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        yield
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)
