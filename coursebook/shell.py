"""The two tools written in shell, run from here so that they are commands like the others.

coursebook ensure-chromium   make sure the browser check and the kit have a Chromium, a CJK font and
                             poppler-utils (installs Debian's as root with apt; else says what to do)
coursebook colab-sim         the Colab path, simulated: a fresh venv, another torch, minigpt from a
                             git URL of this clone's HEAD, the chapters run by nbval outside the
                             repository (COLAB_TORCH, COLAB_CHAPTERS, PYTHON choose; see the script)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .book import ROOT

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "ensure-chromium": HERE / "ensure_chromium.sh",
    "colab-sim": HERE / "colab_sim.sh",
}


def run(name: str, argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: coursebook {name}\n\n" + (__doc__ or "").split("\n\n")[1])
        return 0
    if argv:
        print(f"coursebook {name} takes no arguments (its settings are environment variables)", file=sys.stderr)
        return 2
    return subprocess.run(["bash", str(SCRIPTS[name])], cwd=ROOT).returncode


def ensure_chromium(argv=None) -> int:
    return run("ensure-chromium", argv)


def colab_sim(argv=None) -> int:
    return run("colab-sim", argv)
