"""The browser the checks drive: the system Chromium (or Chrome, or CHROMIUM_PATH), else the one
Playwright downloaded. No download here; `coursebook ensure-chromium` installs Debian's as root."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM_PATH")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def launch(p):
    """(browser, description): the system Chromium if there is one, else Playwright's own build."""
    chromium = find_chromium()
    try:
        if chromium:
            return p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True), chromium
        return p.chromium.launch(args=CHROMIUM_ARGS, headless=True), "Playwright's Chromium"
    except Exception as exc:
        raise SystemExit(
            f"could not start Chromium ({chromium or 'none on PATH, none from Playwright'}): {exc}\n"
            "Install Debian's chromium (`coursebook ensure-chromium` does it where apt-get and root are\n"
            "available) or set CHROMIUM_PATH to a Chrome/Chromium binary."
        ) from exc
