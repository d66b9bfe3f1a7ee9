"""coursebook: the course's own tools, as d2lbook is to d2l. It builds, checks and publishes the
book; `minigpt` is the library the chapters import, and never imports this package.

One entry point, `coursebook <command>` (or `python -m coursebook <command>`); cli.py lists the
commands and `coursebook --help` prints them. One idea per module:

    cli.py            the entry point: every command, where it lives, its one-line help
    book.py           where the book's pieces are; the repository URL from _config.yml
    cells.py          what cells mean to the tools: tags, solutions, titles, sections, streams
    generated.py      generated files: write them, or verify them with --check (one mechanism)
    stamp.py          `stamp`: each chapter's title line and Colab install cell
    execute.py        `execute`: re-run chapters in place (make notebooks)
    patient_client.py nbclient's client, going on when a cell's reply never comes (execute, grade)
    nbval_runs.py     `nbval`, `timings`: nbval on this CPU and a plainer one, timed for the guide
    nbval_times.py    the pytest plugin behind them: time table, budget, ceiling, timings JSON
    check.py          `check`: every check that needs no kernel, in one run
    parity.py         `parity`: zh and en in lockstep
    prose_numbers.py  `prose-numbers`: every number in the prose is computed, cited or reviewed
    prose.py          the course's prose as pieces with a place, for the checks that read words
    zh_style.py       `zh-style`: the zh style sheet (terms, citations, ranges, 倍, line breaks)
    authoring_words.py `authoring-words`: no seeds, ids, tools or build words on learner pages
    quizzes.py        `quizzes`: the quiz files (read, check, render with jupyterquiz)
    render/           `render`: the instructor guide's tables, the model-card pages
    kit/              `kit`: slides, quiz pages, worksheets, answer keys, PDFs
    handout.py        `handout`: the chapter notebooks without their solutions
    student.py        `student`: the student edition (student/) and the exercises' solutions.json
    grade/            `grade`, `check-student`, `ensure-bubblewrap`: submissions run in a sandbox, scored
    browser/          `browser-check`: the built site and its kit in headless Chromium
    screenshots.py    `screenshots`: a PNG of every page
    sweeps/           `sweep heads`, `sweep scale`: the training sweeps chapters 5 and 9 plot
    shell.py          `ensure-chromium`, `colab-sim`: the two shell scripts beside it
    sphinx/           the book's Sphinx extensions (_config.yml's sphinx.extra_extensions)

Installed from the repository as its own distribution (coursebook/pyproject.toml), editable:
`pip install -e ./coursebook` (make setup does it). It works on the course repository it sits in.
"""
