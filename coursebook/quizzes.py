"""The chapter quizzes: read, check and render kit/quizzes/<edition>/<chapter>.json.

A quiz file is jupyterquiz's JSON format (https://github.com/jmshea/jupyterquiz): a list of
questions, each

    {"question": "...", "type": "multiple_choice" | "many_choice" | "numeric",
     "answers": [{"answer": "...", "correct": true, "feedback": "..."}, ...],   # choice questions
     "answers": [{"type": "value", "value": 2, "correct": true, "feedback": "..."},
                 {"type": "range", "range": [0, 10], "correct": false, "feedback": "..."}],  # numeric
     "precision": 3,            # numeric, optional: significant digits compared
     "cell": "2. A parameter's bits"}   # ours, optional: the chapter section that shows the answer

`cell` names a heading (`##` to `####`) of the chapter: its text, or the start of it, e.g. "2."
or "2. A parameter's bits"; the answer key prints it and the check fails when no heading matches.
The two editions' quizzes are in lockstep like the notebooks: same number of questions, same
types, same correct flags and numeric values (only the words differ).

Used by the kit (quiz pages, worksheets, answer keys), by the Sphinx extension coursebook.sphinx.kit
(the quiz at the end of every chapter page of the book) and by `coursebook quizzes`, which checks
every quiz file. Rendering is jupyterquiz's own HTML, CSS and JavaScript, written into the page
(no kernel, no network).

    coursebook quizzes      # exit 1 unless every quiz is valid, its sections exist, zh and en agree
"""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path

from .book import EDITIONS, NOTEBOOKS, ROOT
from .cells import headings

QUIZ_DIR = ROOT / "kit" / "quizzes"
TYPES = ("multiple_choice", "many_choice", "numeric")


def quiz_path(edition: str, name: str, quiz_dir: Path = QUIZ_DIR) -> Path:
    return quiz_dir / edition / f"{name}.json"


def load(edition: str, name: str, quiz_dir: Path = QUIZ_DIR) -> list | None:
    """The questions of a chapter's quiz, or None when the chapter has no quiz file yet."""
    path = quiz_path(edition, name, quiz_dir)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix the file (format: coursebook/quizzes.py)") from exc
    return data


def validate(data, where: str, section_titles: list[str] | None = None) -> list[str]:
    """Problems with one quiz file, each naming the question and the fix; [] when it is fine."""
    if not isinstance(data, list) or not data:
        return [f"{where}: must be a non-empty JSON list of questions"]
    problems = []
    for i, q in enumerate(data, 1):
        at = f"{where}: question {i}"
        if not isinstance(q, dict):
            problems.append(f"{at}: must be an object with question, type, answers")
            continue
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            problems.append(f"{at}: 'question' must be a non-empty string")
        kind = q.get("type")
        if kind not in TYPES:
            problems.append(f"{at}: 'type' is {kind!r}, must be one of {', '.join(TYPES)}")
            continue
        answers = q.get("answers")
        if not isinstance(answers, list) or not answers:
            problems.append(f"{at}: 'answers' must be a non-empty list")
            continue
        n_correct = sum(1 for a in answers if isinstance(a, dict) and a.get("correct") is True)
        if n_correct == 0:
            problems.append(f'{at}: no answer has "correct": true')
        if kind == "multiple_choice" and n_correct > 1:
            problems.append(f"{at}: multiple_choice has {n_correct} correct answers; use many_choice for several")
        for j, a in enumerate(answers, 1):
            if not isinstance(a, dict):
                problems.append(f"{at}, answer {j}: must be an object")
                continue
            if not isinstance(a.get("correct"), bool):
                problems.append(f"{at}, answer {j}: 'correct' must be true or false")
            if not isinstance(a.get("feedback"), str) or not a["feedback"].strip():
                problems.append(f"{at}, answer {j}: 'feedback' must explain the answer (non-empty string)")
            if kind == "numeric":
                if a.get("type") == "value":
                    if not isinstance(a.get("value"), (int, float)) or isinstance(a.get("value"), bool):
                        problems.append(f"{at}, answer {j}: a numeric 'value' answer needs a number in 'value'")
                elif a.get("type") == "range":
                    r = a.get("range")
                    if not (
                        isinstance(r, list)
                        and len(r) == 2
                        and all(isinstance(x, (int, float)) for x in r)
                        and r[0] <= r[1]
                    ):
                        problems.append(f"{at}, answer {j}: 'range' must be [low, high] with low <= high")
                else:
                    problems.append(f'{at}, answer {j}: a numeric answer\'s \'type\' must be "value" or "range"')
            elif not isinstance(a.get("answer"), str) or not a["answer"].strip():
                problems.append(f"{at}, answer {j}: 'answer' must be a non-empty string")
        if "precision" in q and (not isinstance(q["precision"], int) or q["precision"] < 1):
            problems.append(f"{at}: 'precision' must be a positive integer (significant digits)")
        cell = q.get("cell")
        if cell is not None:
            if not isinstance(cell, str) or not cell.strip():
                problems.append(f"{at}: 'cell' must name a section of the chapter, e.g. \"2. A parameter's bits\"")
            elif section_titles is not None and not any(t.startswith(cell.strip()) for t in section_titles):
                problems.append(
                    f"{at}: 'cell' {cell!r} matches no heading (## to ####) of the chapter "
                    f"(headings: {', '.join(section_titles)})"
                )
    return problems


