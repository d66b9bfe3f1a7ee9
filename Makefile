# Two entry points do all set-up on a fresh machine (see README):
#   make book   build the course book from the committed chapters and the shipped model
#   make test   every test: package, notebooks (nbval), editions in lockstep, book, browser
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A plain `torch` resolves to a multi-GB CUDA build on Linux; 2.13.0 is the CPU wheel on the
# course machines. Elsewhere, e.g. `make test TORCH_SPEC=torch` keeps whatever you prefer.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup test test-package book clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,hf,book]"
	touch $@

test: test-package

test-package: setup
	$(PY) -m pytest -n 2 --dist loadscope tests

book: setup
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

clean:
	rm -rf _build .pytest_cache
