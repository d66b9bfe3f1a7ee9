"""Import minigpt as it was at another commit, beside the current one, so both run in one process.

    git worktree add --detach /tmp/before28 b17f106
    old = load_package("minigpt_before", Path("/tmp/before28/minigpt"))

The package's modules import each other relatively, so importlib can load the folder under another
name; the two versions then share nothing but torch.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_package(name: str, folder: Path) -> ModuleType:
    """The package in `folder` (the directory holding its __init__.py) imported as `name`."""
    init = Path(folder) / "__init__.py"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None or not init.is_file():
        raise FileNotFoundError(f"{init} is not a package: pass the folder that holds minigpt's __init__.py.")
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package  # before it runs, so its relative imports find it
    spec.loader.exec_module(package)
    return package
