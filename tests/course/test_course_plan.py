"""One course plan (book/_data/course_plan.yml), the same in every page that states it: the prefaces,
the instructor guides' week tables and the kit pages, in both editions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from coursebook.kit import plan

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb"))
PLAN = yaml.safe_load((ROOT / "book" / "_data" / "course_plan.yml").read_text(encoding="utf-8"))


def block(edition: str, page: str, key: str) -> str:
    text = (ROOT / "book" / edition / page).read_text(encoding="utf-8")
    m = re.search(rf"<!-- plan:{key} -->\n(.*?)<!-- /plan -->", text, re.S)
    assert m, f"book/{edition}/{page} has no plan:{key} block"
    return m.group(1)


def test_the_plan_has_every_chapter_once_in_order():
    assert [w["chapter"] for w in PLAN["weeks"] if "chapter" in w] == CHAPTERS


def test_the_pages_are_what_the_plan_gives():
    stale = [o.path for o in plan.outputs() if o.stale()]
    assert stale == [], f"run `coursebook render plan`: {stale}"


def test_the_guides_and_the_kit_pages_have_a_row_per_week():
    n = len(PLAN["weeks"])
    for ed in ("en", "zh"):
        guide = [r for r in block(ed, "instructor_guide.md", "weeks").splitlines() if re.match(r"\| \d+ \|", r)]
        kit = [r for r in block(ed, "kit.md", "kit").splitlines() if re.match(r"\| \d+ \|", r)]
        assert len(guide) == len(kit) == n
        for week, row_g, row_k in zip(PLAN["weeks"], guide, kit, strict=True):
            if "chapter" in week:
                assert f"(instructor/{week['chapter']}.md)" in row_g
                assert f"kit/slides/{ed}/{week['chapter']}.html" in row_k
                assert f"kit/handouts/{ed}/{week['chapter']}-worksheet.pdf" in row_k
            else:
                assert "(instructor/project.md)" in row_g and "(instructor/project.md)" in row_k


def test_the_prefaces_state_the_length_the_plan_gives():
    # 9 chapters, 11 weeks: the numbers of this course, spelled as the prefaces spell them
    assert (len(CHAPTERS), len(PLAN["weeks"])) == (9, 11)
    assert "eleven weeks" in block("en", "preface.md", "summary")
    assert "nine weeks" in block("en", "preface.md", "summary")
    assert "十一周" in block("zh", "preface.md", "summary") and "前九周" in block("zh", "preface.md", "summary")
    for ed, stale in (("en", ("ten weeks", "eight weeks")), ("zh", ("十周", "前八周"))):
        for page in ("preface.md", "instructor_guide.md", "kit.md"):
            text = (ROOT / "book" / ed / page).read_text(encoding="utf-8")
            assert not any(s in text for s in stale), f"book/{ed}/{page} still says {stale}"


def test_a_plan_that_misses_a_chapter_is_refused(tmp_path):
    broken = dict(PLAN, weeks=[w for w in PLAN["weeks"] if w.get("chapter") != CHAPTERS[3]])
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SystemExit, match="once each, in order"):
        plan.load(path)
