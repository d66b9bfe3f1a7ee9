"""One Chinese voice: the zh style sheet (CONTRIBUTING.md, "The zh style sheet") as a check.

It reads the zh edition's prose: the chapters' markdown cells and code comments, the quizzes
(kit/quizzes/zh), the slides (kit/slides/zh), the book's pages and the instructor guide (book/zh),
with code, math, link targets and HTML tags blanked (coursebook.prose). Rules:

  term         a term written in a variant the style sheet forbids (TERMS: the glossary's form,
               else the chapters' majority): 小部件 -> 控件, 种子笔记 -> 源笔记, ...
  citation     "et al." / "等人" -> "等"; "Kaplan 等 2020" -> "Kaplan 等，2020"
  decrease     a decrease written as a multiple ("少 10 倍", "便宜 22–25 倍", "下降 1.19 倍"):
               write "1/10" or "只有……的十分之一"
  range        a numeric range with a hyphen ("0-3") -> en dash ("0–3")
  convention   the chapters' fixed phrases: 学习目标, the folded-answer prompt, "练习 N 参考答案"
  cjk-break    a line break between two Chinese characters inside a paragraph: the book joins
               them, but Jupyter and Colab show a space there

The term, citation, decrease and range rules skip quotations (“…”, 「…」): a quotation of the
source notes keeps the notes' own words.

    coursebook zh-style              # counts per file and rule; exit 0
    coursebook zh-style --details    # and every finding with its line and the fix
    coursebook zh-style --strict     # exit 1 on any finding (`coursebook check` runs this)
    coursebook zh-style --join-breaks    # rewrite: join every cjk-break (chapters' markdown, slides, pages)
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass

from .book import ROOT
from .prose import Piece, chapter_pieces, page_pieces, prose_only, quiz_pieces, slide_pieces

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
CJK = rf"{HAN}\u3000-\u303f\uff00-\uffef“”‘’…—"


@dataclass(frozen=True)
class Term:
    preferred: str
    forbidden: str  # a regular expression for the variants
    meaning: str


# The term table: the glossary's form (book/zh/glossary.md) where it has one, else the form most
# chapters use. CONTRIBUTING.md's zh style sheet lists the same table; a test keeps them together.
TERMS = [
    Term("奈特", r"(?<![A-Za-z_])nats?(?![A-Za-z_])|纳特", "nat, a loss's unit in natural log (outputs print nats)"),
    Term("控件", r"小部件|部件(?=[，。、）])", "widget (ipywidgets)"),
    Term(
        "单元格",
        r"(?:这个|那个|上面的|下面的|上一个|下一个|前一个|后一个|每个|该|此|一个|这些|那些|最后的|第一个)单元(?![格测元])",
        "a notebook cell (运算单元, bf16 单元, RNN 单元 are other things)",
    ),
    Term("计数", r"(?<!一)数数", "counting, the probe task (数一数 stays a verb)"),
    Term("one-hot 向量", r"独热向量|独热编码向量|one-hot向量", "one-hot vector (glossary)"),
    Term("快的对 / 慢的对", r"[快慢]的?维度对|[快慢]维对", "RoPE's fast and slow pairs (glossary)"),
    Term("拼接（packing）", r"(?<!autograd 的)打包", "packing documents into one stream (autograd's pack is 打包)"),
    Term("当前最大值", r"滑动最大值|运行最大值|累计最大值", "online softmax's running maximum (glossary)"),
    Term("按词元平均", r"逐词元的?(?:平均|均值)|每词元平均", "per-token averaging (glossary)"),
    Term("源笔记", r"种子笔记|种子文档|原始笔记", "the study notes the course grew from"),
]

CITATION = [
    (re.compile(r"et al\.?|等人"), "cite as 'Kaplan 等，2020' (等, not et al. or 等人)"),
    (re.compile(r"[A-Z][A-Za-z\-]+ 等 ?(?:19|20)\d\d"), "a comma between 等 and the year: 'Kaplan 等，2020'"),
]
DECREASE = re.compile(
    r"(?:少|小|低|便宜|下降|降低|减少|缩小|缩短|短|省|慢|差)了?(?:约|大约|将近|近|整整|足足)?\s*"
    r"\d[\d.]*(?:\s*[–~～-]\s*\d[\d.]*)?\s*倍"
)
RANGE = re.compile(r"(?<![\w.\-/=:])(\d+(?:\.\d+)?)\s?-\s?(\d+(?:\.\d+)?)(?![\w\-/.])")
QUOTE = re.compile(r"“[^”\n]*”|「[^」\n]*」")
CONVENTIONS = [
    (re.compile(r"^#+\s*本章目标", re.M), "the objectives' heading is '## 学习目标'"),
    (re.compile(r"答案（先猜一猜，?再打开）"), "the folded answer's prompt is '答案（先自己猜，再点开）'"),
    (re.compile(r"练习 ?\d+ ?(?:的答案|的解答|的参考答案|解答)"), "a solution is named '练习 N 参考答案'"),
    (re.compile(r"@title\s+Solution to exercise \d+"), "a solution cell's Colab title is '#@title 练习 N 参考答案'"),
]
# A line break between two Chinese characters (or Chinese punctuation) inside a paragraph.
LINE_START_BLOCK = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|\||>\s*$|<|```|:::|\$\$|Note:)")


@dataclass
class Finding:
    path: str
    where: str
    line: int
    rule: str
    text: str
    fix: str


def _cjk_breaks(original: str, prose: str) -> list[tuple[int, str]]:
    """(offset, the two lines' ends) of every line break between CJK characters in a paragraph.
    original gives the lines' indentation and trailing spaces; prose (the same text with code
    and math blanked) says whether the characters on both sides of the break are prose."""
    found = []
    lines, blanked = original.split("\n"), prose.split("\n")
    offset = 0
    for i in range(len(lines) - 1):
        line, after = lines[i], lines[i + 1]
        offset += len(line) + 1
        if LINE_START_BLOCK.match(blanked[i]) or LINE_START_BLOCK.match(blanked[i + 1]):
            continue
        end = len(line.rstrip())
        start = len(after) - len(re.sub(r"^\s*(?:>\s?)?\s*", "", after))
        a, b = blanked[i][:end], blanked[i + 1][start:]
        if a and b and re.search(rf"[{CJK}]$", a) and re.match(rf"[{CJK}]", b):
            found.append((offset - 1, f"{a[-8:]}⏎{b[:8]}"))
    return found


def joined(text: str, prose: str) -> str:
    """text with every cjk-break joined: the line's trailing spaces, the break and the next line's
    indentation (and its '> ' inside a quotation) removed."""
    for offset, _ in reversed(_cjk_breaks(text, prose)):
        head = text[:offset].rstrip(" \t")
        tail = re.sub(r"^\s*(?:>\s?)?\s*", "", text[offset + 1 :], count=1)
        text = head + tail
    return text


def join_breaks() -> int:
    """Join the cjk-breaks in the zh chapters' markdown cells, slides and book pages, in place;
    returns how many. Notebooks keep their JSON layout (one line per source line, indent 1)."""
    count = 0
    for path in sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            source = "".join(cell["source"])
            new = joined(source, prose_only(source))
            if new != source:
                count += len(_cjk_breaks(source, prose_only(source)))
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed:
            path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for piece in slide_pieces("zh") + page_pieces("zh"):
        prose = _front_matter_blanked(piece, prose_only(piece.text))
        new = joined(piece.text, prose)
        if new != piece.text:
            count += len(_cjk_breaks(piece.text, prose))
            (ROOT / piece.path).write_text(new, encoding="utf-8")
    return count


def _front_matter_blanked(piece: Piece, text: str) -> str:
    if piece.kind == "slides" and text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end > 0:
            head = text[: end + 5]
            return re.sub(r"[^\n]", " ", head) + text[end + 5 :]
    return text


def check_piece(piece: Piece) -> list[Finding]:
    prose = prose_only(piece.text)
    findings = []

    def add(offset: int, rule: str, text: str, fix: str):
        findings.append(Finding(piece.path, piece.where, piece.line_of(offset), rule, text, fix))

    # A quotation is quoted verbatim (the source notes' own words): the rules of our voice skip it.
    unquoted = QUOTE.sub(lambda m: " " * len(m.group()), prose)
    for term in TERMS:
        for m in re.finditer(term.forbidden, unquoted):
            add(m.start(), "term", m.group(), f"write {term.preferred} ({term.meaning})")
    for pattern, fix in CITATION:
        for m in pattern.finditer(unquoted):
            add(m.start(), "citation", m.group(), fix)
    for m in DECREASE.finditer(unquoted):
        add(m.start(), "decrease", m.group(), "a decrease is not 'X 倍': write 1/10, or 只有……的十分之一")
    for m in RANGE.finditer(_front_matter_blanked(piece, unquoted)):
        left, right = m.group(1), m.group(2)
        if len(right) == 4 and right[:2] in ("19", "20") and len(left) >= 3:
            continue  # IEEE 754-2019, a standard and its year
        add(m.start(), "range", m.group(), f"a range takes an en dash: {left}–{right}")
    for pattern, fix in CONVENTIONS:
        for m in pattern.finditer(piece.text if pattern.flags & re.M else prose):
            add(m.start(), "convention", m.group(), fix)
    if piece.kind != "comments":
        for offset, text in _cjk_breaks(piece.text, _front_matter_blanked(piece, prose)):
            add(offset, "cjk-break", text, "join the two lines: Jupyter and Colab show a space there")
    return findings


def pieces() -> list[Piece]:
    return chapter_pieces("zh") + quiz_pieces("zh") + slide_pieces("zh") + page_pieces("zh")


RULES = ["term", "citation", "decrease", "range", "convention", "cjk-break"]


def report(findings: list[Finding], details: bool) -> None:
    counts = Counter((f.path, f.rule) for f in findings)
    paths = sorted({f.path for f in findings})
    width = max((len(p) for p in paths), default=10)
    print(f"{'file':{width}s}  " + "  ".join(f"{r:>10s}" for r in RULES) + f"  {'total':>6s}")
    for path in paths:
        row = [counts[(path, r)] for r in RULES]
        print(f"{path:{width}s}  " + "  ".join(f"{n:10d}" for n in row) + f"  {sum(row):6d}")
    totals = [sum(counts[(p, r)] for p in paths) for r in RULES]
    print(f"{'all':{width}s}  " + "  ".join(f"{n:10d}" for n in totals) + f"  {sum(totals):6d}")
    if details:
        for f in findings:
            where = f"{f.path}:{f.line}" if not f.where else f"{f.path} {f.where}, line {f.line}"
            print(f"\n{f.rule}: {where}: {f.text!r}\n    {f.fix}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook zh-style", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--details", action="store_true", help="list every finding with its line and the fix")
    ap.add_argument("--strict", action="store_true", help="exit 1 when there is a finding")
    ap.add_argument("--rule", action="append", choices=RULES, help="only these rules (repeatable)")
    ap.add_argument("--join-breaks", action="store_true", help="join every cjk-break in place, then check")
    args = ap.parse_args(argv)
    if args.join_breaks:
        print(f"joined {join_breaks()} line breaks between Chinese characters")
    findings = [f for piece in pieces() for f in check_piece(piece)]
    if args.rule:
        findings = [f for f in findings if f.rule in args.rule]
    report(findings, args.details)
    if not findings:
        print("\nzh style check passed")
        return 0
    verdict = "FAILED" if args.strict else "(report only: --strict fails on them)"
    print(f"\nzh style check {verdict}: {len(findings)} findings; the style sheet is in CONTRIBUTING.md")
    return 1 if args.strict else 0
