"""Every check of the book's sources that needs no kernel and no browser, in one run.

    stamp --check    each chapter's title line and Colab cell agree with _config.yml
    parity           zh and en in lockstep: code, tags, outputs, fact-check boxes and their logs
    render --check   the generated pages (instructor guide tables, model card) are current
    prose-numbers    every number in the prose is printed, chosen in code, cited or reviewed
    quizzes          every quiz is valid, its sections exist, the editions agree
    student --check  the student edition (student/) and the solutions' text are current
    authoring-words --strict   no seed numbers, fact-check ids outside their box, tool names or
                     build words on the pages learners read
    zh-style --strict          the zh style sheet (CONTRIBUTING.md): terms, citations, ranges, 倍,
                     line breaks between Chinese characters

All of them run (a failure does not hide the next one's verdict); the exit status is 1 if any
failed. `make check-notebooks` runs this, then nbval.
"""

from __future__ import annotations

import argparse
import importlib

CHECKS = [
    ("stamp --check", "coursebook.stamp", ["--check"]),
    ("parity", "coursebook.parity", []),
    ("render --check", "coursebook.render", ["--check"]),
    ("prose-numbers", "coursebook.prose_numbers", []),
    ("quizzes", "coursebook.quizzes", []),
    ("student --check", "coursebook.student", ["--check"]),
    ("authoring-words --strict", "coursebook.authoring_words", ["--strict"]),
    ("zh-style --strict", "coursebook.zh_style", ["--strict"]),
]


def main(argv=None) -> int:
    argparse.ArgumentParser(
        prog="coursebook check", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    failed = []
    for name, module, args in CHECKS:
        print(f"== coursebook {name}", flush=True)
        if importlib.import_module(module).main(args):
            failed.append(name)
    if failed:
        print(f"\ncoursebook check FAILED: {', '.join(failed)}")
        return 1
    print(f"\ncoursebook check passed: {', '.join(name for name, _, _ in CHECKS)}")
    return 0