def skeleton(data) -> list:
    """What must agree between the editions: types, correct flags, numeric values and precision."""
    out = []
    for q in data:
        answers = []
        for a in q.get("answers", []):
            if q.get("type") == "numeric":
                answers.append((a.get("type"), a.get("value"), tuple(a.get("range") or ()), a.get("correct")))
            else:
                answers.append(a.get("correct"))
        out.append((q.get("type"), q.get("precision"), tuple(answers)))
    return out


def parity(a, b, name: str) -> list[str]:
    """Problems when the zh and en quizzes of a chapter are not the same quiz in two languages."""
    if a is None or b is None:
        return [] if a is b else [f"{name}: a quiz exists in one edition only (kit/quizzes/zh and kit/quizzes/en)"]
    sa, sb = skeleton(a), skeleton(b)
    if len(sa) != len(sb):
        return [f"{name}: zh has {len(sa)} questions, en has {len(sb)}; the editions must ask the same questions"]
    return [
        f"{name}: question {i} differs between zh and en (type, correct answers, values or precision): {x} vs {y}"
        for i, (x, y) in enumerate(zip(sa, sb, strict=True), 1)
        if x != y
    ]


def inline(text: str) -> str:
    """Inline markdown (`code`, **bold**, links) to HTML; jupyterquiz shows its strings as HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").renderInline(text)


def for_jupyterquiz(data) -> list:
    """The questions as jupyterquiz shows them: markdown in the texts rendered to HTML, and without
    our own key `cell` (jupyterquiz ignores it, but keep its input clean)."""
    out = []
    for q in data:
        q = {k: v for k, v in q.items() if k != "cell"}
        q["question"] = inline(q["question"])
        q["answers"] = [
            {k: inline(v) if k in ("answer", "feedback") and isinstance(v, str) else v for k, v in a.items()}
            for a in q["answers"]
        ]
        out.append(q)
    return out


# jupyterquiz's own words, as the JavaScript spells them, in the zh edition
ZH_WORDS = {
    '"Type numeric answer here:"': '"在这里输入数值答案："',
    '"Incorrect -- try again."': '"不对，再想想。"',
    '"Incorrect. Try again."': '"不对，再想想。"',
    '"Correct!"': '"正确！"',
}


def render(data, div_id: str, shuffle_answers: bool = True, edition: str = "en") -> str:
    """HTML (a div, its style and one inline script) that shows the quiz with jupyterquiz's own
    JavaScript: the same code display_quiz sends to Jupyter, here written into a static page."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", div_id):
        raise ValueError(f"quiz div id {div_id!r} must be a JavaScript identifier (letters, digits, _)")
    from jupyterquiz.dynamic.loader import load_questions_script
    from jupyterquiz.dynamic.renderer import build_script, build_styles, render_div

    colors = {  # jupyterquiz's defaults, with the book's blue for choice questions
        "--jq-multiple-choice-bg": "#2c5d8a",
        "--jq-mc-button-bg": "#fafafa",
        "--jq-mc-button-border": "#e0e0e0e0",
        "--jq-mc-button-inset-shadow": "#555555",
        "--jq-many-choice-bg": "#8a4a2c",
        "--jq-numeric-bg": "#2c6e5d",
        "--jq-numeric-input-bg": "#c0c0c0",
        "--jq-numeric-input-label": "#101010",
        "--jq-numeric-input-shadow": "#999999",
        "--jq-string-bg": "#4c1a57",
        "--jq-incorrect-color": "#c80202",
        "--jq-correct-color": "#009113",
        "--jq-text-color": "#fafafa",
        "--jq-link-color": "#9abafa",
    }
    prefix, static, url = load_questions_script(for_jupyterquiz(data), div_id)
    script = build_script(prefix, static, url, div_id, True)
    # The book sets window.MathJax (a configuration) before MathJax itself has loaded (or when it
    # cannot load, offline): jupyterquiz then reads MathJax.version[0] of undefined and throws, and
    # would fetch MathJax 3 from a CDN. Read the version as a string: no typesetting until it is there.
    script = script.replace("version[0] ==", "String(version)[0] ==")
    if edition == "zh":
        for english, chinese in ZH_WORDS.items():
            script = script.replace(english, chinese)
    div = render_div(div_id, False, shuffle_answers, False, 1_000_000, 700, 10, "left")
    # A JSON string may hold "</script>"; escape the slash so the inline script cannot be closed early.
    script = script.replace("</", "<\\/")
    return f'<div class="kit-quiz">{div}</div>{build_styles(div_id, colors)}</div>\n<script>\n{script}\n</script>'


