"""Learner pages show no authoring words: how the course was made is not what a learner reads.

It reads what learners read, in both editions: the chapters' markdown cells and code comments,
the slides (kit/slides), the quizzes (kit/quizzes), and the book's learner pages (the preface,
the glossary, the fact-check log, the model card; book/<edition>/*.md but the instructor pages);
the worksheets are printed from these. Code,
math and link targets are blanked first (coursebook.prose), so a link to a fact-check entry or a
file name in code is not a finding. Rules:

  seed          the source notes by their file names: "Seed 004 (Q7)", "seed 003", "种子笔记"
                (say "the source notes" / "源笔记", and what they say)
  fact-check    a fact-check id (FC-06-3) anywhere but the first line of its own box
                ("**Fact check FC-06-3**"), the first column of the fact-check log and link targets
  tool          the course's tools by name: scripts/..., coursebook, make <a target>, nbval,
                _config.yml, a path under book/_data or .github
  making        words about how the page was made: CI, committed outputs, re-executed, the
                maintainers, an issue number, "edit the script", the session a GPU was (not) lent
                to, 提交的输出, 仓库里保存的输出, 本次会话

    coursebook authoring-words              # counts per chapter and rule; exit 0 (report-only)
    coursebook authoring-words --details    # and every finding
    coursebook authoring-words --strict     # exit 1 on any finding (for `coursebook check`)
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass

from .book import ROOT, rel
from .prose import Piece, chapter_pieces, prose_only, quiz_pieces, slide_pieces

RULES = {
    "seed": re.compile(r"\b[Ss]eeds? ?\d{3}(?: ?\(?Q\d+\)?)?|种子笔记|种子 ?\d{3}"),
    "fact-check": re.compile(r"\bFC-\d\d-\d+\b"),
    "tool": re.compile(
        r"\bscripts/[\w./-]+|\bcoursebook\b|\bnbval\b|_config\.yml|book/_data|\.github/"
        r"|\bmake (?:book|test|kit|lint|setup|notebooks|check[\w-]*|browser-check|screenshots|sweep[\w-]*|timings"
        r"|colab-sim|course-model|clean)\b"
    ),
    "making": re.compile(
        r"\bCI\b|\bcommitted (?:outputs?|notebooks?|figures?|numbers?)|\bre-?executed?\b|\bmaintainers?\b"
        r"|\bissue #?\d+|edit the script|not this cell|\bwhen this (?:chapter|notebook) was (?:run|made|built|written)"
        r"|\b(?:this|the) session\b|\blent to\b|本次会话|借到 ?GPU|提交的输出|仓库里保存的输出|维护者|重新执行"
    ),
}
# The first line of a fact-check box names its id: "> **Fact check FC-06-3**" / "> **核查 FC-06-3**".
BOX_FIRST_LINE = re.compile(r"^>?\s*\*\*(?:Fact check|核查) FC-\d\d-\d+\*\*", re.M)
# A row of the fact-check log names its box in the first column: "| FC-06-3 | ...".
LOG_ROW = re.compile(r"^\|\s*(FC-\d\d-\d+)\s*\|", re.M)
LEARNER_PAGES = ("preface.md", "glossary.md", "fact_check.md", "model_card.md")


@dataclass
class Finding:
    path: str
    where: str
    line: int
    rule: str
    text: str


def check_piece(piece: Piece) -> list[Finding]:
    prose = prose_only(piece.text)
    allowed = {m.start() for m in BOX_FIRST_LINE.finditer(piece.text)}
    log_ids = {m.start(1) for m in LOG_ROW.finditer(piece.text)}
    findings = []
    for rule, pattern in RULES.items():
        for m in pattern.finditer(prose):
            if rule == "fact-check":
                line_start = prose.rfind("\n", 0, m.start()) + 1
                if line_start in allowed or m.start() in log_ids:
                    continue
            findings.append(Finding(piece.path, piece.where, piece.line_of(m.start()), rule, m.group()))
    return findings


def learner_pages(edition: str) -> list[Piece]:
    paths = [ROOT / "book" / edition / name for name in LEARNER_PAGES]
    return [Piece(rel(p), "", p.read_text(encoding="utf-8"), "page") for p in paths if p.is_file()]


def pieces() -> list[Piece]:
    return [
        p for ed in ("en", "zh") for p in chapter_pieces(ed) + slide_pieces(ed) + quiz_pieces(ed) + learner_pages(ed)
    ]


def chapter_of(path: str) -> str:
    """notebooks/en/06_rope.ipynb, kit/slides/en/06_rope.md -> 06_rope"""
    return path.rsplit("/", 1)[-1].split(".")[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook authoring-words", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--details", action="store_true", help="list every finding with its place")
    ap.add_argument("--strict", action="store_true", help="exit 1 when there is a finding")
    args = ap.parse_args(argv)
    findings = [f for piece in pieces() for f in check_piece(piece)]

    counts = Counter((f.path, f.rule) for f in findings)
    paths = sorted({f.path for f in findings}, key=lambda p: (chapter_of(p), p))
    width = max((len(p) for p in paths), default=10)
    print(f"{'file':{width}s}  " + "  ".join(f"{r:>10s}" for r in RULES) + f"  {'total':>6s}")
    for path in paths:
        row = [counts[(path, r)] for r in RULES]
        print(f"{path:{width}s}  " + "  ".join(f"{n:10d}" for n in row) + f"  {sum(row):6d}")
    if args.details:
        for f in findings:
            where = f"{f.path} {f.where}, line {f.line}" if f.where else f"{f.path}:{f.line}"
            print(f"{f.rule}: {where}: {f.text!r}")
    if not findings:
        print("\nauthoring-words check passed: learner pages name no seeds, ids, tools or build steps")
        return 0
    verdict = "FAILED" if args.strict else "(report only: --strict fails on them)"
    print(f"\nauthoring-words check {verdict}: {len(findings)} findings on learner pages")
    return 1 if args.strict else 0
