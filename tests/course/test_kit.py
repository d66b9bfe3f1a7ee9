"""The teaching kit (coursebook.kit, coursebook.quizzes): quiz checks, the chapter pages' kit links,
and one chapter's kit built end to end in both editions (slides, worksheet, answer key, course.pdf:
page counts, bookmarks, metadata). The slide sources: test_slides.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from coursebook import quizzes
from coursebook.kit import build

ROOT = Path(__file__).resolve().parents[2]

CHAPTER = "01_parameters"


def mc(correct=(True, False), kind="multiple_choice"):
    return {
        "question": "Which?",
        "type": kind,
        "answers": [{"answer": f"a{i}", "correct": c, "feedback": f"because {i}"} for i, c in enumerate(correct)],
    }


def test_every_quiz_file_is_valid_and_the_editions_agree():
    assert quizzes.main([]) == 0


def test_validate_names_each_problem():
    assert quizzes.validate([mc()], "q.json") == []
    assert "no answer has" in " ".join(quizzes.validate([mc((False, False))], "q.json"))
    assert "use many_choice" in " ".join(quizzes.validate([mc((True, True))], "q.json"))
    assert quizzes.validate([mc((True, True), "many_choice")], "q.json") == []
    bad_type = dict(mc(), type="essay")
    assert "must be one of" in " ".join(quizzes.validate([bad_type], "q.json"))
    no_feedback = mc()
    no_feedback["answers"][0]["feedback"] = ""
    assert "'feedback' must explain" in " ".join(quizzes.validate([no_feedback], "q.json"))
    numeric = {
        "question": "How many?",
        "type": "numeric",
        "answers": [
            {"type": "value", "value": 2, "correct": True, "feedback": "yes"},
            {"type": "range", "range": [5, 1], "correct": False, "feedback": "no"},
        ],
    }
    assert "low <= high" in " ".join(quizzes.validate([numeric], "q.json"))
    assert "matches no heading" in " ".join(quizzes.validate([dict(mc(), cell="9. Nowhere")], "q.json", ["1. Here"]))
    assert quizzes.validate([dict(mc(), cell="1.")], "q.json", ["1. Here"]) == []


def test_parity_compares_the_answers_not_the_words():
    en, zh = [mc()], [mc()]
    zh[0]["question"], zh[0]["answers"][0]["answer"] = "哪个？", "甲"
    assert quizzes.parity(zh, en, "x") == []
    assert quizzes.parity([mc((False, True))], en, "x")
    assert quizzes.parity([mc(), mc()], en, "x")
    assert quizzes.parity(None, en, "x")


def test_rendered_quiz_is_jupyterquiz_with_our_keys_removed():
    page = quizzes.render([dict(mc(), cell="1.", question="Is `x` </script> here?")], "qtest", edition="zh")
    assert '<div id="qtest"' in page and "show_questions(questionsqtest" in page
    assert "</script> here" not in page.split("<script>", 1)[1].rsplit("</script>", 1)[0]  # escaped inside
    assert '"cell": "1."' not in page and "<code>x<\\/code>" in page  # markdown rendered, "</" escaped


def have_pdf_tools() -> str | None:
    from coursebook.browser.chromium import find_chromium

    missing = [t for t in ("pdftotext", "pdffonts") if not shutil.which(t)]
    if missing:
        return f"{', '.join(missing)} missing (apt-get install poppler-utils)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright missing (pip install -e ./coursebook)"
    if not find_chromium():
        return "no Chromium (coursebook ensure-chromium)"
    return None


@pytest.mark.skipif(have_pdf_tools() is not None, reason=str(have_pdf_tools()))
def test_one_chapter_kit_end_to_end(tmp_path):
    """Slides, worksheet, answer key and course.pdf of one chapter, both editions: worksheets of 2 to
    6 pages without solutions or folded answers, answer keys with them, course.pdf with a bookmark for
    the chapter and each of its sections, and the book's title and author from _config.yml."""
    from pypdf import PdfReader

    out = tmp_path / "kit"
    assert build.main(["--html", str(tmp_path), "--out", str(out), "--chapters", CHAPTER]) == 0
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    for ed in ("zh", "en"):
        slides = (out / "slides" / ed / f"{CHAPTER}.html").read_text(encoding="utf-8")
        # reveal.js and its speaker-notes plugin come from the kit's own copy, nothing from another host
        assert 'src="../../vendor/reveal.js/reveal.js"' in slides and "plugin/notes.js" in slides
        assert not re.search(r'(src|href)="https?://(?!colab\.research\.google\.com)', slides)
        assert (out / "vendor" / "reveal.js" / "plugin" / "notes.js").exists()
        assert slides.count('<aside class="notes">') >= 12
        nb = nbformat.read(ROOT / "notebooks" / ed / f"{CHAPTER}.ipynb", as_version=4)
        solution = next(c for c in nb.cells if "solution" in c.metadata.get("tags", []) and c.cell_type == "code")
        # a line of the first code solution that the chapter shows nowhere else
        shown = "\n".join(c.source for c in nb.cells if "solution" not in c.metadata.get("tags", []))
        line = next(
            x.strip()
            for x in solution.source.splitlines()
            if len(x.strip()) > 15 and not x.strip().startswith("#") and x.strip() not in shown
        )
        assert line not in slides
        hdir = out / "handouts" / ed
        text = {kind: pdftotext(hdir / f"{CHAPTER}-{kind}.pdf") for kind in ("worksheet", "answers")}
        text["course"] = pdftotext(hdir / "course.pdf")
        squash = re.sub(r"[\s\-]+", "", line)
        assert squash not in re.sub(r"[\s\-]+", "", text["worksheet"])
        assert squash not in re.sub(r"[\s\-]+", "", text["course"])
        assert squash in re.sub(r"[\s\-]+", "", text["answers"])
        # a folded answer: in the answer key, not on the worksheet nor in the printed course
        folded = next(
            c.source for c in nb.cells if "<details>" in c.source and "solution" not in c.metadata.get("tags", [])
        )
        answer = re.search(r"</summary>\s*\n\s*\n(.+)", folded).group(1).strip()[:40]
        answer = re.sub(r"[\s\-*`_]+", "", answer)
        assert answer in re.sub(r"[\s\-]+", "", text["answers"])
        assert answer not in re.sub(r"[\s\-]+", "", text["worksheet"])
        assert answer not in re.sub(r"[\s\-]+", "", text["course"])
        title = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
        assert title.split("·")[0].strip() in text["worksheet"]
        worksheet_pages = len(PdfReader(hdir / f"{CHAPTER}-worksheet.pdf").pages)
        assert 2 <= worksheet_pages <= 5, f"{ed}: the worksheet prints on {worksheet_pages} pages"
        course = PdfReader(hdir / "course.pdf")
        assert course.metadata["/Author"] == config["author"]
        assert config["title"] in course.metadata["/Title"]
        # bookmark titles are compared without spaces: a heading that wraps reads its lines run together
        top = [re.sub(r"\s+", "", i.title) for i in course.outline if not isinstance(i, list)]
        assert top == [{"en": "Contents", "zh": "目录"}[ed], re.sub(r"\s+", "", title)]
        sections = [re.sub(r"\s+", "", i.title) for i in course.outline[-1] if not isinstance(i, list)]
        want = [m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^## (.+)$", c.source, re.M)]
        assert sections == [re.sub(r"[\s`]+", "", w) for w in want]
        assert len(course.pages) > 3
    assert "参数" in pdftotext(out / "handouts" / "zh" / f"{CHAPTER}-worksheet.pdf")  # text, not boxes
    fonts = subprocess.run(
        ["pdffonts", str(out / "handouts" / "zh" / f"{CHAPTER}-worksheet.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"WenQuanYi|NotoSansCJK|SourceHan", fonts), fonts


def pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_chapter_page_gets_kit_links_under_the_badge_and_the_quiz_before_the_exercises():
    from types import SimpleNamespace

    from docutils import nodes
    from docutils.core import publish_doctree

    from coursebook.sphinx import kit as course_kit

    rst = """Title
=====

|badge| and the twin link

.. |badge| image:: https://colab.research.google.com/assets/colab-badge.svg

1. One
------

Text.

Exercises
---------

Do it.
"""
    # as Sphinx parses a page: the title is a section (no docutils title promotion)
    doctree = publish_doctree(rst, settings_overrides={"report_level": 5, "doctitle_xform": False})
    deps = []
    app = SimpleNamespace(env=SimpleNamespace(docname=f"notebooks/en/{CHAPTER}", note_dependency=deps.append))
    course_kit._add_kit(app, doctree)
    top = doctree.next_node(nodes.section)
    raws = [n for n in doctree.findall(nodes.raw) if "kit-links" in n.astext()]
    assert len(raws) == 1 and f"kit/slides/en/{CHAPTER}.html" in raws[0].astext()
    # for learners: the kit's page, slides, quiz and worksheet; the answer key only on instructor pages
    assert "book/en/kit.html" in raws[0].astext() and f"{CHAPTER}-worksheet.pdf" in raws[0].astext()
    assert "answers.pdf" not in raws[0].astext()
    para = next(p for p in doctree.findall(nodes.paragraph) if p.next_node(nodes.image) is not None)
    assert para.parent.index(raws[0]) == para.parent.index(para) + 1  # right under the stamped line
    titles = [s.children[0].astext() for s in top.findall(nodes.section) if s is not top]
    assert titles == ["1. One", "Quiz", "Exercises"]
    quiz = next(s for s in top.findall(nodes.section) if "chapter-quiz" in s["ids"])
    assert "show_questions(" in quiz.astext()
    assert deps == [str(ROOT / "kit" / "quizzes" / "en" / f"{CHAPTER}.json")]
