#!/usr/bin/env bash
# Make sure the browser check has a Chromium to drive (called by `make browser-check`).
#  - a Chromium/Chrome on PATH, or CHROMIUM_PATH, or a browser downloaded by Playwright: done;
#  - otherwise, as root on a Debian/Ubuntu machine (CI): apt-get install Debian's chromium;
#  - otherwise: explain what to do and fail. (`make test BROWSER_CHECK=skip` skips the check
#    on purpose; CI never does.)
# Also, as root with apt, installs a small CJK font (fonts-wqy-microhei, 1.6 MB) when none is
# present, so that screenshots and the kit's PDFs of the zh pages show characters rather than boxes,
# and poppler-utils (pdftotext, pdffonts) when missing, with which `make kit` checks its PDFs.
set -euo pipefail

found=""
if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ]; then found="$CHROMIUM_PATH"; else
    echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2; exit 1; fi
fi
if [ -z "$found" ]; then
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then found=$(command -v "$name"); break; fi
  done
fi
if [ -z "$found" ]; then
  for dir in "${PLAYWRIGHT_BROWSERS_PATH:-}" "$HOME/.cache/ms-playwright" "$HOME/Library/Caches/ms-playwright"; do
    if [ -n "$dir" ] && compgen -G "$dir/chromium*" >/dev/null; then found="playwright's own Chromium in $dir"; break; fi
  done
fi

is_root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if [ -z "$found" ]; then
  if is_root_with_apt; then
    echo "browser check: installing Debian's chromium with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    found=$(command -v chromium)
  else
    cat >&2 <<'MSG'
The browser check needs Chromium or Google Chrome, and none was found. Either:
  - Debian/Ubuntu:  sudo apt-get install chromium      (or install Google Chrome)
  - macOS/Windows:  install Google Chrome and set CHROMIUM_PATH to its binary, e.g.
                    CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
  - with internet:  python -m playwright install chromium   (Playwright's own build)
To skip the browser check on purpose (CI never does): make test BROWSER_CHECK=skip
MSG
    exit 1
  fi
fi
echo "browser check: using $found"

if is_root_with_apt && command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  echo "browser check: installing a CJK font for the zh screenshots (fonts-wqy-microhei) ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null || \
    echo "  (could not install it; zh screenshots will show boxes, the check is unaffected)"
fi

if is_root_with_apt && ! command -v pdftotext >/dev/null 2>&1; then
  echo "kit: installing poppler-utils (pdftotext, pdffonts) to check the kit's PDFs ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; } || \
    echo "  (could not install it; make kit will say what is missing)"
fi
