"""Hide the course's extras and the book's tools from this interpreter, as if they were not installed.

The library's tests must pass with minigpt and its `test` and `hf` extras alone: without the
`course` extra (matplotlib, ipywidgets) and without coursebook and the packages the book needs.
Importing this module hides them: every finder on sys.meta_path is wrapped so that these
top-level names are not found (importlib.util.find_spec answers None, `import` raises
ModuleNotFoundError), which is what a machine without them does. It is used twice:

- `make test` runs tests/library with it as a pytest plugin, so every library test runs hidden:
  `pytest -p tests.library.no_course_extras -p no:nbval tests/library` (nbval, a plugin pytest
  loads by itself, needs the notebook packages hidden here);
- test_layout.py loads it into a fresh interpreter that then imports minigpt, runs the README's
  first tour block and asks for a plot, which must say what to pip install.
"""

from __future__ import annotations

import sys

HIDDEN = frozenset(
    {
        # minigpt's `course` extra
        "matplotlib",
        "ipywidgets",
        # the course's tools and what they bring (coursebook/pyproject.toml)
        "coursebook",
        "jupyter_book",
        "sphinx",
        "myst_nb",
        "nbformat",
        "nbclient",
        "nbval",
        "ipykernel",
        "IPython",
        "playwright",
        "jieba",
        "jupyterquiz",
    }
)


class HidingFinder:
    """A meta-path finder that answers for another one, except for the hidden packages."""

    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        find_spec = getattr(self.finder, "find_spec", None)
        return find_spec(name, path, target) if find_spec else None

    def __getattr__(self, name):  # the rest as the finder has it (find_distributions, invalidate_caches)
        return getattr(self.finder, name)


def hide() -> None:
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in HIDDEN)
    if loaded:
        raise RuntimeError(f"imported before they could be hidden: {loaded[:5]}")
    sys.meta_path[:] = [f if isinstance(f, HidingFinder) else HidingFinder(f) for f in sys.meta_path]


hide()
