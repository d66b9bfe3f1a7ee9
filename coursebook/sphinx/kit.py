"""The teaching kit in the book: a Sphinx extension, loaded by name through _config.yml's
sphinx.extra_extensions (coursebook.sphinx.kit).

On every chapter page (notebooks/<edition>/<name>):
1. Under the stamped line (Colab badge and twin link), one line of links for learners: the kit's
   page of the edition (book/<edition>/kit.md), the chapter's slides, its quiz (the section
   below) and its worksheet (PDF). No answer key: that is linked from the instructor guide's
   chapter pages only. `make kit` (`coursebook kit`) builds the slides and the worksheet into
   <site>/kit/; a plain `make book` leaves those links dangling, the browser check follows them
   when the kit is there.
2. The chapter's quiz, from kit/quizzes/<edition>/<name>.json, as a section "Quiz" / "小测验"
   before the exercises: jupyterquiz's HTML and JavaScript, so it works in the online book with no
   kernel. A quiz file that is not valid fails the build with a warning that names the problem
   (coursebook.quizzes checks it). A chapter without a quiz file gets no section and no quiz link.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util import logging

from .. import quizzes
from ..cells import EXERCISES_TITLES
from ..kit.words import WORDS

logger = logging.getLogger(__name__)


def _chapter(docname: str) -> tuple[str, str] | None:
    parts = docname.split("/")
    if len(parts) == 3 and parts[0] == "notebooks" and parts[1] in WORDS:
        return parts[1], parts[2]
    return None


def _kit_line(edition: str, name: str, has_quiz: bool) -> nodes.raw:
    w = WORDS[edition]
    kit = "../../kit"
    links = [f'<a class="kit-slides" href="{kit}/slides/{edition}/{name}.html">{w["slides"]}</a>']
    if has_quiz:
        links.append(f'<a class="kit-quiz-link" href="#chapter-quiz">{w["quiz"]}</a>')
    links.append(f'<a class="kit-worksheet" href="{kit}/handouts/{edition}/{name}-worksheet.pdf">{w["worksheet"]}</a>')
    index = f'<a class="kit-index" href="../../book/{edition}/kit.html">{w["kit"]}</a>'
    text = f'<p class="kit-links">{index}: {" · ".join(links)}</p>'
    return nodes.raw("", text, format="html")


def _add_kit(app, doctree):
    chapter = _chapter(app.env.docname)
    if chapter is None:
        return
    edition, name = chapter
    path = quizzes.quiz_path(edition, name)
    app.env.note_dependency(str(path))
    quiz = None
    if path.exists():
        try:
            quiz = quizzes.load(edition, name)
            problems = quizzes.validate(quiz, f"kit/quizzes/{edition}/{name}.json")
        except ValueError as exc:
            problems = [str(exc)]
        if problems:
            for problem in problems:
                logger.warning(f"quiz: {problem}", location=app.env.docname)
            quiz = None

    badge = next((img for img in doctree.findall(nodes.image) if "colab-badge" in img.get("uri", "")), None)
    para = badge.parent if badge is not None else None
    while para is not None and not isinstance(para, nodes.paragraph):
        para = para.parent
    if para is not None:
        para.parent.insert(para.parent.index(para) + 1, _kit_line(edition, name, quiz is not None))

    if quiz is None:
        return
    top = doctree.next_node(nodes.section)
    if top is None:
        return
    section = nodes.section(ids=["chapter-quiz"], names=["chapter-quiz"], classes=["kit-quiz-section"])
    section += nodes.title("", WORDS[edition]["quiz"])
    section += nodes.raw("", quizzes.render(quiz, "q" + name.replace("-", "_"), edition=edition), format="html")
    exercises = next(
        (
            s
            for s in top.children
            if isinstance(s, nodes.section) and s.children and s.children[0].astext().strip() in EXERCISES_TITLES
        ),
        None,
    )
    if exercises is not None:
        top.insert(top.index(exercises), section)
    else:
        top += section


def setup(app):
    # Before the table-of-contents collector (priority 500), so the quiz section is in the page's TOC.
    app.connect("doctree-read", _add_kit, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
