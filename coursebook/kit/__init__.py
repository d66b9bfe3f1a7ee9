"""The teaching kit: slides, quiz pages, worksheets, answer keys and PDFs of every chapter.

`coursebook kit` (kit/build.py, whose docstring lists every output) makes them from the slide
sources (kit/slides), the quizzes (kit/quizzes) and the committed notebooks, offline. One idea per
module:

    build.py      the command: which chapters, what is written where, the checks' verdict
    deck.py       a slide source read, and its figures and outputs found in the notebook by cell id
    slides.py     a deck as reveal.js slides at 1280x720, with speaker notes
    worksheet.py  the printed worksheet: summary, questions, exercise statements, the quiz
    handouts.py   the printed pages' frame, and the answer key
    course.py     the whole edition as one printed book: cover, contents, chapters
    pages.py      a chapter's quiz page, and the kit folder's index (to the kit's page in the book)
    plan.py       the course plan (book/_data/course_plan.yml) rendered into the book's pages
    render.py     notebook cells and Markdown to HTML (math, code, outputs)
    words.py      the kit's words in both editions (shared with the book's kit links), fonts
    pdf.py        printing with Chromium (bookmarks, metadata), and the checks on the PDFs
"""
