"""The chapter quizzes (kit/quizzes/{en,zh}/NN_slug.json, jupyterquiz's JSON format).

Every chapter notebook of both editions has a quiz; each quiz is well formed for jupyterquiz,
ties every question to one of the chapter's objectives (and assesses every objective) and to a
heading of the chapter, and the two editions ask the same questions with the same answers. A numeric answer is a number
the chapter prints (or a literal in its code), unless the question says how it is computed.
"""

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("en", "zh")
OBJECTIVES_HEADING = {"en": ("What you will learn",), "zh": ("学习目标", "本章目标")}
QUESTION_KEYS = {"question", "type", "answers", "precision", "objective", "cell", "source"}
REQUIRED_KEYS = {"question", "type", "answers", "objective", "cell"}
CHOICE_KEYS = {"answer", "correct", "feedback"}
VALUE_KEYS = {"type", "value", "correct", "feedback"}
RANGE_KEYS = {"type", "range", "correct", "feedback"}
NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(%?)")


def chapters(edition):
    return sorted((ROOT / "notebooks" / edition).glob("[0-9][0-9]_*.ipynb"))


def quiz_path(edition, notebook):
    return ROOT / "kit" / "quizzes" / edition / f"{notebook.stem}.json"


def load_quiz(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_notebook(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def markdown_lines(notebook):
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            yield from "".join(cell["source"]).splitlines()


def headings(notebook):
    """The chapter's markdown headings, in order, without their #s."""
    found = []
    for line in markdown_lines(notebook):
        match = re.match(r"#{1,6}\s+(.+?)\s*$", line)
        if match:
            found.append(match.group(1))
    return found


def objective_count(notebook, edition):
    """The number of top-level list items under the chapter's objectives heading."""
    count, inside = 0, False
    for line in markdown_lines(notebook):
        if re.match(r"#{1,6}\s", line):
            if inside:
                break
            inside = line.lstrip("#").strip() in OBJECTIVES_HEADING[edition]
        elif inside and re.match(r"[-*] ", line):
            count += 1
    return count


def notebook_numbers(notebook):
    """Every number in the code and the text outputs, commas dropped; a percentage also as a fraction."""
    texts = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        texts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append("".join(output["text"]))
            elif "text/plain" in output.get("data", {}):
                texts.append("".join(output["data"]["text/plain"]))
    numbers = set()
    for match in NUMBER.finditer("\n".join(texts)):
        token = match.group(0).rstrip("%").replace(",", "").replace("−", "-")
        value = float(token)
        numbers.add(value)
        numbers.add(abs(value))
        if match.group(1):
            numbers.add(value / 100)
    return numbers


def printed(value, numbers):
    return any(math.isclose(value, x, rel_tol=1e-9, abs_tol=1e-12) for x in numbers)


CASES = [(edition, nb) for edition in EDITIONS for nb in chapters(edition)]
IDS = [f"{edition}/{nb.stem}" for edition, nb in CASES]


def test_both_editions_have_chapters():
    assert chapters("en"), "no chapter notebooks found under notebooks/en"
    assert [nb.name for nb in chapters("en")] == [nb.name for nb in chapters("zh")]


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_quiz_without_a_chapter(edition):
    stems = {nb.stem for nb in chapters(edition)}
    orphans = [p.name for p in (ROOT / "kit" / "quizzes" / edition).glob("*.json") if p.stem not in stems]
    assert not orphans, f"quizzes with no chapter notebook in notebooks/{edition}: {orphans}"


@pytest.mark.parametrize(("edition", "notebook"), CASES, ids=IDS)
def test_quiz_is_well_formed(edition, notebook):
    path = quiz_path(edition, notebook)
    assert path.exists(), f"{notebook} has no quiz: write {path.relative_to(ROOT)}"
    quiz = load_quiz(path)
    nb = load_notebook(notebook)
    n_objectives = objective_count(nb, edition)
    assert n_objectives >= 3, f"{notebook}: no objectives found under any of {OBJECTIVES_HEADING[edition]}"
    nb_headings = headings(nb)
    # one question per objective or two; a quiz still fits about a quarter of an hour of class
    assert isinstance(quiz, list) and 5 <= len(quiz) <= 12, f"{path.name}: {len(quiz)} questions, want 5 to 12"
    for i, q in enumerate(quiz, 1):
        where = f"{path.relative_to(ROOT)} question {i}"
        assert set(q) <= QUESTION_KEYS and REQUIRED_KEYS <= set(q), f"{where}: keys {sorted(q)}"
        assert isinstance(q["question"], str) and q["question"].strip(), where
        assert isinstance(q["objective"], int) and 1 <= q["objective"] <= n_objectives, (
            f"{where}: objective {q['objective']} is not one of the chapter's {n_objectives}"
        )
        assert q["cell"] in nb_headings, f"{where}: heading {q['cell']!r} is not in {notebook.name}"
        assert nb_headings.count(q["cell"]) == 1, f"{where}: heading {q['cell']!r} is not unique; name another"
        if "source" in q:
            assert isinstance(q["source"], str) and q["source"].strip(), where
        answers = q["answers"]
        assert isinstance(answers, list) and len(answers) >= 2, f"{where}: needs at least two answers"
        for a in answers:
            assert isinstance(a.get("feedback"), str) and a["feedback"].strip(), f"{where}: answer without feedback"
            assert isinstance(a.get("correct"), bool), f"{where}: 'correct' must be true or false"
        n_correct = sum(a["correct"] for a in answers)
        if q["type"] in ("multiple_choice", "many_choice"):
            assert "precision" not in q, where
            for a in answers:
                assert set(a) == CHOICE_KEYS, f"{where}: choice keys {sorted(a)}"
                assert isinstance(a["answer"], str) and a["answer"].strip(), where
            if q["type"] == "multiple_choice":
                assert n_correct == 1, f"{where}: a multiple_choice question has exactly one correct answer"
            else:
                assert n_correct >= 1, f"{where}: no correct answer"
        elif q["type"] == "numeric":
            assert n_correct >= 1, f"{where}: no correct answer"
            if "precision" in q:
                assert isinstance(q["precision"], int) and q["precision"] >= 1, where
            for a in answers:
                if a.get("type") == "value":
                    assert set(a) == VALUE_KEYS and a["correct"] is True, f"{where}: value answer {sorted(a)}"
                    assert isinstance(a["value"], (int, float)) and not isinstance(a["value"], bool), where
                elif a.get("type") == "range":
                    assert set(a) == RANGE_KEYS, f"{where}: range answer {sorted(a)}"
                    lo, hi = a["range"]
                    assert lo < hi, f"{where}: empty range {a['range']}"
                else:
                    raise AssertionError(f"{where}: numeric answer type {a.get('type')!r}, want value or range")
            # jupyterquiz checks the answers in order and a range holds lo <= x < hi: no wrong range may
            # catch a correct value.
            correct_values = [a["value"] for a in answers if a["type"] == "value"]
            for a in answers:
                if a["type"] == "range" and not a["correct"]:
                    lo, hi = a["range"]
                    caught = [v for v in correct_values if lo <= v < hi]
                    assert not caught, f"{where}: the wrong range {a['range']} holds the answer {caught}"
        else:
            raise AssertionError(f"{where}: type {q['type']!r}")


@pytest.mark.parametrize(("edition", "notebook"), CASES, ids=IDS)
def test_every_objective_is_assessed(edition, notebook):
    path = quiz_path(edition, notebook)
    if not path.exists():
        pytest.fail(f"no quiz {path.relative_to(ROOT)}")
    n_objectives = objective_count(load_notebook(notebook), edition)
    asked = {q.get("objective") for q in load_quiz(path)}
    missing = [i for i in range(1, n_objectives + 1) if i not in asked]
    assert not missing, f"{path.name}: no question assesses objective(s) {missing} of {notebook.name}"


@pytest.mark.parametrize(("edition", "notebook"), CASES, ids=IDS)
def test_numeric_answers_are_printed_by_the_chapter(edition, notebook):
    path = quiz_path(edition, notebook)
    if not path.exists():
        pytest.fail(f"no quiz {path.relative_to(ROOT)}")
    numbers = notebook_numbers(load_notebook(notebook))
    for i, q in enumerate(load_quiz(path), 1):
        if q["type"] != "numeric" or "source" in q:
            continue
        for a in q["answers"]:
            if a["type"] == "value":
                assert printed(a["value"], numbers), (
                    f"{path.name} question {i}: {a['value']} is neither printed nor written in {notebook.name}; "
                    "print it in the chapter or say in a 'source' key how it is computed"
                )


@pytest.mark.parametrize("notebook", chapters("en"), ids=lambda nb: nb.stem)
def test_editions_ask_the_same_questions(notebook):
    en = load_quiz(quiz_path("en", notebook))
    zh = load_quiz(quiz_path("zh", notebook))
    assert len(en) == len(zh), f"{notebook.stem}: {len(en)} questions in en, {len(zh)} in zh"
    zh_notebook = ROOT / "notebooks" / "zh" / notebook.name
    n_en, n_zh = objective_count(load_notebook(notebook), "en"), objective_count(load_notebook(zh_notebook), "zh")
    assert n_en == n_zh, f"{notebook.stem}: {n_en} objectives in en, {n_zh} in zh; the editions must list the same ones"
    en_headings, zh_headings = headings(load_notebook(notebook)), headings(load_notebook(zh_notebook))
    for i, (a, b) in enumerate(zip(en, zh, strict=True), 1):
        where = f"{notebook.stem} question {i}"
        if a["cell"] in en_headings and b["cell"] in zh_headings:  # the same section, by its place in the chapter
            assert en_headings.index(a["cell"]) == zh_headings.index(b["cell"]), (
                f"{where}: en points at {a['cell']!r}, zh at {b['cell']!r}, which is another section"
            )
        for key in ("type", "objective", "precision"):
            assert a.get(key) == b.get(key), f"{where}: {key} differs ({a.get(key)!r} vs {b.get(key)!r})"
        assert ("source" in a) == ("source" in b), f"{where}: a 'source' in one edition only"
        assert len(a["answers"]) == len(b["answers"]), f"{where}: answer counts differ"
        for x, y in zip(a["answers"], b["answers"], strict=True):
            assert x["correct"] == y["correct"], f"{where}: correct flags differ"
            assert x.get("type") == y.get("type") and x.get("value") == y.get("value"), f"{where}: values differ"
            assert x.get("range") == y.get("range"), f"{where}: ranges differ"
        assert re.search(r"[\u4e00-\u9fff]", b["question"]), f"{where}: the zh question is not in Chinese"


# A quiz tests reading: a learner who has not read the chapter must not find the answer by a rule of
# thumb, "pick the longest option" above all (the correct option was the longest in 36 of 39 questions once),
# nor by its mirror, "pick the shortest", nor by its place (print keeps the order; the book shuffles).
# With four options chance is 25%; over an edition we allow 35%, in one chapter half.
SHARE_COURSE = 0.35
SHARE_CHAPTER = 0.5
SHARE_PLACE = 0.4
SHARE_PLACE_MIN = 0.1


def shown_length(text):
    """The characters a learner sees: markdown code ticks dropped, runs of whitespace counted once."""
    return len(" ".join(text.replace("`", "").split()))


def lengths(question):
    right = [shown_length(a["answer"]) for a in question["answers"] if a["correct"]]
    wrong = [shown_length(a["answer"]) for a in question["answers"] if not a["correct"]]
    return right[0], wrong


# Each cue: is it true of a single-answer question? A tie counts against the quiz.
CUES = {
    "the longest": lambda q: lengths(q)[0] >= max(lengths(q)[1]),
    "the shortest": lambda q: lengths(q)[0] <= min(lengths(q)[1]),
}


def single_answer_questions(edition):
    """chapter -> [(question number, question)] of its multiple_choice questions."""
    return {
        nb.stem: [(i, q) for i, q in enumerate(load_quiz(quiz_path(edition, nb)), 1) if q["type"] == "multiple_choice"]
        for nb in chapters(edition)
    }


@pytest.mark.parametrize("cue", CUES)
@pytest.mark.parametrize("edition", EDITIONS)
def test_the_answer_is_not_given_away_by_its_length(edition, cue):
    singles = single_answer_questions(edition)
    hits = {stem: [i for i, q in qs if CUES[cue](q)] for stem, qs in singles.items()}
    n_single = sum(len(qs) for qs in singles.values())
    n_hits = sum(len(found) for found in hits.values())
    assert n_single, f"no single-answer questions in kit/quizzes/{edition}"
    too_easy = {
        stem: f"{len(hits[stem])} of {len(qs)}: questions {hits[stem]}"
        for stem, qs in singles.items()
        if len(hits[stem]) > SHARE_CHAPTER * len(qs)
    }
    assert not too_easy, (
        f"{edition}: in these chapters the correct option is {cue} in more than half of the single-answer "
        f"questions: {too_easy}; make the distractors as long and as specific as the answer"
    )
    assert n_hits <= SHARE_COURSE * n_single, (
        f"{edition}: the correct option is {cue} in {n_hits} of {n_single} single-answer questions "
        f"({n_hits / n_single:.0%}; at most {SHARE_COURSE:.0%}, chance is 25%): "
        f"{ {stem: found for stem, found in hits.items() if found} }"
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_answer_is_not_given_away_by_its_place(edition):
    questions = [q for qs in single_answer_questions(edition).values() for _, q in qs]
    places = [[a["correct"] for a in q["answers"]].index(True) for q in questions]
    for place in range(max(len(q["answers"]) for q in questions)):
        share = places.count(place) / len(places)
        assert SHARE_PLACE_MIN <= share <= SHARE_PLACE, (
            f"{edition}: the correct option is option {place + 1} in {share:.0%} of the single-answer questions "
            f"(want {SHARE_PLACE_MIN:.0%} to {SHARE_PLACE:.0%}); a printed worksheet keeps the order, so vary it"
        )


# What a learner must not read in a quiz: the names of the source notes and of the fact-check entries,
# the notes' question numbers, the course's files and tools. Say "the source notes" and name the section.
FORBIDDEN = {
    "a source note's id (say 'the source notes')": r"\b(?:seeds?|notes?)\s*\d{3}\b|(?:种子|源笔记|笔记)\s*\d{3}",
    "the word seed for the source notes (only 'random seed' is fine)": r"(?<!random )(?<!random-)\bseeds?\b",
    "种子 for the source notes (only 随机种子 is fine)": r"(?<!随机)种子",
    "a question number of the source notes": r"\bQ\d{1,2}\b|追问\s*\d",
    "a fact-check id (name the section instead)": r"\bFC-\d+(?:-\d+)?",
    "a file name": r"\b[\w./-]+\.(?:py|ipynb|json|md|ya?ml|toml|sh|txt|cfg)\b|\b(?:scripts|notebooks|kit|book)/",
    "a tool of the course's build": (
        r"\b(?:nbval|jupyterquiz|jupyter-book|pytest|ruff|pyright|coursebook|make (?:kit|book|test))\b"
    ),
}


def quiz_texts(question):
    yield "question", question["question"]
    for i, a in enumerate(question["answers"], 1):
        if "answer" in a:
            yield f"answer {i}", a["answer"]
        yield f"feedback {i}", a["feedback"]


@pytest.mark.parametrize("edition", EDITIONS)
def test_quizzes_speak_to_learners(edition):
    found = []
    for notebook in chapters(edition):
        for i, q in enumerate(load_quiz(quiz_path(edition, notebook)), 1):
            for where, text in quiz_texts(q):
                for what, pattern in FORBIDDEN.items():
                    for match in re.finditer(pattern, text, flags=re.IGNORECASE):
                        found.append(f"{notebook.stem} question {i} {where}: {match.group(0)!r} is {what}")
    assert not found, f"{edition}: {len(found)} learner-facing words about how the course was made:\n" + "\n".join(
        found
    )
