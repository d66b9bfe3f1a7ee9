"""Answer a quiz in the page, as a reader would, and see that it answers back."""

from __future__ import annotations

QUIZ_FEEDBACK = """(quiz) => Array.from(quiz.querySelectorAll('[id^="fb"]'))
  .filter(e => e.innerText.trim() !== "").length"""


def click_quizzes(page) -> tuple[int, list[str]]:
    """Answer one question of every jupyterquiz quiz on the page (click a choice, or type a number
    and Enter) and check that its feedback appears. (number of quizzes, problems)"""
    problems = []
    quizzes = page.locator(".kit-quiz")
    n = quizzes.count()
    for k in range(n):
        quiz = quizzes.nth(k)
        try:
            quiz.locator(".Quiz").first.wait_for(timeout=5_000)  # drawn by the quiz's own script
        except Exception:
            problems.append(f"quiz {k + 1}: jupyterquiz drew no question")
            continue
        before = quiz.evaluate(QUIZ_FEEDBACK)
        choice = quiz.locator("label.MCButton")
        if choice.count():
            choice.first.click()
        else:
            box = quiz.locator("input.Input-text").first
            box.fill("0")
            box.press("Enter")
        page.wait_for_timeout(100)
        if quiz.evaluate(QUIZ_FEEDBACK) <= before:
            problems.append(f"quiz {k + 1}: answering a question showed no feedback")
    return n, problems
