"""The teaching kit: slides, quiz pages, worksheets, answer keys and PDFs of every chapter.

`coursebook kit` (kit/build.py, whose docstring lists every output) makes them from the
committed notebooks and kit/quizzes, offline. One idea per module:

    build.py     the command: which chapters, what is written where, the checks' verdict
    words.py     the kit's words in both editions (shared with the book's kit links), fonts
    render.py    notebook cells to HTML (markdown and math, code, outputs)
    slides.py    a chapter's reveal.js slides, chosen by tags
    handouts.py  the printable worksheet, answer key and whole edition
    pages.py     a chapter's quiz page and the kit's index page
    pdf.py       printing with Chromium, and the checks on the printed text and fonts
"""
