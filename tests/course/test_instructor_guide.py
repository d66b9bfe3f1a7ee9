"""The instructor guide follows the chapters: a page per chapter and edition, in the table of
contents; its generated tables (outcomes, measured times) match the notebooks, the quizzes and
book/_data/timings.json; every fact-check box of a chapter is discussed on its page; every paper
a chapter cites by arXiv id is in the page's reading list."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("en", "zh")
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb"))
ARXIV = re.compile(r"arXiv[: ]*(\d{4}\.\d{4,5})")
BOX = re.compile(r"\*\*(?:Fact check|核查) (FC-\d\d-\d+)\*\*")


def markdown_of(edition: str, chapter: str) -> str:
    nb = json.loads((ROOT / "notebooks" / edition / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def page(edition: str, chapter: str) -> Path:
    return ROOT / "book" / edition / "instructor" / f"{chapter}.md"


def toc_files() -> list[str]:
    def walk(entries):
        for e in entries or []:
            if "file" in e:
                yield e["file"]
            yield from walk(e.get("sections"))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f for part in toc["parts"] for f in walk(part["chapters"])]


def test_generated_blocks_are_up_to_date():
    proc = subprocess.run(
        [sys.executable, "-m", "coursebook", "render", "instructor", "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_chapter_has_a_guide_page_in_the_toc(edition):
    files = toc_files()
    for chapter in CHAPTERS:
        assert page(edition, chapter).exists(), f"no instructor page {page(edition, chapter).relative_to(ROOT)}"
        assert f"book/{edition}/instructor/{chapter}" in files, f"{edition} {chapter}: guide page not in _toc.yml"
        text = page(edition, chapter).read_text(encoding="utf-8")
        assert f"<!-- outcomes:{chapter} -->" in text and f"<!-- timings:{chapter} -->" in text


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_fact_check_box_is_discussed(edition):
    for chapter in CHAPTERS:
        boxes = set(BOX.findall(markdown_of(edition, chapter)))
        text = page(edition, chapter).read_text(encoding="utf-8")
        missing = sorted(b for b in boxes if b not in text)
        assert not missing, f"{edition} {chapter}: fact-check boxes not in the guide's misconceptions: {missing}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_cited_arxiv_paper_is_in_the_reading_list(edition):
    for chapter in CHAPTERS:
        cited = set(ARXIV.findall(markdown_of("en", chapter)))
        text = page(edition, chapter).read_text(encoding="utf-8")
        heading = "## Reading list" if edition == "en" else "## 阅读书目"
        assert heading in text, f"{edition} {chapter}: no {heading!r} section"
        reading = text[text.index(heading) :]
        missing = sorted(a for a in cited if a not in reading)
        assert not missing, f"{edition} {chapter}: the chapter cites arXiv {missing}, the guide's reading list does not"


def test_timings_json_records_both_cpu_settings():
    data = json.loads((ROOT / "book" / "_data" / "timings.json").read_text(encoding="utf-8"))
    runs = data["runs"]
    assert {"this-cpu", "plain-cpu"} <= set(runs)
    plain = runs["plain-cpu"]["notebooks"]
    for name, entry in plain.items():
        # the plainer CPU is the Makefile's PLAIN_CPU: portable ATen kernels, one thread
        assert entry["machine"]["env"].get("ATEN_CPU_CAPABILITY") == "default", name
        assert entry["machine"]["env"].get("OMP_NUM_THREADS") == "1", name
        # a notebook's seconds are its cells' seconds added up (each cell rounded to 0.01 s)
        assert abs(entry["seconds"] - sum(c["seconds"] for c in entry["cells"])) <= 0.005 * len(entry["cells"]) + 0.01
        assert name in runs["this-cpu"]["notebooks"], f"{name}: measured on the plain CPU only"
