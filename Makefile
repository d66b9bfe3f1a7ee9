# Two entry points do all set-up on a fresh machine (see README):
#   make book   build the course book from the committed chapters and the shipped model
#   make test   every test: lint, package, notebooks (nbval), editions in lockstep, book + teaching kit, browser
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A plain `torch` resolves to a multi-GB CUDA build on Linux; 2.13.0 is the CPU wheel on the
# course machines. Elsewhere, e.g. `make test TORCH_SPEC=torch` keeps whatever you prefer.
TORCH_SPEC ?= torch==2.13.0
# Seconds a chapter notebook is meant to take on a 2-core CPU (the goal each chapter is written to;
# the time table flags a notebook over it). A shared machine can be several times slower for a
# while, so a run fails only above NB_CEILING budgets.
NB_BUDGET ?= 60
NB_CEILING ?= 3
# `make test BROWSER_CHECK=skip` skips the headless-browser check on purpose (CI never does).
BROWSER_CHECK ?= run
# The course's tools, one entry point (coursebook/, installed by setup): `coursebook --help`.
COURSEBOOK := $(VENV)/bin/coursebook

.PHONY: setup test lint test-package book clean notebooks check-notebooks check-notebooks-plain-cpu sweep-heads timings \
	browser-check screenshots course-model colab-sim

setup: $(VENV)/.installed

# Two distributions, one per house: minigpt (the library, with the extras the tests, the chapters'
# plots and the linters need) and coursebook (the book's tools), both editable.
$(VENV)/.installed: pyproject.toml coursebook/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,hf,course,lint]"
	$(PY) -m pip install -q -e ./coursebook
	touch $@

# In this order: lint, package tests, notebooks (stamps, zh/en parity, generated pages, prose numbers,
# quizzes, the student edition current, nbval on this CPU and on a plainer one), the student edition
# run untouched, book build, browser.
test: lint test-package check-notebooks check-student check-notebooks-plain-cpu browser-check

# The library's tests run with the course's extras and the book's packages hidden, as if not
# installed (tests/library/no_course_extras.py; nbval, a pytest plugin, needs them, so it is off):
# minigpt must work without them. Then the course's tests; tests/course/test_kit.py prints one
# chapter's handouts, so Chromium and poppler come first.
test-package: setup
	$(PY) -m pytest -p tests.library.no_course_extras -p no:nbval -n 2 --dist loadscope tests/library
ifneq ($(BROWSER_CHECK),skip)
	$(COURSEBOOK) ensure-chromium
endif
	$(COURSEBOOK) ensure-bubblewrap
	$(PY) -m pytest -n 2 --dist loadscope tests/course

# ruff's rules and format over the code and the notebooks, pyright (basic) over the package.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check minigpt coursebook tests benchmarks
	$(VENV)/bin/pyright

book: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# Stamp badges and Colab cells, then re-execute every chapter notebook (both editions) in place
# and print a time table.
notebooks: setup
	$(COURSEBOOK) stamp
	$(COURSEBOOK) execute --budget $(NB_BUDGET) --ceiling $(NB_CEILING)

# Every check without a kernel (stamps agree with _config.yml; zh and en in lockstep; the generated
# pages current; every number in the prose printed, chosen in code, cited or reviewed in
# book/_data/prose_numbers_allow.txt; the quizzes valid), then nbval strict on en (the parity check
# makes the zh run redundant).
check-notebooks: setup
	$(COURSEBOOK) check
	$(COURSEBOOK) nbval --budget $(NB_BUDGET) --ceiling $(NB_CEILING) notebooks/en

# The same chapters again on a plainer CPU (ATen's portable kernels, oneDNN and MKL limited to AVX2,
# one thread): a printed value that depends on the CPU's kernels, the thread count or the order of
# float additions fails here.
check-notebooks-plain-cpu: setup
	$(COURSEBOOK) nbval --plain-cpu --budget $(NB_BUDGET) --ceiling $(NB_CEILING) notebooks/en

# The student edition (student/{en,zh}, written by `coursebook student`; `coursebook check` fails when
# it is stale) run as a learner first opens it: every notebook top to bottom in a fresh kernel, in the
# grader's sandbox, untouched; nothing may raise and every check must say "not attempted".
.PHONY: student check-student grade
student: setup
	$(COURSEBOOK) student

check-student: setup
	$(COURSEBOOK) ensure-bubblewrap
	$(COURSEBOOK) check-student student/en student/zh

# Grade a folder of submitted student notebooks (instructor guide, "Assignments"): each runs in a
# sandbox (bubblewrap: read-only files, private /tmp, no network) with a time, memory and output
# limit; writes $(GRADES)/scores.csv and $(GRADES)/feedback/<learner>.md.
GRADES ?= _build/grades
grade: setup
ifndef SUBMISSIONS
	$(error make grade needs SUBMISSIONS=<folder of submitted notebooks>, e.g. make grade SUBMISSIONS=~/hw5)
endif
	$(COURSEBOOK) ensure-bubblewrap
	$(COURSEBOOK) grade "$(SUBMISSIONS)" --out "$(GRADES)"

# The instructor guide's time tables, measured: nbval over the en chapters (the zh edition runs the
# same code cells) on this CPU and on the plainer one, niced, each cell's seconds merged into
# book/_data/timings.json, then rendered into the guide's pages. Run it when the machine is otherwise
# idle; `make timings TIMINGS_NB=notebooks/en/09_scale.ipynb` re-measures one chapter and keeps the
# others. A failing or slow notebook does not stop the measurement: the JSON records whether nbval
# passed, and the guide says so.
TIMINGS_JSON ?= book/_data/timings.json
TIMINGS_NB ?= notebooks/en
timings: setup
	$(COURSEBOOK) timings --budget $(NB_BUDGET) --ceiling $(NB_CEILING) --times-json $(TIMINGS_JSON) $(TIMINGS_NB)

