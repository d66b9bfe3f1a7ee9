"""The book's generated pages: rewrite them from their sources, or verify them with --check.

instructor   the instructor guide's outcome tables (objectives, exercises, quiz questions) and
             time tables (book/_data/timings.json), in book/{en,zh}/instructor_guide.md and
             book/{en,zh}/instructor/NN_name.md, between <!-- kind:key --> markers
model-card   book/{en,zh}/model_card.md from minigpt/assets/course-model/model_card.json
plan         the course plan (book/_data/course_plan.yml) in the prefaces, the instructor guides
             and the kit pages (coursebook/kit/plan.py)

coursebook render                       # every generated page
coursebook render model-card --check    # exit 1 if a page differs from what its source gives
"""

from __future__ import annotations

import argparse

from ..generated import sync
from ..kit import plan
from . import instructor, model_card

TARGETS = {
    "instructor": (instructor.outputs, "instructor guide pages"),
    "model-card": (model_card.outputs, "model card pages"),
    "plan": (plan.outputs, "course plan blocks"),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook render", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("targets", nargs="*", metavar="{" + ",".join(TARGETS) + "}", help="default: all of them")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page is out of date")
    args = ap.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        ap.error(f"unknown page kind {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    status = 0
    for name in args.targets or list(TARGETS):
        outputs, what = TARGETS[name]
        fix = f"coursebook render {name}"
        status |= sync(outputs(), check=args.check, what=what, fix=fix)
    return status
