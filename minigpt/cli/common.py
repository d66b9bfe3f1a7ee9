"""What every subcommand shares: one way to refuse a bad input, one help layout.

A subcommand refuses by raising `Refusal("what is wrong and how to fix it")`, from anywhere
below its `main`; `@command(PROG)` on `main` turns it into one line on stderr, in argparse's
wording (`python -m minigpt train: error: ...`), and exit status 2. argparse's own errors (an
unknown option, a bad choice) take the same path, through `ArgumentParser`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable


class Refusal(Exception):
    """A bad input or an impossible request: one line on stderr, exit status 2, no traceback."""


def command(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a subcommand's `main(argv)`: a Refusal raised inside becomes `prog: error: ...`
    on stderr and SystemExit(2)."""

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            try:
                return main(argv)
            except Refusal as e:
                print(f"{prog}: error: {' '.join(str(e).split())}", file=sys.stderr)  # one line
                raise SystemExit(2) from None

        return run

    return wrap


class ArgumentParser(argparse.ArgumentParser):
    """argparse, whose errors are Refusals: one line naming --help, instead of the usage block."""

    def error(self, message):
        raise Refusal(f"{message} (see {self.prog} --help)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show '(default: x)' unless the help text already explains its default."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or action.default in (None, argparse.SUPPRESS, False):
            return action.help
        return super()._get_help_string(action)
