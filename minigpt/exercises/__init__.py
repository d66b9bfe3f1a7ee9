"""Exercises a learner can check: a starter cell, a check cell, hints, then the worked solution.

A chapter's exercises live in `minigpt.exercises.chNN` (one module per chapter), each exercise an
`Exercise` whose `check` calls the learner's function (or reads the learner's value) on fresh inputs
and compares it with minigpt's own code or a closed form, so a printed number cannot be copied in.
In a chapter:

    def min_p_filter(logits, min_p):          # the starter cell: the learner fills it in
        raise NotImplementedError

    from minigpt.exercises import ch08        # the check cell
    ch08.ex1.check(min_p_filter)

`check` prints one verdict, "correct", "not yet" (with what is wrong, in words a learner can act on)
or "not attempted" (the starter still raises NotImplementedError, or a value is still `...`), and
never raises, so a notebook runs top to bottom before anything is done. `hint()` gives the next
hint; `solution()` shows the worked solution, taken from the chapter (`solutions.json`, generated
with the student edition of the chapters).

For a grader: with MINIGPT_EXERCISE_LOG=<file> in the environment, every check appends one JSON line
{"chapter", "exercise", "status", "message"} to that file; `results()` returns the same in-process.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

CORRECT, WRONG, NOT_ATTEMPTED = "correct", "incorrect", "not attempted"
LOG_ENV = "MINIGPT_EXERCISE_LOG"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # minigpt/: frames here are the checker's


class Wrong(Exception):
    """Raised by a check with a message that tells the learner what is wrong and what to do."""


class NotAttempted(Exception):
    """Raised by a check when the answer is still the starter's."""


@dataclass(frozen=True)
class Result:
    chapter: int
    exercise: int
    status: str
    message: str = ""

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def _ipython_display_(self) -> None:
        """Show nothing: a check cell's last line returns the Result, and its verdict is already printed."""


_RESULTS: dict[tuple[int, int], Result] = {}


def results() -> list[Result]:
    """The last result of every exercise checked in this process, in chapter and exercise order."""
    return [_RESULTS[k] for k in sorted(_RESULTS)]


def _record(result: Result) -> None:
    _RESULTS[(result.chapter, result.exercise)] = result
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(result.__dict__, ensure_ascii=False) + "\n")


def is_placeholder(value: Any) -> bool:
    """True for what a starter leaves in place of a value: `...` or None."""
    return value is Ellipsis or value is None


def learner_call(fn: Callable, *args, **kwargs):
    """Call the learner's function; NotImplementedError means the starter is untouched, and any other
    exception becomes a verdict that names it and the line of the learner's code that raised it."""
    if not callable(fn):
        raise Wrong(f"expected a function, got {type(fn).__name__}: pass the function itself, without calling it")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    except (Wrong, NotAttempted):
        raise
    except Exception as error:  # the learner's bug: say what and where, not a traceback of the checker
        frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(_PACKAGE_DIR)]
        where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""
        raise Wrong(f"your code raised {type(error).__name__}: {error}{where}") from None


class Exercise:
    """One exercise of one chapter: `check(answer)`, `hint()`, `solution()`."""

    def __init__(self, chapter: int, number: int, checker: Callable[..., str | None], hints: list[str]):
        if not hints:
            raise ValueError(f"exercise {chapter}.{number} needs at least one hint")
        self.chapter, self.number = chapter, number
        self._checker, self._hints, self._hints_given = checker, list(hints), 0

    @property
    def name(self) -> str:
        return f"ex{self.number}"

    def check(self, *answers: Any) -> Result:
        """Check the answer(s); prints the verdict and returns it. Never raises."""
        try:
            if not answers or all(is_placeholder(a) for a in answers):
                raise NotAttempted
            note = self._checker(*answers)
            result = Result(self.chapter, self.number, CORRECT, note or "")
        except NotAttempted:
            result = Result(self.chapter, self.number, NOT_ATTEMPTED)
        except Wrong as wrong:
            result = Result(self.chapter, self.number, WRONG, str(wrong))
        _record(result)
        print(self._verdict(result))
        return result

    def _verdict(self, r: Result) -> str:
        head = f"Exercise {self.chapter}.{self.number}:"
        module = f"ch{self.chapter:02d}.{self.name}"
        if r.status == CORRECT:
            return f"{head} correct.{' ' + r.message if r.message else ''}"
        if r.status == NOT_ATTEMPTED:
            return f"{head} not attempted yet. Fill in the cell above, run it, then run this cell again."
        return f"{head} not yet. {r.message}\n  {module}.hint() gives a hint; {module}.solution() the worked solution."

    def hint(self) -> None:
        """Print the next hint (the last one again once all were given)."""
        i = min(self._hints_given, len(self._hints) - 1)
        self._hints_given += 1
        print(f"Hint {i + 1} of {len(self._hints)}: {self._hints[i]}")

    def solution(self, edition: str = "en") -> None:
        """Print the worked solution of this exercise, as the chapter (`edition` "en" or "zh") has it."""
        print(solution_text(self.chapter, self.number, edition))


def solution_text(chapter: int, number: int, edition: str = "en") -> str:
    if edition not in ("en", "zh"):
        raise ValueError(f"edition {edition!r} is not 'en' or 'zh'")
    path = resources.files("minigpt.exercises").joinpath("solutions.json")
    if not path.is_file():
        return "The worked solutions are folded under each exercise in the book's chapter."
    solutions = json.loads(path.read_text(encoding="utf-8"))
    try:
        return solutions[edition][f"{chapter:02d}"][str(number)]
    except KeyError:
        return f"Exercise {chapter}.{number} has no worked solution in the {edition} edition."
