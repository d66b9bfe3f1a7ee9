# Two entry points do all set-up on a fresh machine (see README):
#   make book   build the course book from the committed chapters and the shipped model
#   make test   every test: package, notebooks (nbval), editions in lockstep, book, browser
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A plain `torch` resolves to a multi-GB CUDA build on Linux; 2.13.0 is the CPU wheel on the
# course machines. Elsewhere, e.g. `make test TORCH_SPEC=torch` keeps whatever you prefer.
TORCH_SPEC ?= torch==2.13.0
# Seconds a chapter notebook may take, in `make notebooks` and under nbval (CI machine: 2 CPU cores).
NB_BUDGET ?= 60
# `make test BROWSER_CHECK=skip` skips the headless-browser check on purpose (CI never does).
BROWSER_CHECK ?= run
NBVAL := PYTHONHASHSEED=0 PYTHONPATH=scripts $(PY) -m pytest -p nbval_times --nbval --nbval-current-env \
	--nbval-sanitize-with nbval_sanitize.cfg --notebook-budget $(NB_BUDGET)

.PHONY: setup test test-package book clean notebooks check-notebooks browser-check screenshots

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,hf,book]"
	touch $@

# In this order: package tests, notebooks (stamps, zh/en parity, nbval), book build, browser.
test: test-package check-notebooks browser-check

test-package: setup
	$(PY) -m pytest -n 2 --dist loadscope tests

book: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

# Stamp badges and Colab cells, then re-execute every chapter notebook (both editions) in place
# and print a time table.
notebooks: setup
	$(PY) scripts/stamp_notebooks.py
	PYTHONHASHSEED=0 $(PY) scripts/execute_notebooks.py --budget $(NB_BUDGET)

# Badges and Colab cells agree with _config.yml; zh and en in lockstep; nbval strict on en
# (the parity check makes the zh run redundant).
check-notebooks: setup
	$(PY) scripts/stamp_notebooks.py --check
	$(PY) scripts/check_parity.py
	$(NBVAL) notebooks/en

browser-check: book
ifeq ($(BROWSER_CHECK),skip)
	@echo "*** browser check SKIPPED (BROWSER_CHECK=skip): the built site was not opened in a browser ***"
else
	scripts/ensure_chromium.sh
	$(PY) scripts/browser_check.py
endif

# Full-page PNGs of every page, for humans: _build/screenshots/
screenshots: book
	scripts/ensure_chromium.sh
	$(PY) scripts/screenshot_book.py --out _build/screenshots

clean:
	rm -rf _build .pytest_cache
