"""The course plan, book/_data/course_plan.yml, rendered into the book's pages (`coursebook render plan`).

The plan is stated once (weeks, the chapter of each, the capstone weeks, the length of a lecture
and a lab); three blocks of each edition are written from it, between markers:

    book/<ed>/preface.md            <!-- plan:summary -->  the course's length in one sentence
    book/<ed>/instructor_guide.md   <!-- plan:weeks -->    the week-by-week table
    book/<ed>/kit.md                <!-- plan:kit -->      slides, quiz and worksheet, week by week

    coursebook render plan            # rewrite the blocks of both editions
    coursebook render plan --check    # exit 1 if a block differs from what the plan gives

The plan must name every chapter (notebooks/<ed>/NN_name.ipynb) once, in order.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

from ..book import NOTEBOOKS, ROOT, chapter_names
from ..cells import title_of
from ..generated import Output
from .words import WORDS

PLAN = ROOT / "book" / "_data" / "course_plan.yml"
PAGES = {"summary": "preface.md", "weeks": "instructor_guide.md", "kit": "kit.md"}
BLOCK = re.compile(r"<!-- plan:(?P<key>\w+) -->\n.*?<!-- /plan -->", re.DOTALL)

EN_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()

TEXT = {
    "en": {
        "summary": (
            "The course takes {weeks} weeks: one chapter a week for {chapters} weeks, each with a "
            "{lecture}-minute session in which everyone runs the notebook and a {lab}-minute lab with its "
            "exercises, then {capstone} weeks for the [capstone project](instructor/project.md)."
        ),
        "weeks_intro": (
            "{summary} Each chapter week has three parts: reading before class, the session, and the lab "
            "with the exercises after it; the chapter pages of this guide plan the session and the lab."
        ),
        "weeks_head": "| Week | Chapter | In class | Lab and homework |\n|---|---|---|---|",
        "kit_head": "| Week | Chapter | Slides | Quiz | Worksheet |\n|---|---|---|---|---|",
        "capstone": "Capstone project",
        "worksheet": "Worksheet (PDF)",
        "course": "a cover, the contents with page numbers, a bookmark per chapter and section; no solutions",
    },
    "zh": {
        "summary": (
            "整门课共{weeks}周：前{chapters}周每周一章，每周一次 {lecture} 分钟的课（大家一起运行 notebook）"
            "和一次 {lab} 分钟的实验课（做本章练习），最后{capstone}周做[期末项目](instructor/project.md)。"
        ),
        "weeks_intro": (
            "{summary}每个章节周分三部分：课前阅读，课上，课后实验课做练习；本指南各章的页面安排了课和实验课。"
        ),
        "weeks_head": "| 周 | 章 | 课上 | 实验与作业 |\n|---|---|---|---|",
        "kit_head": "| 周 | 章 | 幻灯片 | 小测验 | 练习单 |\n|---|---|---|---|---|",
        "capstone": "期末项目",
        "worksheet": "练习单（PDF）",
        "course": "有封面和带页码的目录，每章每节都有书签；不含解答",
    },
}


def load(path: Path = PLAN) -> dict:
    """The plan, checked: every chapter once and in order, each week a chapter or the capstone,
    words in both editions."""
    where = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    plan = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = []
    weeks = plan.get("weeks") or []
    named = [w.get("chapter") for w in weeks if w.get("chapter")]
    if named != chapter_names():
        problems.append(
            f"{where}: the weeks name the chapters {named}; the chapters are {chapter_names()}, once each, in order"
        )
    for k, w in enumerate(weeks, 1):
        if bool(w.get("chapter")) == bool(w.get("capstone")):
            problems.append(f"{where}: week {k} must have either `chapter: NN_name` or `capstone: true`")
        for field in ("in_class", "homework"):
            if not all(isinstance((w.get(field) or {}).get(ed), str) for ed in ("en", "zh")):
                problems.append(f"{where}: week {k} needs `{field}` in en and zh")
    session = plan.get("session") or {}
    if not all(isinstance(session.get(k), int) for k in ("lecture_minutes", "lab_minutes")):
        problems.append(f"{where}: `session` needs lecture_minutes and lab_minutes (whole minutes)")
    if problems:
        raise SystemExit("course plan:\n  " + "\n  ".join(problems))
    return plan


def number(n: int, edition: str) -> str:
    if edition == "en":
        return EN_NUMBERS[n] if n < len(EN_NUMBERS) else str(n)
    digits = "零一二三四五六七八九"
    if n == 2:
        return "两"  # before a measure word: 两周
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def summary(plan: dict, edition: str) -> str:
    weeks = plan["weeks"]
    chapters = sum(1 for w in weeks if w.get("chapter"))
    return TEXT[edition]["summary"].format(
        weeks=number(len(weeks), edition),
        chapters=number(chapters, edition),
        capstone=number(len(weeks) - chapters, edition),
        lecture=plan["session"]["lecture_minutes"],
        lab=plan["session"]["lab_minutes"],
    )


def chapter_title(edition: str, name: str) -> str:
    return title_of(nbformat.read(NOTEBOOKS / edition / f"{name}.ipynb", as_version=4))


def weeks_block(plan: dict, edition: str) -> str:
    t = TEXT[edition]
    rows = [t["weeks_intro"].format(summary=summary(plan, edition)), "", t["weeks_head"]]
    for k, w in enumerate(plan["weeks"], 1):
        if w.get("chapter"):
            what = f"[{chapter_title(edition, w['chapter'])}](instructor/{w['chapter']}.md)"
        else:
            what = f"[{t['capstone']}](instructor/project.md)"
        rows.append(f"| {k} | {what} | {w['in_class'][edition]} | {w['homework'][edition]} |")
    return "\n".join(rows)


def kit_block(plan: dict, edition: str) -> str:
    """The kit page's table: the chapter pages are the book's documents; the kit's files are built
    next to the book (make kit), so they are plain HTML links Sphinx does not resolve."""
    t, w = TEXT[edition], WORDS[edition]
    kit = "../../kit"
    rows = [t["kit_head"]]
    for k, week in enumerate(plan["weeks"], 1):
        name = week.get("chapter")
        if not name:
            rows.append(f"| {k} | [{t['capstone']}](instructor/project.md) | | | |")
            continue
        chapter = f"[{chapter_title(edition, name)}](../../notebooks/{edition}/{name}.ipynb)"
        slides = f'<a href="{kit}/slides/{edition}/{name}.html">{w["slides"]}</a>'
        quiz = f'<a href="{kit}/quizzes/{edition}/{name}.html">{w["quiz"]}</a>'
        sheet = f'<a href="{kit}/handouts/{edition}/{name}-worksheet.pdf">{t["worksheet"]}</a>'
        rows.append(f"| {k} | {chapter} | {slides} | {quiz} | {sheet} |")
    course = f'<a href="{kit}/handouts/{edition}/course.pdf">{w["course"]}</a>'
    colon, end = (": ", ".") if edition == "en" else ("：", "。")
    return "\n".join(rows) + f"\n\n{course}{colon}{t['course']}{end}"


def render(text: str, plan: dict, edition: str, where: str, key: str) -> str:
    if f"<!-- plan:{key} -->" not in text:
        raise SystemExit(f"{where}: no <!-- plan:{key} --> ... <!-- /plan --> block; add one where the {key} goes")
    blocks = {"summary": summary, "weeks": weeks_block, "kit": kit_block}

    def repl(m: re.Match) -> str:
        name = m.group("key")
        if name not in blocks:
            raise SystemExit(f"{where}: unknown block <!-- plan:{name} --> (known: {', '.join(blocks)})")
        return f"<!-- plan:{name} -->\n{blocks[name](plan, edition)}\n<!-- /plan -->"

    return BLOCK.sub(repl, text)


def outputs() -> list[Output]:
    """Every page of both editions that shows the plan, as the plan gives it."""
    plan = load()
    out = []
    for edition in ("en", "zh"):
        for key, page in PAGES.items():
            path = ROOT / "book" / edition / page
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            out.append(Output(path, render(text, plan, edition, f"book/{edition}/{page}", key)))
    return out
