"""Every measured number in a chapter's prose is computed by that chapter, cited, or reviewed.

The house rule: a number in the prose is printed by a cell of the same notebook or carries a
citation. This check reads each chapter's markdown (both editions), finds the quantities a
reader would take as results, and looks for each one in the notebook:

  what counts as a result      decimals (0.663, 1.58), percentages (98%, 0.36%), scientific
                               notation (1e-5), counts of four digits or more (5,205,248;
                               years 1900-2099 are dates, not results), a token in quotes with its
                               leading space (" Paula"), and named heads ("layer 0, head 7",
                               "第 0 层第 7 个头")
  where it may come from       the text of the notebook's outputs (thousands separators and the
                               minus sign normalized); for numbers, also a literal in a code
                               cell (a setting the chapter chose: 300 steps, lr 0.1)
  what exempts it              a citation in the same sentence (arXiv, et al., a year, a URL,
                               Table, a model card or config.json); the Claim part of a
                               fact-check box and text in quotation marks (the seeds' own words,
                               quoted to be checked); inline code; an entry in the allow-list
                               book/_data/prose_numbers_allow.txt (chapter, quantity, why)

    coursebook prose-numbers                 # all chapters; exit 1 on a missing number
    coursebook prose-numbers notebooks/en/04_qkv.ipynb --verbose
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .book import ROOT, chapter_notebooks, rel

ALLOW_FILE = ROOT / "book" / "_data" / "prose_numbers_allow.txt"

NUMBER = re.compile(
    r"(?<![\w.,])(?:"
    r"\d+(?:\.\d+)?e[-+]?\d+"  # 1e-5, 2.5e-3
    r"|\d+(?:\.\d+)?\s?%"  # 98%, 0.36 %
    r"|\d+\.\d+"  # 0.663
    r"|\d{1,3}(?:,\d{3})+"  # 5,205,248
    r"|\d{4,}"  # 4096
    r")(?![\w]|\.\d)"
)
# A rounded large number with a word for its size: "1680 万", "5 亿", "16.8 million".
SCALED = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)\s?(万|亿|million\b|billion\b)")
SCALES = {"万": 1e4, "亿": 1e8, "million": 1e6, "billion": 1e9}
TOKEN = re.compile(r"""["'“‘]( [A-Z][\w-]*)["'”’]""")  # a token with its leading space: " Paula"
HEAD = re.compile(r"layer (\d+),? head (\d+)|第 ?(\d+) ?层(?:的)?第 ?(\d+) ?个?头")
CITATION = re.compile(
    r"arXiv|et al\.|\bdoi\b|https?://|\bTable\b|\bFigure \d|表 ?\d|图 ?\d|model card|模型卡|config\.json"
    r"|\b(?:19|20)\d\d\b|等，|等人"
)
QUOTED = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"")
INLINE_CODE = re.compile(r"`[^`]*`")
CODE_FENCE = re.compile(r"```.*?```", re.S)
HTML_TAG = re.compile(r"<[^>]+>")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s+|(?<=[。！？；])")


@dataclass
class Finding:
    notebook: str
    quantity: str
    kind: str  # number | token | head
    where: str  # outputs | code | cited | allowed | MISSING
    context: str


def normalize(text: str) -> str:
    text = text.replace("\u2212", "-").replace("\u2009", " ").replace("\u202f", " ")
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)


def notebook_texts(nb) -> tuple[list[str], str, str]:
    """(markdown cells, output text, code text) of a notebook."""
    markdown, outputs, code = [], [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            markdown.append(cell.source)
        elif cell.cell_type == "code":
            code.append(cell.source)
            for out in cell.get("outputs", []):
                if "text" in out:
                    outputs.append(out["text"])
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in out.get("data", {}):
                        outputs.append(out["data"][mime])
    return markdown, normalize("\n".join(outputs)), normalize("\n".join(code))


def prose_sentences(markdown: str) -> list[str]:
    """Sentences of checkable prose: code, tags, link targets and fact-check claims removed."""
    text = CODE_FENCE.sub(" ", markdown)
    lines, in_claim = [], False
    for line in text.splitlines():
        body = line.lstrip("> ").strip()
        if body.startswith(("**Claim**", "**原说法**")):
            in_claim = True
        elif body.startswith(("**Check", "**验证", "**核对", "**Correction", "**更正")) or not line.startswith(">"):
            in_claim = False
        if not in_claim:
            lines.append(line)
    text = "\n".join(lines)
    text = LINK_TARGET.sub("]", HTML_TAG.sub(" ", INLINE_CODE.sub(" ", text)))
    paragraphs = re.split(r"\n\s*\n", text)
    return [s for p in paragraphs for s in SENTENCE_END.split(" ".join(p.split())) if s.strip()]


def present(quantity: str, haystack: str) -> bool:
    q = normalize(quantity).replace(" %", "%")
    return re.search(r"(?<![\d.])" + re.escape(q) + r"(?![\d])", haystack.replace(" %", "%")) is not None


def significant(number: str) -> int:
    """Significant digits of a written number: 1680 -> 3 (a trailing zero rounds), 3.20 -> 3."""
    digits = number.replace(".", "").lstrip("0")
    return max(1, len(digits.rstrip("0")) if "." not in number else len(digits))


def round_sig(x: float, sig: int) -> float:
    return float(f"{x:.{sig - 1}e}")


def scaled_present(number: str, unit: str, *haystacks: str) -> bool:
    """Some integer of the haystacks rounds to number x unit at the digits the prose gives."""
    value, sig = float(number) * SCALES[unit.strip()], significant(number)
    suffix = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}
    for haystack in haystacks:  # 16777216, or 16.4M as the outputs print it
        for digits, unit in re.findall(r"(?<![\d.])(\d{4,}|\d+(?:\.\d+)?(?=[KMB]\b))([KMB]?)", haystack):
            if round_sig(float(digits) * suffix[unit], sig) == round_sig(value, sig):
                return True
    return False


