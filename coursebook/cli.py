"""The one entry point: `coursebook <command> ...` (also `python -m coursebook <command> ...`).

COMMANDS maps each command to the function that runs it ("module" means its `main`), and GROUPS
orders them for `coursebook --help`. Every command parses its own options, so `coursebook kit
--help` is written next to the code that reads them; modules are imported only when their
command runs, so `coursebook --help` needs none of the heavy dependencies (Playwright, Sphinx).
"""

from __future__ import annotations

import importlib
import sys

# command: (where it is, what it does)
COMMANDS = {
    "stamp": ("coursebook.stamp", "write each chapter's title line and Colab install cell from _config.yml"),
    "execute": ("coursebook.execute", "re-execute chapter notebooks in place and print a time table"),
    "nbval": ("coursebook.nbval_runs", "run nbval over chapters, with a time table (--plain-cpu: a plainer CPU)"),
    "timings": ("coursebook.nbval_runs:timings", "measure every chapter on two CPUs for the instructor guide"),
    "check": ("coursebook.check", "every check without a kernel: stamps, parity, pages, numbers, quizzes, ..."),
    "parity": ("coursebook.parity", "zh and en in lockstep: code, tags, outputs, fact-check boxes"),
    "prose-numbers": ("coursebook.prose_numbers", "every number in the prose is printed, cited or reviewed"),
    "quizzes": ("coursebook.quizzes", "check every quiz: valid, its sections exist, zh and en agree"),
    "zh-style": ("coursebook.zh_style", "the zh style sheet: terms, citations, ranges, 倍, line breaks"),
    "authoring-words": ("coursebook.authoring_words", "no seeds, ids, tools or build words on learner pages"),
    "render": ("coursebook.render", "write the generated pages: instructor guide tables, model card"),
    "handout": ("coursebook.handout", "copies of the chapter notebooks without their solutions, to hand out"),
    "kit": ("coursebook.kit.build", "the teaching kit: slides, quiz pages, worksheets, answer keys, PDFs"),
    "browser-check": ("coursebook.browser.check", "open every page of the built site (and its kit) in Chromium"),
    "screenshots": ("coursebook.screenshots", "a full-page PNG of every page of the built site"),
    "ensure-chromium": ("coursebook.shell:ensure_chromium", "make sure Chromium, a CJK font and poppler are here"),
    "sweep": ("coursebook.sweeps", "the chapters' training sweeps: sweep heads (ch. 5), sweep scale (ch. 9)"),
    "colab-sim": ("coursebook.shell:colab_sim", "the Colab path, simulated: fresh venv, minigpt from git, nbval"),
    "student": ("coursebook.student", "write the student edition (student/) and the exercises' solutions.json"),
    "check-student": ("coursebook.grade.untouched", "run each student notebook untouched: no error, all not attempted"),
    "grade": ("coursebook.grade.cli", "grade submitted student notebooks in a sandbox: scores.csv and feedback"),
    "ensure-bubblewrap": ("coursebook.grade.sandbox:ensure_main", "make sure the grader's sandbox (bubblewrap) works"),
}
GROUPS = {
    "the chapters": ["stamp", "execute", "nbval", "timings"],
    "checks": ["check", "parity", "prose-numbers", "quizzes", "zh-style", "authoring-words"],
    "the book and the kit": ["render", "kit", "handout", "browser-check", "screenshots", "ensure-chromium"],
    "experiments and CI": ["sweep", "colab-sim"],
    "teaching": ["student", "check-student", "grade", "ensure-bubblewrap"],
}

USAGE = "usage: coursebook <command> [--help] ..."
ABOUT = """The course's own tools: build, check and publish the book that teaches with minigpt.
Run them from the course repository (make's targets call them); `coursebook <command> --help`
says what each one does and how."""


def help_text() -> str:
    lines = [USAGE, "", ABOUT]
    for group, names in GROUPS.items():
        lines += ["", f"{group}:"] + [f"  {name:<17} {COMMANDS[name][1]}" for name in names]
    return "\n".join(lines)


def run(name: str, argv: list[str]) -> int:
    """Run command `name` with its own arguments."""
    module, _, function = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(module), function or "main")(argv) or 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(help_text())
        return 0
    if argv[0] not in COMMANDS:
        print(f"{USAGE}\ncoursebook: unknown command {argv[0]!r} (coursebook --help lists them)", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])
