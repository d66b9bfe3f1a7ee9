"""Generated files: write them, or with --check verify them and change nothing.

Several files of the book are written by the tools, never by hand: the notebooks' stamped cells
(`coursebook stamp`), the instructor guide's tables and the model-card pages (`coursebook
render`). Each tool computes what every such file should hold, as an `Output`, and hands the list
to `sync`, which is the one place that decides "rewrite" or "fail the check":

    outputs = [Output(path, text) for path, text in ...]
    return sync(outputs, check=args.check, what="model card pages", fix="coursebook render")
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .book import rel


@dataclass
class Output:
    """A file and the text it should hold; `reasons` say what differs, when the tool knows."""

    path: Path
    text: str
    reasons: list[str] = field(default_factory=list)

    def current(self) -> str | None:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else None

    def stale(self) -> bool:
        return self.current() != self.text


def sync(outputs: Iterable[Output], check: bool, what: str, fix: str) -> int:
    """Rewrite every stale output (check=False), or list them and return 1 (check=True).

    `what` names the files in the messages ("notebooks' stamped cells"); `fix` is the command
    that brings them up to date."""
    outputs = list(outputs)
    stale = [o for o in outputs if o.stale()]
    if check:
        if not stale:
            print(f"{what}: all {len(outputs)} up to date")
            return 0
        print(f"check FAILED: {len(stale)} of {len(outputs)} {what} out of date; run `{fix}`:", file=sys.stderr)
        for o in stale:
            print(f"  {_described(o)}", file=sys.stderr)
        return 1
    for o in stale:
        o.path.parent.mkdir(parents=True, exist_ok=True)
        o.path.write_text(o.text, encoding="utf-8")
        print(f"rewrote {_described(o)}")
    print(f"{what}: {len(stale)} of {len(outputs)} rewritten")
    return 0


def _described(o: Output) -> str:
    return rel(o.path) + (": " + "; ".join(o.reasons) if o.reasons else "")