def answer_text(q) -> str:
    """The correct answer(s) of a question, as text for the answer key."""
    good = [a for a in q["answers"] if a.get("correct")]
    if q["type"] == "numeric":
        parts = [str(a["value"]) if a.get("type") == "value" else f"{a['range'][0]} to {a['range'][1]}" for a in good]
        return " / ".join(parts)
    return " / ".join(a["answer"] for a in good)


def printable(data, with_answers: bool) -> str:
    """A quiz as plain HTML for print: the questions and choices; with_answers adds the right
    answers, every feedback and the section that shows it."""
    items = []
    for q in data:
        body = f'<p class="q">{inline(q["question"])}</p>'
        if q["type"] != "numeric":
            marks = "☐" if q["type"] == "many_choice" else "○"
            rows = []
            for a in q["answers"]:
                mark = ("✔" if a["correct"] else "✘") if with_answers else marks
                fb = f' <span class="fb">{inline(a["feedback"])}</span>' if with_answers else ""
                rows.append(f'<li><span class="mark">{mark}</span> {inline(a["answer"])}{fb}</li>')
            body += '<ul class="choices">' + "".join(rows) + "</ul>"
        elif not with_answers:
            body += '<p class="blank">______________________</p>'
        if with_answers:
            body += f'<p class="answer"><b>→ {inline(answer_text(q))}</b></p>'
            if q["type"] == "numeric":
                body += "".join(f'<p class="fb">{inline(a["feedback"])}</p>' for a in q["answers"] if a["correct"])
            if q.get("cell"):
                body += f'<p class="see">§ {html.escape(q["cell"])}</p>'
        items.append(f"<li>{body}</li>")
    return '<ol class="quiz-print">' + "".join(items) + "</ol>"


def check(name: str) -> tuple[dict[str, list | None], list[str]]:
    """One chapter's quizzes, by edition (None: no quiz file, or one that does not load), and the
    problems found: each valid, its sections found in the chapter, the two editions in lockstep."""
    import nbformat

    problems: list[str] = []
    loaded: dict[str, list | None] = {}
    for ed in EDITIONS:
        nb_path = NOTEBOOKS / ed / f"{name}.ipynb"
        loaded[ed] = None
        if quiz_path(ed, name).exists() and not nb_path.exists():
            problems.append(f"{quiz_path(ed, name)}: no chapter {nb_path.relative_to(ROOT)}")
            continue
        try:
            loaded[ed] = load(ed, name)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if loaded[ed] is not None:
            titles = headings(nbformat.read(nb_path, as_version=4))
            problems += validate(loaded[ed], f"kit/quizzes/{ed}/{name}.json", titles)
    if not problems:
        problems += parity(loaded["zh"], loaded["en"], name)
    return loaded, problems


def main(argv=None) -> int:
    argparse.ArgumentParser(
        prog="coursebook quizzes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    problems, n = [], 0
    for name in sorted({p.stem for ed in EDITIONS for p in (QUIZ_DIR / ed).glob("*.json")}):
        loaded, found = check(name)
        problems += found
        n += sum(q is not None for q in loaded.values())
    if problems:
        print("quiz check FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"quiz check passed: {n} quiz files, valid, sections found, zh and en in lockstep")
    return 0
