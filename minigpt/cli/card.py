"""`python -m minigpt card`: measure a course model on the held-out probes and write its model card
(minigpt.course.write_model_card), as `make course-model` does after training and exporting."""

from __future__ import annotations

from ..course import COURSE_MODEL_DIR, write_model_card
from .common import ArgumentParser, Refusal, command

PROG = "python -m minigpt card"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Measure a course model on the held-out probes and write its model "
        "card (model_card.json in --model).",
    )
    parser.add_argument("--model", default=str(COURSE_MODEL_DIR), help="exported model folder")
    parser.add_argument("--run", help="the training run folder (for run_summary.json)")
    parser.add_argument("--build-command", help="the command that built the model, recorded in the card")
    return parser


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = write_model_card(args.model, args.run, args.build_command)
    except (OSError, ValueError) as e:
        raise Refusal(str(e)) from None
    for kind, value in result["probes"]["accuracy"].items():
        if "/" not in kind:
            print(f"{kind:14s} {value:6.1%}")
    return 0
