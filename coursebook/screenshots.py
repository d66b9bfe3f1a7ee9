"""Screenshots of the built book for humans: one full-page PNG per page of _toc.yml.

    make screenshots                                   # builds the book first, writes _build/screenshots
    coursebook screenshots --out shots/ --width 390 --only notebooks/zh

Uses the same local server, Chromium and offline routing as the browser check (requests to other
hosts are blocked, so the Colab badge image and widget views appear as they do offline). The zh
pages need a CJK font on the machine (`coursebook ensure-chromium` installs one with apt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .book import ROOT
from .browser.chromium import launch
from .browser.site import WAIT_FOR_IMAGES, offline, serve, toc_pages


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook screenshots", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels (default 1280)")
    ap.add_argument("--only", default="", help="only pages whose name contains this text")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    if not (args.html / "index.html").exists():
        print(f"{args.html} has no index.html: build the book first (make book)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    server, base = serve(args.html)
    try:
        with sync_playwright() as p:
            browser, _ = launch(p)
            context = browser.new_context(viewport={"width": args.width, "height": 900})
            offline(context, base)
            page = context.new_page()
            for doc in toc_pages():
                if args.only not in doc:
                    continue
                page.goto(base + doc + ".html", wait_until="load")
                page.evaluate(WAIT_FOR_IMAGES)
                page.evaluate("window.scrollTo(0, 0)")
                target = args.out / (doc.replace("/", "__") + ".png")
                page.screenshot(path=str(target), full_page=True)
                print(target)
            browser.close()
    finally:
        server.shutdown()
    return 0
