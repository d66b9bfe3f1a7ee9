"""A chapter's printed worksheet: what a learner writes on in class and after it, 2 to 6 A4 pages.

    the chapter's title and the question its lecture answers (the deck's front matter)
    In brief        the deck's `summary`
    Predict, then check   each `### Question` / `### 问题` of the chapter with its follow-up, and
                    room for a prediction and for what the notebook showed (the folded answer left out)
    Exercises       each `**Exercise N.**` / `**练习 N.**` statement, with room to write (starter,
                    check and solution cells are the notebook's business, not the paper's)
    Quiz            the chapter's quiz without its answers

The answer key (handouts.answers_body) keeps the answers.
"""

from __future__ import annotations

import html
import re

from .. import quizzes
from ..cells import is_solution
from .deck import Deck
from .render import Renderer
from .words import WORDS

QUESTION = re.compile(r"^###\s+(?:Question|问题)\b[^\n]*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,3}\s", re.MULTILINE)
EXERCISE = re.compile(r"^\*\*(?:Exercise|练习)\s*(\d+)\s*[.．。:：]?\*\*\s*", re.MULTILINE)
DETAILS = re.compile(r"<details\b.*?</details>", re.DOTALL)
# Internal names a learner should not read on paper: the source notes' file numbers, fact-check ids.
INTERNAL = re.compile(r"\b[Ss]eed\s*\d{3}\b|种子笔记\s*\d{3}|\bFC-\d\d-\d+\b")

WORKSHEET_CSS = """
.ws-head { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1.5pt solid #2c5d8a;
  padding-bottom: 3pt; margin-bottom: 6pt; }
.ws-head .kind { font-size: 11pt; color: #2c5d8a; font-weight: bold; }
.ws-name { font-size: 10pt; margin: 4pt 0 8pt 0; }
.ws-question { font-size: 12pt; font-style: italic; color: #2c5d8a; margin: 0 0 8pt 0; }
.ws-item { break-inside: avoid; margin: 0 0 8pt 0; }
.ws-item .label { font-weight: bold; }
.ws-item p { margin: 2pt 0; }
.write { border: 0.6pt solid #999; border-radius: 2pt; margin: 4pt 0 2pt 0; padding: 2pt 5pt;
  background: repeating-linear-gradient(to bottom, transparent 0, transparent 6.6mm, #d8d8d8 6.6mm, #d8d8d8 6.8mm);
  font-size: 8.5pt; color: #666; }
.write.short { height: 18mm; } .write.long { height: 34mm; }
.two { display: flex; gap: 6pt; } .two .write { flex: 1; }
h2.ws { font-size: 13pt; margin: 12pt 0 5pt 0; color: #1d1d1f; }
.worksheet .quiz-print { padding-left: 16pt; }
.worksheet .quiz-print > li { margin-bottom: 6pt; }
.worksheet .quiz-print ul.choices li { margin-bottom: 1.5pt; }
.worksheet .quiz-print .q { margin: 0 0 2pt 0; }
.worksheet .quiz-print .blank { margin: 4pt 0 0 8pt; }
"""


def questions(nb) -> list[str]:
    """The Markdown of each discussion question (its text and follow-up), without the folded answer."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_solution(cell):
            continue
        src = cell.source
        for m in QUESTION.finditer(src):
            nxt = HEADING.search(src, m.end())
            text = DETAILS.sub("", src[m.end() : nxt.start() if nxt else len(src)]).strip()
            if text:
                out.append(text)
    return out


def exercises(nb) -> list[tuple[int, str]]:
    """(number, Markdown of the statement) of each exercise, from the statement cells only."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_solution(cell):
            continue
        src = cell.source
        starts = list(EXERCISE.finditer(src))
        for k, m in enumerate(starts):
            end = starts[k + 1].start() if k + 1 < len(starts) else len(src)
            text = DETAILS.sub("", src[m.end() : end])
            nxt = HEADING.search(text)  # a heading after the statement belongs to something else
            out.append((int(m.group(1)), text[: nxt.start() if nxt else len(text)].strip()))
    return out


def check(nb, where: str) -> list[str]:
    """What a worksheet cannot be made without: exercise statements, numbered 1, 2, ... once each."""
    numbers = [n for n, _ in exercises(nb)]
    if not numbers:
        return [f"{where}: no exercise statement (a markdown cell starting **Exercise 1.** / **练习 1.**)"]
    if numbers != list(range(1, len(numbers) + 1)):
        return [f"{where}: exercise statements numbered {numbers}; expected 1 to {len(numbers)}, once each"]
    return []


def internal_names(nb) -> list[str]:
    """Seed numbers and fact-check ids in the text a worksheet prints (its questions and exercises)."""
    texts = questions(nb) + [text for _, text in exercises(nb)]
    return sorted({m.group(0) for text in texts for m in INTERNAL.finditer(text)})


def worksheet_body(nb, deck: Deck, site: str, quiz) -> str:
    ed = deck.edition
    w = WORDS[ed]
    r = Renderer(ed, site)
    parts = [
        f'<div class="ws-head"><h1>{r.inline(deck.title)}</h1><span class="kind">{w["ws_kind"]}</span></div>',
        f'<p class="ws-name">{w["ws_name"]}</p>',
        f'<p class="ws-question">{r.inline(deck.question)}</p>',
        f'<h2 class="ws">{w["ws_brief"]}</h2>{r.markdown(deck.summary)}',
    ]
    qs = questions(nb)
    if qs:
        parts.append(f'<h2 class="ws">{w["ws_predict"]}</h2>')
        for k, text in enumerate(qs, 1):
            parts.append(
                f'<div class="ws-item"><p class="label">{w["ws_q"]} {k}</p>{r.markdown(text)}'
                f'<div class="two"><div class="write short">{w["ws_guess"]}</div>'
                f'<div class="write short">{w["ws_seen"]}</div></div></div>'
            )
    parts.append(f'<h2 class="ws">{w["ws_exercises"]}</h2>')
    for number, text in exercises(nb):
        label = f'<p class="label">{w["ws_ex"]} {number}</p>'
        parts.append(f'<div class="ws-item">{label}{r.markdown(text)}<div class="write long"></div></div>')
    if quiz:
        parts.append(f'<h2 class="ws">{w["quiz"]}</h2>{quizzes.printable(quiz, with_answers=False)}')
    return f'<section class="chapter worksheet">{"".join(parts)}</section>'


def title(deck: Deck) -> str:
    return html.unescape(f"{deck.title} · {WORDS[deck.edition]['ws_kind']}")
