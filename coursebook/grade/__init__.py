"""The grader: run learners' notebooks safely and say what each exercise's check found.

    cli.py        `coursebook grade`: submissions in, scores.csv and feedback/<learner>.md out
    untouched.py  `coursebook check-student`: every student notebook, untouched, runs clean
    run.py        one notebook in the sandbox, its events collected into a `Run` (host side)
    runner.py     one notebook in a fresh kernel, its events written to a pipe (inside the sandbox)
    sandbox.py    bubblewrap: read-only file system, private /tmp, no network; limits; ensure-bubblewrap
    report.py     scores.csv and the feedback files

Why our own and not otter-grader or nbgrader: CONTRIBUTING, "Exercises, the student edition and
the grader".
"""