def load_allow(path: Path = ALLOW_FILE) -> dict[str, set[str]]:
    allow: dict[str, set[str]] = {}
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3 or not all(parts):
                sys.exit(f"{rel(path)}:{n}: expected 'chapter | quantity | why', got {line!r}")
            allow.setdefault(parts[0], set()).add(parts[1])
    return allow


def check_notebook(path: Path, allow: dict[str, set[str]]) -> list[Finding]:
    nb = nbformat.read(path, as_version=4)
    markdown, outputs, code = notebook_texts(nb)
    allowed = allow.get(path.stem, set())
    findings = []
    for cell in markdown:
        for sentence in prose_sentences(cell):
            cited = CITATION.search(sentence) is not None
            for match in TOKEN.finditer(sentence):
                token = match.group(1)
                found = re.search(r"""["']""" + re.escape(token) + r"""["']""", outputs)
                where = "outputs" if found else "allowed" if token.strip() in allowed else "MISSING"
                findings.append(Finding(rel(path), f'"{token}"', "token", where, sentence))
            for match in HEAD.finditer(sentence):
                layer, head = (g for g in match.groups() if g is not None)
                found = re.search(rf"layer {layer},? head {head}\b|\b{layer}\s*/\s*{head}\b|L{layer}H{head}\b", outputs)
                where = (
                    "outputs" if found else "cited" if cited else "allowed" if match.group(0) in allowed else "MISSING"
                )
                findings.append(Finding(rel(path), match.group(0), "head", where, sentence))
            unquoted = QUOTED.sub(" ", sentence)
            for match in SCALED.finditer(unquoted):
                quantity = match.group(0)
                if scaled_present(match.group(1), match.group(2), outputs, code):
                    where = "outputs"
                else:
                    where = "cited" if cited else "allowed" if quantity in allowed else "MISSING"
                findings.append(Finding(rel(path), quantity, "number", where, sentence))
            unquoted = SCALED.sub(" ", unquoted)
            for match in NUMBER.finditer(unquoted):
                quantity = match.group(0)
                digits = quantity.replace(",", "")
                if digits.isdigit() and 1900 <= int(digits) <= 2099:
                    continue  # a year
                if present(quantity, outputs):
                    where = "outputs"
                elif present(quantity, code):
                    where = "code"
                elif cited:
                    where = "cited"
                elif quantity in allowed or quantity.replace(" ", "") in allowed:
                    where = "allowed"
                else:
                    where = "MISSING"
                findings.append(Finding(rel(path), quantity, "number", where, sentence))
    return findings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="coursebook prose-numbers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter of both editions")
    ap.add_argument("--verbose", action="store_true", help="list every quantity, not only the missing ones")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or chapter_notebooks()
    allow = load_allow()
    findings = [f for path in paths for f in check_notebook(path, allow)]

    print(
        f"{'notebook':36s} {'checked':>7s} {'outputs':>7s} {'code':>5s} {'cited':>5s} {'allowed':>7s} {'MISSING':>7s}"
    )
    for path in paths:
        mine = [f for f in findings if f.notebook == rel(path)]
        counts = {w: sum(f.where == w for f in mine) for w in ("outputs", "code", "cited", "allowed", "MISSING")}
        print(
            f"{rel(path):36s} {len(mine):7d} {counts['outputs']:7d} {counts['code']:5d} {counts['cited']:5d} "
            f"{counts['allowed']:7d} {counts['MISSING']:7d}"
        )
    shown = findings if args.verbose else [f for f in findings if f.where == "MISSING"]
    for f in shown:
        context = f.context if len(f.context) < 220 else f.context[:217] + "..."
        print(f"\n{f.where}: {f.notebook}: {f.kind} {f.quantity}\n    {context}")
    missing = [f for f in findings if f.where == "MISSING"]
    if missing:
        print(
            f"\nprose-number check FAILED: {len(missing)} quantities in the prose are not printed by the "
            f"notebook, not cited in their sentence and not in {rel(ALLOW_FILE)}. Print them from a cell, "
            f"cite their source in the sentence, or add a reviewed line 'chapter | quantity | why' to the allow-list."
        )
        return 1
    print(f"\nprose-number check passed: {len(findings)} quantities in {len(paths)} notebooks")
    return 0
