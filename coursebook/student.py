"""The student edition: the chapters without their solutions, with starters and checks, for Colab.

    coursebook student            # write student/{zh,en}/NN_name.ipynb and minigpt/exercises/solutions.json
    coursebook student --check    # change nothing; exit 1 if either is stale (make test runs it)

From each chapter notebooks/<ed>/NN_name.ipynb it writes student/<ed>/NN_name.ipynb:
  * cells tagged `solution` (code, or a written answer in a `<details>` block) are left out, with
    their outputs;
  * cells tagged `starter` and `check` keep their source and lose their outputs, so a learner sees
    the cell to fill in and a check that has not run yet;
  * every other cell is as in the chapter, outputs included: the figures and printed results show
    before the learner runs anything (in Colab, on GitHub), the "predict, then run" questions keep
    their folded answers, and a learner can compare their own run with the chapter's;
  * cell 0 is the title, an Open-in-Colab badge for the student notebook itself, a link to the
    chapter with its solutions and to the other edition, and one line on how the exercises work.

It also writes minigpt/exercises/solutions.json: per edition, chapter ("01".."09") and exercise
number, the text of that exercise's solution cells as the chapter has them (code and markdown,
in order), which `chNN.exN.solution()` prints.

An exercise's cells are recognised by the conventions of CONTRIBUTING (Exercises): a markdown
statement `**Exercise N.**` / `**练习 N.**`, then cells tagged `starter`, `solution`, `check`. A
solution cell belongs to the exercise its title names (`#@title Solution to exercise N`,
`<summary>练习 N 参考答案</summary>`, ...), else to the last statement above it, so chapters that
only have solution cells (no starter or check yet) work too.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import nbformat

from .book import COLAB_BADGE_SVG, EDITIONS, NOTEBOOKS, ROOT, colab_url, rel
from .cells import is_solution, tags, title_of
from .generated import Output, sync

STUDENT = ROOT / "student"
SOLUTIONS_JSON = ROOT / "minigpt" / "exercises" / "solutions.json"
STARTER_TAG, CHECK_TAG = "starter", "check"

# "**Exercise 3.**", "**练习 3.**", "**练习 3**" opening a line of a markdown cell.
STATEMENT = re.compile(r"^\s*\*\*(?:Exercise|练习)\s*(\d+)\s*[.．。:：]?\s*\*\*", re.MULTILINE)
# The exercise a solution cell names in its title ("#@title Solution to exercise 3", "Check for
# exercise 2", "练习 3 的解答", "<summary>练习 3 参考答案</summary>").
TITLE_NUMBER = re.compile(r"(?:exercise|练习)\s*(\d+)", re.IGNORECASE)
# A check cell's call: `ch05.ex2.check(...)`.
CHECK_CALL = re.compile(r"\bch(\d{2})\.ex(\d+)\.check\(")

# The chapter page's second badge (coursebook stamp), beside the Colab badge: it opens the student
# notebook. A static shields.io badge, the only other image the browser check lets a page load from
# outside the site.
EXERCISES_BADGE = {
    "en": "Do the exercises in Colab",
    "zh": "在 Colab 中做练习",
}


def exercises_badge_svg(edition: str) -> str:
    text = quote(EXERCISES_BADGE[edition].replace("_", "__").replace("-", "--").replace(" ", "_"))
    return f"https://img.shields.io/badge/{text}-F9AB00?logo=googlecolab&logoColor=white"


def student_path(chapter: Path) -> Path:
    """student/<ed>/NN_name.ipynb for notebooks/<ed>/NN_name.ipynb."""
    return STUDENT / chapter.parent.name / chapter.name


def exercises_badge(chapter: Path) -> str:
    """The markdown of the badge that opens a chapter's student notebook in Colab."""
    edition = chapter.parent.name
    target = colab_url(f"student/{edition}/{chapter.name}")
    return f"[![{EXERCISES_BADGE[edition]}]({exercises_badge_svg(edition)})]({target})"


WORDS = {
    "en": {
        "chapter": "The chapter with its solutions",
        "twin": "简体中文版：",
        "how": (
            "**How the exercises work.** Write your answer in the cell under each exercise and run it, then run "
            "the check cell below it: it says *correct*, *not yet* (and what is wrong) or *not attempted*. "
            "`ch{nn}.ex{n}.hint()` gives a hint for exercise {n}, `ch{nn}.ex{n}.solution()` its worked solution."
        ),
        "how_unchecked": (
            "**How the exercises work.** Write your answers in the cells under each exercise; the worked "
            "solutions are in the chapter with its solutions."
        ),
    },
    "zh": {
        "chapter": "带参考解答的本章",
        "twin": "English edition: ",
        "how": (
            "**练习怎么做。** 在每道练习下面的单元格里写出答案并运行，再运行它下面的检查单元格：它会显示 "
            "*correct*（正确）、*not yet*（还不对，并说明哪里不对）或 *not attempted*（还没有作答）。"
            '`ch{nn}.ex{n}.hint()` 给出练习 {n} 的提示，`ch{nn}.ex{n}.solution("zh")` 显示它的参考解答。'
        ),
        "how_unchecked": "**练习怎么做。** 在每道练习下面的单元格里写出答案；参考解答在带参考解答的本章里。",
    },
}


