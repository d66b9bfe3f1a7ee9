"""The kit's words in the two editions, its fonts, and each edition's HTML language."""

from __future__ import annotations

# The kit's words in both editions; the Sphinx extension coursebook.sphinx.kit uses the same table
# for the line of kit links under each chapter's title.
WORDS = {
    "en": {
        "slides": "Slides",
        "quiz": "Quiz",
        "worksheet": "Worksheet (PDF)",
        "answers": "Answer key (PDF)",
        "course": "The whole English edition (PDF)",
        "chapter": "Chapter page",
        "colab": "Open in Colab",
        "ws_kind": "Worksheet",
        "ak_kind": "Answer key",
        "ws_name": "Name: ______________________________ &nbsp; Date: ______________",
        "ws_brief": "In brief",
        "ws_predict": "Predict, then check",
        "ws_q": "Question",
        "ws_guess": "My prediction, before running the notebook",
        "ws_seen": "What the notebook shows",
        "ws_exercises": "Exercises",
        "ws_ex": "Exercise",
        "contents": "Contents",
        "ak_note": "Answer key: the quiz, the chapter's questions and the exercises, with their answers.",
        "questions": "Questions in the chapter",
        "widget": "(an interactive widget: run the notebook to use it)",
        "no_quiz": "no quiz yet",
        "kit": "Teaching kit",
        "edition": "English edition",
        "colab_quiz": "In Colab or Jupyter, this quiz runs in one cell:",
        "exercises": "Exercises, with solutions",
        "end": "Exercises and the quiz close the chapter.",
    },
    "zh": {
        "slides": "幻灯片",
        "quiz": "小测验",
        "worksheet": "练习单（PDF）",
        "answers": "答案（PDF）",
        "course": "整本中文版（PDF）",
        "chapter": "本章网页",
        "colab": "在 Colab 中打开",
        "ws_kind": "练习单",
        "ak_kind": "答案",
        "ws_name": "姓名：______________________________ &nbsp; 日期：______________",
        "ws_brief": "本章要点",
        "ws_predict": "先预测，再验证",
        "ws_q": "问题",
        "ws_guess": "我的预测（运行 notebook 之前）",
        "ws_seen": "notebook 的结果",
        "ws_exercises": "练习",
        "ws_ex": "练习",
        "contents": "目录",
        "ak_note": "答案：小测验、章内问题和练习，附答案。",
        "questions": "章内的问题",
        "widget": "（交互控件：运行笔记本即可使用）",
        "no_quiz": "暂无小测验",
        "kit": "教学资料",
        "edition": "中文版",
        "colab_quiz": "在 Colab 或 Jupyter 中，一个单元格就能做这份小测验：",
        "exercises": "练习与解答",
        "end": "本章最后是练习和小测验。",
    },
}

FONTS = {
    "en": '"DejaVu Sans", "Liberation Sans", Helvetica, Arial, "WenQuanYi Micro Hei", sans-serif',
    "zh": '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", sans-serif',
}
MONO = '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, "WenQuanYi Micro Hei Mono", monospace'


def lang(edition: str) -> str:
    return "zh-CN" if edition == "zh" else "en"
