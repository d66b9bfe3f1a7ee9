"""What every subcommand shares: one way to refuse a bad input, one help layout."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


def fail(message: str, prog: str) -> NoReturn:
    """One line on stderr, argparse's wording, exit status 2: no traceback for a bad input."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show '(default: x)' unless the help text already explains its default."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or action.default in (None, argparse.SUPPRESS, False):
            return action.help
        return super()._get_help_string(action)