# ----------------------------------------------------------------------------- the exercises of a chapter
@dataclass
class ExerciseCells:
    """The cells of one exercise, by index in the chapter notebook."""

    number: int
    starters: list[int] = field(default_factory=list)
    solutions: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)


def exercise_cells(nb) -> dict[int, ExerciseCells]:
    """Exercise number -> its starter, solution and check cells, in notebook order."""
    found: dict[int, ExerciseCells] = {}
    current: int | None = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and not is_solution(cell):
            statements = STATEMENT.findall(cell.source)
            if statements:
                current = int(statements[-1])
            continue
        cell_tags = tags(cell)
        if is_solution(cell):
            named = TITLE_NUMBER.search(_title_line(cell))
            number = int(named.group(1)) if named else current
            role = "solutions"
        elif CHECK_TAG in cell_tags:
            call = CHECK_CALL.search(cell.source)
            number = int(call.group(2)) if call else current
            role = "checks"
        elif STARTER_TAG in cell_tags:
            number, role = current, "starters"
        else:
            continue
        if number is None:
            raise ValueError(f"cell {i} is tagged {role[:-1]} but no exercise statement (**Exercise N.**) is above it")
        getattr(found.setdefault(number, ExerciseCells(number)), role).append(i)
    return dict(sorted(found.items()))


def _title_line(cell) -> str:
    """The line of a solution cell that names it: `#@title ...`, or a `<details>` block's summary."""
    summary = re.search(r"<summary>(.*?)</summary>", cell.source, re.DOTALL)
    if cell.cell_type == "markdown" and summary:
        return summary.group(1)
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return first if first.startswith("#@title") else ""


def solution_texts(nb) -> dict[str, str]:
    """Exercise number (as a string) -> its solution cells' sources, joined by a blank line."""
    return {
        str(n): "\n\n".join(nb.cells[i].source for i in ex.solutions)
        for n, ex in exercise_cells(nb).items()
        if ex.solutions
    }


def checked_exercises(nb) -> list[tuple[str, int]]:
    """(chapter "NN", exercise number) of every check call in the notebook's check cells, in order."""
    return [
        (m.group(1), int(m.group(2)))
        for cell in nb.cells
        if cell.cell_type == "code" and CHECK_TAG in tags(cell)
        for m in CHECK_CALL.finditer(cell.source)
    ]


# ----------------------------------------------------------------------------- the student notebook
def header(nb, chapter: Path, twin_title: str) -> str:
    edition, nn = chapter.parent.name, chapter.name[:2]
    other = "en" if edition == "zh" else "zh"
    words = WORDS[edition]
    badge = f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(f'student/{edition}/{chapter.name}')})"
    with_solutions = f"[{words['chapter']}]({colab_url(f'notebooks/{edition}/{chapter.name}')})"
    twin = f"{words['twin']}[{twin_title}](../{other}/{chapter.name})"
    checked = checked_exercises(nb)
    how = words["how"].format(nn=nn, n=checked[0][1]) if checked else words["how_unchecked"]
    return f"# {title_of(nb)}\n\n{badge} · {with_solutions} · {twin}\n\n{how}"


def student_notebook(nb, chapter: Path, twin_title: str):
    """The student edition of chapter notebook `nb` (read from `chapter`); `nb` is not changed."""
    exercise_cells(nb)  # a tagged cell without an exercise above it is an error, here as in solutions.json
    new = copy.deepcopy(nb)
    new.cells = [cell for cell in new.cells if not is_solution(cell)]
    for cell in new.cells:
        if cell.cell_type == "code" and {STARTER_TAG, CHECK_TAG} & set(tags(cell)):
            cell.outputs, cell.execution_count = [], None
    new.cells[0].source = header(nb, chapter, twin_title)
    return new


def notebook_text(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def outputs(notebooks: Path = NOTEBOOKS, student: Path = STUDENT, solutions: Path = SOLUTIONS_JSON) -> list[Output]:
    """Every student notebook and solutions.json, as they should be."""
    out: list[Output] = []
    texts: dict[str, dict[str, dict[str, str]]] = {}
    for edition in EDITIONS:
        other = "en" if edition == "zh" else "zh"
        texts[edition] = {}
        for chapter in sorted((notebooks / edition).glob("*.ipynb")):
            nb = nbformat.read(chapter, as_version=4)
            twin = notebooks / other / chapter.name
            twin_title = title_of(nbformat.read(twin, as_version=4)) if twin.exists() else title_of(nb)
            try:
                new = student_notebook(nb, chapter, twin_title)
                texts[edition][chapter.name[:2]] = solution_texts(nb)
            except ValueError as error:
                raise SystemExit(f"{rel(chapter)}: {error}") from None
            out.append(Output(student / edition / chapter.name, notebook_text(new)))
    out.append(Output(solutions, json.dumps(texts, ensure_ascii=False, indent=1, sort_keys=True) + "\n"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook student", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if the student edition is stale")
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the chapters (default: notebooks/)")
    ap.add_argument("--out", type=Path, default=STUDENT, help="the student edition (default: student/)")
    ap.add_argument("--solutions", type=Path, default=SOLUTIONS_JSON, help="default: minigpt/exercises/solutions.json")
    args = ap.parse_args(argv)
    return sync(
        outputs(args.notebooks, args.out, args.solutions),
        check=args.check,
        what="student notebooks and solutions.json",
        fix="coursebook student",
    )
