"""The instructor guide's generated blocks: time tables and learning-outcome tables.

Every number in the time tables is a measurement: `make timings` (`coursebook timings`) runs nbval
over the chapters on this CPU and on the plainer one with the plugin coursebook.nbval_times,
which records each notebook's seconds and each code cell's in book/_data/timings.json. The
outcome tables map each chapter's learning objectives to its exercises (EXERCISES below) and
quiz questions. Between these markers of the guide's pages (the index page and one per chapter):

    <!-- timings:01_parameters -->  ...generated...  <!-- /timings -->
    <!-- timings:all -->            ...generated...  <!-- /timings -->
    <!-- outcomes:01_parameters --> ...generated...  <!-- /outcomes -->

    coursebook render instructor            # rewrite the blocks of both editions
    coursebook render instructor --check    # exit 1 if a block differs from what the sources give
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from ..book import ROOT, chapter_notebooks
from ..cells import OBJECTIVES, code_cell_sections, title_of
from ..generated import Output

TIMINGS = ROOT / "book" / "_data" / "timings.json"
GUIDE = {ed: ROOT / "book" / ed / "instructor" for ed in ("en", "zh")}
INDEX = {ed: ROOT / "book" / ed / "instructor_guide.md" for ed in ("en", "zh")}
BLOCK = re.compile(r"<!-- (?P<kind>timings|outcomes):(?P<key>[\w-]+) -->\n.*?<!-- /(?P=kind) -->", re.S)
QUIZZES = ROOT / "kit" / "quizzes"

# Which exercise (by its number in the chapter's `## Exercises`) assesses which learning objective
# (by its position in the chapter's objectives list). Objectives no exercise assesses are left
# to the quiz and the in-class questions, and the table shows it.
EXERCISES = {
    "01_parameters": {1: [2], 2: [4, 7], 3: [6]},
    "02_counting": {1: [2, 3], 2: [5], 3: [4]},
    "03_tokens": {1: [1], 2: [5], 3: [5]},
    "04_qkv": {1: [1], 2: [4], 3: [3]},
    "05_heads": {1: [3], 2: [2, 5], 3: [5], 4: [6]},
    "06_rope": {1: [5], 2: [2], 3: [5], 4: [6]},
    "07_training": {1: [3], 2: [3, 4], 3: [2], 4: [4]},
    "08_inference": {1: [3], 2: [1, 4], 3: [2], 4: [6]},
    "09_scale": {1: [2], 2: [5], 3: [4], 4: [1, 2], 5: [6]},
}
SLOWEST = 4  # cells listed per chapter, besides the whole notebook
RUNS = ("this-cpu", "plain-cpu")

TEXT = {
    "en": {
        "head": "| | this CPU: wall | this CPU: kernel CPU | plain CPU: wall |\n|---|---:|---:|---:|",
        "whole": "whole notebook (kernel start included)",
        "cell": "{section}, code cell {k}",
        "setup": "setup (kernel start, imports, device)",
        "gpu": "| GPU runtime | not measured | | |",
        "missing": "Not measured yet: run `make timings TIMINGS_NB=notebooks/en/{stem}.ipynb`.",
        "machine": (
            "Measured by `make timings` on {date} (commit {commit}): {cpu}, {cores} cores, Python {python}, "
            "torch {torch}. *This CPU* ran ATen's {cap} kernels with the machine's threads; *plain CPU* ran {plain}. "
            "*Wall* is the time a student waits; *kernel CPU* is the CPU time the notebook's kernel used (on 2 "
            "cores up to twice the wall time). Load average when the chapter started: {load}. Above the number "
            "of cores, PyTorch's worker threads wait for cores, which inflates both columns of *this CPU*; the "
            "one-thread *plain CPU* run suffers least, so on a busy machine its wall time is the better guide."
        ),
        "failed": " **nbval reported a failure in this run.**",
        "all_head": (
            "| chapter | this CPU: wall | this CPU: kernel CPU | plain CPU: wall | slowest cell (kernel CPU) |\n"
            "|---|---:|---:|---:|---:|"
        ),
        "all_row": "| [{title}](instructor/{stem}.md) | {a} | {cpu} | {b} | {c} |",
        "total": "| all chapters | {a} | {cpu} | {b} | |",
    },
    "zh": {
        "head": "| | 本机 CPU：实际用时 | 本机 CPU：内核 CPU 时间 | 朴素 CPU：实际用时 |\n|---|---:|---:|---:|",
        "whole": "整个 notebook（含内核启动）",
        "cell": "{section}，第 {k} 个代码单元格",
        "setup": "准备（内核启动、导入、选设备）",
        "gpu": "| GPU 运行时 | 未测 | | |",
        "missing": "尚未测量：请运行 `make timings TIMINGS_NB=notebooks/en/{stem}.ipynb`。",
        "machine": (
            "由 `make timings` 于 {date} 测得（提交 {commit}）：{cpu}，{cores} 核，Python {python}，torch {torch}。"
            "“本机 CPU”用的是 ATen 的 {cap} 内核和机器上的全部线程；“朴素 CPU”的设置是 {plain}。"
            "“实际用时”是学生要等的时间；"
            "“内核 CPU 时间”是 notebook 内核用掉的 CPU 时间（在 2 核上最多可达实际用时的两倍）。"
            "本章开始时的负载均值是 {load}。"
            "负载超过核数时，PyTorch 的工作线程要排队等 CPU 核，“本机 CPU”的两列都会因此变大；"
            "单线程的“朴素 CPU”受影响最小，机器繁忙时它的实际用时更可信。"
        ),
        "failed": " **这次运行中 nbval 报告了失败。**",
        "all_head": (
            "| 章 | 本机 CPU：实际用时 | 本机 CPU：内核 CPU 时间 | 朴素 CPU：实际用时 "
            "| 最慢的单元格（内核 CPU 时间） |\n"
            "|---|---:|---:|---:|---:|"
        ),
        "all_row": "| [{title}](instructor/{stem}.md) | {a} | {cpu} | {b} | {c} |",
        "total": "| 全部章节 | {a} | {cpu} | {b} | |",
    },
}


def seconds(s: float) -> str:
    return f"{s:.1f} s"


def chapter(edition: str, stem: str):
    return nbformat.read(ROOT / "notebooks" / edition / f"{stem}.ipynb", as_version=4)


def code_cell_labels(edition: str, stem: str) -> list[str]:
    """A label for every code cell of the chapter in this edition: its section and rank there."""
    t = TEXT[edition]
    labels, previous, k = [], None, 0
    for _, section in code_cell_sections(chapter(edition, stem)):
        k = k + 1 if section == previous else 1
        previous = section
        labels.append(t["cell"].format(section=section, k=k) if section else t["setup"])
    return labels


def chapter_block(data: dict, edition: str, stem: str) -> str:
    t = TEXT[edition]
    runs = {name: data.get("runs", {}).get(name, {}).get("notebooks", {}).get(stem) for name in RUNS}
    this, plain = runs["this-cpu"], runs["plain-cpu"]
    if not this:
        return t["missing"].format(stem=stem)
    labels = code_cell_labels(edition, stem)
    wall = {c["code_cell"]: c["seconds"] for c in this["cells"]}
    cpu = {c["code_cell"]: c.get("cpu_seconds") for c in this["cells"]}
    plain_wall = {c["code_cell"]: c["seconds"] for c in (plain or {}).get("cells", [])}

    def cell(value: float | None) -> str:
        return seconds(value) if value is not None else "–"

    rows = [t["head"]]
    rows.append(
        f"| {t['whole']} | {seconds(this['seconds'])} | {cell(this.get('cpu_seconds'))} "
        f"| {cell(plain['seconds'] if plain else None)} |"
    )
    slowest = sorted(wall, key=lambda num: -(cpu[num] if cpu[num] is not None else wall[num]))[:SLOWEST]
    for num in slowest:
        label = labels[num] if num < len(labels) else f"code cell {num}"
        rows.append(f"| {label} | {seconds(wall[num])} | {cell(cpu[num])} | {cell(plain_wall.get(num))} |")
    rows.append(t["gpu"])
    mp = (plain or {}).get("machine", {})
    plain_env = " ".join(f"`{k}={v}`" for k, v in mp.get("env", {}).items()) or "–"
    machine = this["machine"]
    note = t["machine"].format(
        date=this["measured"][:10],
        commit=this.get("commit", "unknown"),
        cpu=machine["cpu"],
        cores=machine["cores"],
        python=machine["python"],
        torch=machine["torch"],
        cap=machine["aten_cpu_capability"],
        plain=plain_env,
        load=" / ".join(f"{x:.1f}" for x in this.get("load_average_at_start", [])[:1]) or "–",
    )
    if not all(r.get("passed", True) for r in runs.values() if r):
        note += t["failed"]
    return "\n".join(rows) + "\n\n" + note


def all_block(data: dict, edition: str) -> str:
    t = TEXT[edition]
    rows = [t["all_head"]]
    totals = {"this-cpu": 0.0, "cpu": 0.0, "plain-cpu": 0.0}
    for path in chapter_notebooks("en"):
        stem = path.stem
        r = {name: data.get("runs", {}).get(name, {}).get("notebooks", {}).get(stem) for name in RUNS}
        this, plain = r["this-cpu"], r["plain-cpu"]
        a = seconds(this["seconds"]) if this else "–"
        cpu = seconds(this["cpu_seconds"]) if this and "cpu_seconds" in this else "–"
        b = seconds(plain["seconds"]) if plain else "–"
        c = seconds(max(x.get("cpu_seconds", x["seconds"]) for x in this["cells"])) if this else "–"
        totals["this-cpu"] += this["seconds"] if this else 0.0
        totals["cpu"] += this.get("cpu_seconds", 0.0) if this else 0.0
        totals["plain-cpu"] += plain["seconds"] if plain else 0.0
        rows.append(t["all_row"].format(title=title_of(chapter(edition, stem)), stem=stem, a=a, cpu=cpu, b=b, c=c))
    rows.append(
        t["total"].format(a=seconds(totals["this-cpu"]), cpu=seconds(totals["cpu"]), b=seconds(totals["plain-cpu"]))
    )
    return "\n".join(rows)


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def objectives(edition: str, stem: str) -> list[str]:
    """The chapter's learning objectives, one string per bullet, as written in that edition."""
    for c in chapter(edition, stem).cells:
        lines = c.source.splitlines() if c.cell_type == "markdown" else []
        if lines and OBJECTIVES.match(lines[0]):
            items: list[str] = []
            for line in lines[1:]:
                if line.startswith("- "):
                    items.append(line[2:].strip())
                elif items and line.startswith("  ") and line.strip():
                    nxt = line.strip()
                    # Chinese wraps without a space; English lines join with one
                    cjk = any(_is_cjk(ch) for ch in (items[-1][-1], nxt[0]))
                    items[-1] += ("" if cjk else " ") + nxt
                elif items and not line.strip():
                    break
            return items
    return []  # a chapter still being written: the table says so