# The site with its teaching kit (slides, quiz pages, handouts), opened page by page.
browser-check: setup
ifeq ($(BROWSER_CHECK),skip)
	@echo "*** browser check SKIPPED (BROWSER_CHECK=skip): the built site was not opened in a browser ***"
else
	$(MAKE) kit
	$(COURSEBOOK) browser-check --kit require
endif

# The teaching kit (`coursebook kit --help` lists every output), both editions, into _build/html/kit/
# so the site serves it (listed by the book's kit page): reveal.js slides, quiz pages, worksheet and
# answer-key PDFs of every chapter, and a PDF of each edition. The PDFs are printed by the system
# Chromium; poppler-utils' pdftotext and pdffonts check that no solution is in a worksheet and that
# every zh PDF embeds a CJK font. 5-6 min measured on the shared 2-core course machine for 9 chapters
# x 2 editions (after the book). `make kit-check` then opens the whole site with the kit in the browser
# check: every slide deck stepped and measured at 1280x720, one answer clicked per quiz.
.PHONY: kit kit-check
kit: book
	$(COURSEBOOK) ensure-chromium
	$(COURSEBOOK) kit --html _build/html

kit-check: kit
	$(COURSEBOOK) browser-check --kit require

# Full-page PNGs of every page, for humans: _build/screenshots/
screenshots: book
	$(COURSEBOOK) ensure-chromium
	$(COURSEBOOK) screenshots --out _build/screenshots

# The shipped course model, by one recorded command: train on the generated course corpus
# (about 25 min on a 2-core CPU with bf16 units; --dtype auto picks fp32 on a CPU without them,
# see benchmarks/README.md for what that costs), export in bf16 into the package, measure the held-out probes
# and write the model card. The run folder keeps the checkpoints and metrics.
COURSE_RUN ?= runs/course
course-model: setup
	$(PY) -m minigpt train --data course --preset course --steps 3000 --batch-size 16 --block-size 256 \
		--lr 3e-3 --warmup-steps 100 --dtype auto --compile --eval-every 250 --save-every 500 \
		--out $(COURSE_RUN) --overwrite
	$(PY) -m minigpt export --checkpoint $(COURSE_RUN) --out minigpt/assets/course-model --dtype bf16
	$(PY) -m minigpt card --model minigpt/assets/course-model --run $(COURSE_RUN) \
		--build-command "make course-model"

clean:
	rm -rf _build .pytest_cache

# The Colab path, simulated (`coursebook colab-sim`): minigpt from a git URL of this clone's HEAD in
# two fresh venvs on Python 3.12, one at every lower bound of pyproject.toml (library tests, chapters
# run) and one at the newest torch (chapters' outputs compared), chapters run from outside the
# repository. CI runs it after `make test`; COLAB_RUNS=floor or newest runs one.
colab-sim: setup
	PYTHON=$(PYTHON) $(COURSEBOOK) colab-sim

# Chapter 5's sweep: 1/2/4/8/16 heads at the same width, then 8 query heads over 2 and 1 KV
# heads (GQA, MQA); 21 min measured on a shared (loaded) 2-core CPU. Writes the JSON chapter 5 plots.
sweep-heads: setup
	nice -n 10 $(COURSEBOOK) sweep heads --out minigpt/assets/experiments/heads_sweep.json

# Chapter 5's seeds: 8/8, 8/2 and 8/1 heads (MHA, GQA, MQA) with the heads sweep's recipe, three
# seeds each at 150 and 600 steps, one thread: 12 min measured on a quiet 2-core CPU. Writes the
# JSON chapter 5's bar chart reads.
.PHONY: sweep-gqa
sweep-gqa: setup
	OMP_NUM_THREADS=1 nice -n 10 $(COURSEBOOK) sweep gqa --out minigpt/assets/experiments/gqa_seeds.json

# Chapter 9's sweep: six sizes (0.14M to 5.2M parameters) at 256 steps of 8 x 128 tokens, three of
# them also at 1/4 and 4x that budget, seeds, and the two largest at a lower learning rate: 19 runs,
# 27 min measured on a shared (loaded) 2-core CPU with one thread. Writes the JSON chapter 9 plots;
# add --resume to keep the runs an earlier invocation recorded and train only the missing ones.
.PHONY: sweep-scale
sweep-scale: setup
	nice -n 10 $(COURSEBOOK) sweep scale --out minigpt/assets/experiments/scale_sweep.json

# Chapter 7's sweep: learning rates, schedules (cosine, WSD, constant) and clipping, three seeds
# each, a 0.35M-parameter model; 26 min measured on a shared (loaded) 2-core CPU with one thread.
# Chapter 6's: RoPE, ALiBi and NoPE trained alike and read past their window, three seeds; 29 min.
# Chapter 9's probe: the two largest sizes with their matrices at lower learning rates; 21 min.
.PHONY: sweep-training sweep-positions sweep-scale-lr
sweep-training: setup
	OMP_NUM_THREADS=1 nice -n 10 $(COURSEBOOK) sweep training --out minigpt/assets/experiments/training_sweep.json
sweep-positions: setup
	OMP_NUM_THREADS=1 nice -n 10 $(COURSEBOOK) sweep positions --out minigpt/assets/experiments/positions_sweep.json
sweep-scale-lr: setup
	OMP_NUM_THREADS=1 nice -n 10 $(COURSEBOOK) sweep scale_lr --out minigpt/assets/experiments/scale_lr_probe.json
