"""The checks that read the course's words: `coursebook zh-style` (the zh style sheet) and
`coursebook authoring-words` (no seeds, ids, tools or build steps on learner pages). Each rule
fires on a written example and stays quiet on its look-alikes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coursebook import authoring_words, zh_style
from coursebook.prose import Piece, prose_only

ROOT = Path(__file__).resolve().parents[2]


def zh(text: str, kind: str = "markdown") -> list[tuple[str, str]]:
    return [(f.rule, f.text) for f in zh_style.check_piece(Piece("notebooks/zh/x.ipynb", "cell 1", text, kind))]


def words(text: str, kind: str = "markdown") -> list[tuple[str, str]]:
    piece = Piece("notebooks/en/x.ipynb", "cell 1", text, kind)
    return [(f.rule, f.text) for f in authoring_words.check_piece(piece)]


def test_prose_only_keeps_lines_and_blanks_code():
    text = "用 `单元` 和 $x-1$\n```python\n这个单元\n```\n[链接](a-单元.md) 结束"
    blanked = prose_only(text)
    assert len(blanked) == len(text) and blanked.count("\n") == text.count("\n")
    assert "单元" not in blanked.replace("结束", "") and "结束" in blanked


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("损失是 0.69 nats。", "term"),
        ("用小部件调大小。", "term"),
        ("下面这个单元打印结果。", "term"),
        ("数数任务", "term"),
        ("独热向量乘矩阵", "term"),
        ("快的维度对几乎不变", "term"),
        ("把文档打包成一条流", "term"),
        ("维护滑动最大值", "term"),
        ("种子笔记说", "term"),
        ("（Kaplan et al. 2020）", "citation"),
        ("Hoffmann 等人发现", "citation"),
        ("（Haviv 等 2022）", "citation"),
        ("内存少 10 倍", "decrease"),
        ("便宜 22–25 倍", "decrease"),
        ("损失下降 1.19 倍", "decrease"),
        ("查询头 0-3 共用", "range"),
        ("## 本章目标", "convention"),
        ("<summary>答案（先猜一猜再打开）</summary>", "convention"),
        ("<summary>练习 2 的答案</summary>", "convention"),
        ("#@title Solution to exercise 2", "convention"),
        ("这是第一行\n第二行接着写。", "cjk-break"),
        ("> 引用的第一行，\n> 第二行。", "cjk-break"),
    ],
)
def test_each_zh_rule_fires(bad, rule):
    assert rule in [r for r, _ in zh(bad)], zh(bad)


@pytest.mark.parametrize(
    "good",
    [
        "CPU 带 bf16 运算单元时更快；RNN 单元也是。",  # a unit, not a cell
        "上面的单元格打印结果。",
        "第 2 章 · 数一数参数",
        "挂钩 autograd 的打包步骤",
        "把文档拼接（packing）成一条流",
        "（Kaplan 等，2020）；Kaplan 等（2020）发现",
        "快 3 倍；用时是它的 4 倍",
        "查询头 0–3 共用；源笔记说“5-10%”；Qwen2.5-0.5B；IEEE 754-2019",
        "源笔记写道：“537M 次操作（慢2倍）”，“Kaplan et al.”，“用小部件”",  # quoted verbatim
        "`nats` 和 `0-3` 在代码里",
        "## 学习目标\n\n<summary>答案（先自己猜，再点开）</summary>\n<summary>练习 2 参考答案</summary>",
        "第一段。\n\n第二段。",
        "- 第一项\n- 第二项",
        "| 表 | 格 |\n| 下 | 行 |",
        "用 PyTorch\n计算",  # a break next to a Latin word is a space anyway
    ],
)
def test_zh_rules_stay_quiet_on_look_alikes(good):
    assert zh(good) == []


def test_the_style_sheet_in_contributing_lists_every_term():
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    sheet = contributing.split("## The zh style sheet", 1)[1].split("\n## ", 1)[0]
    for term in zh_style.TERMS:
        row = f"| {term.preferred} |"
        assert row in sheet, f"CONTRIBUTING.md's zh style sheet has no row for {term.preferred}"
        variant = re.sub(r"[\\()?<>!=\[\]]", "", term.forbidden.split("|")[0])
        assert variant.strip(), term


def test_the_zh_style_check_reports_and_fails_only_when_strict(capsys):
    assert zh_style.main([]) == 0
    out = capsys.readouterr().out
    assert "zh style check" in out
    findings = [f for p in zh_style.pieces() for f in zh_style.check_piece(p)]
    assert zh_style.main(["--strict"]) == (1 if findings else 0)


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("As Seed 004 (Q7) asks, ...", "seed"),
        ("seed 003 says", "seed"),
        ("种子笔记里说", "seed"),
        ("This corrects FC-06-3.", "fact-check"),
        ("Run scripts/stamp_notebooks.py", "tool"),
        ("then make book", "tool"),
        ("not compared by nbval", "tool"),
        ("CI runs this", "making"),
        ("the committed outputs use SCALE = 1", "making"),
        ("No GPU is lent to this session", "making"),
        ("本次会话没有借到 GPU", "making"),
    ],
)
def test_each_authoring_rule_fires(bad, rule):
    assert rule in [r for r, _ in words(bad)], words(bad)


@pytest.mark.parametrize(
    "good",
    [
        "> **Fact check FC-06-3**\n>\n> **Claim** ...",  # the box's own first line
        "> **核查 FC-06-3**",
        "See [the fact-check log](../../book/en/fact_check.md#fc-06-3).",  # a link target
        "the source notes say the model is holographic",
        "make the experiments bigger",
        "`scripts/x.py` in code",
        "fix the random seed 0 first",
        "| FC-06-3 | [6](../../notebooks/en/06_rope.ipynb) | notes on design questions, Q7 | ... |",  # a log row
    ],
)
def test_authoring_rules_stay_quiet_on_look_alikes(good):
    assert words(good) == []


def test_authoring_words_read_the_learner_pages_but_not_the_instructor_pages():
    read = {p.path for p in authoring_words.pieces()}
    for edition in ("en", "zh"):
        for page in ("preface", "glossary", "fact_check", "model_card"):
            assert f"book/{edition}/{page}.md" in read
    assert not [p for p in read if "/instructor" in p]
    # an id later in a log row is still a finding: only the row's own first column names its box
    assert [r for r, _ in words("| FC-06-3 | corrects FC-06-2 |")] == ["fact-check"]