OUTCOME_TEXT = {
    "en": {
        "head": "| # | learning outcome (the chapter's objective) | exercises | quiz questions |\n|---|---|---|---|",
        "none": "–",
        "noquiz": "The chapter has no quiz yet (kit/quizzes/en/{stem}.json).",
        "nogoals": "The chapter has no learning objectives yet (it is being written).",
    },
    "zh": {
        "head": "| # | 学习成果（本章目标） | 练习 | 小测验题号 |\n|---|---|---|---|",
        "none": "–",
        "noquiz": "本章还没有小测验（kit/quizzes/zh/{stem}.json）。",
        "nogoals": "本章还没有学习目标（正在编写中）。",
    },
}


def outcomes_block(edition: str, stem: str) -> str:
    t = OUTCOME_TEXT[edition]
    goals = objectives(edition, stem)
    quiz_path = QUIZZES / edition / f"{stem}.json"
    quiz = json.loads(quiz_path.read_text(encoding="utf-8")) if quiz_path.exists() else None
    by_goal: dict[int, list[int]] = {}
    for number, q in enumerate(quiz or [], start=1):
        by_goal.setdefault(int(q["objective"]), []).append(number)
    exercises: dict[int, list[int]] = {}
    for ex, goals_of_ex in EXERCISES.get(stem, {}).items():
        for g in goals_of_ex:
            if not 1 <= g <= len(goals):
                raise SystemExit(
                    f"EXERCISES[{stem!r}]: exercise {ex} names objective {g}, the chapter has {len(goals)}"
                )
            exercises.setdefault(g, []).append(ex)
    if not goals:
        return t["nogoals"]
    rows = [t["head"]]
    for i, goal in enumerate(goals, start=1):
        ex = ", ".join(str(e) for e in sorted(exercises.get(i, []))) or t["none"]
        qs = ", ".join(str(q) for q in by_goal.get(i, [])) or t["none"]
        cell = goal.replace("|", "\\|")
        rows.append(f"| {i} | {cell} | {ex} | {qs} |")
    out = "\n".join(rows)
    if quiz is None:
        out += "\n\n" + t["noquiz"].format(stem=stem)
    return out


def render(text: str, data: dict, edition: str) -> str:
    def repl(m: re.Match) -> str:
        kind, key = m.group("kind"), m.group("key")
        if kind == "outcomes":
            body = outcomes_block(edition, key)
        else:
            body = all_block(data, edition) if key == "all" else chapter_block(data, edition, key)
        return f"<!-- {kind}:{key} -->\n{body}\n<!-- /{kind} -->"

    return BLOCK.sub(repl, text)


def pages() -> list[tuple[str, Path]]:
    out = [(ed, INDEX[ed]) for ed in GUIDE]
    for ed, folder in GUIDE.items():
        out += [(ed, p) for p in sorted(folder.glob("[0-9][0-9]_*.md"))]
    return out


def outputs() -> list[Output]:
    """Every guide page of both editions, with its generated blocks as the sources give them."""
    data = json.loads(TIMINGS.read_text(encoding="utf-8")) if TIMINGS.exists() else {}
    return [
        Output(page, render(page.read_text(encoding="utf-8"), data, edition))
        for edition, page in pages()
        if page.exists()
    ]
