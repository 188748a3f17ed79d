# Two commands set everything up on a fresh machine:
#   make book   build the HTML book (creates .venv, installs what it needs)
#   make test   run every test (unit, parity, gradient checks, fuzz smoke, exercises, grader, browser) and ruff
# Others: make test-fast (unit tests only, < 1 min), make lint (ruff), make test-deep (the fuzz suite's deep
# profile), make lab (chapters in Jupyter), make exercises (regenerate student notebooks), make bench.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed
BOOK_FLAGS ?= -n -W --keep-going
# chapters executed at once, longest first, before Sphinx reads them (book/_ext/parallel_execute.py), each kernel
# with cores/BOOK_JOBS BLAS threads; BOOK_JOBS=1: myst-nb executes them one after another, as it always did
BOOK_JOBS  ?= 2
PYTEST_ARGS ?=
MATHJAX    := book/_static/mathjax/tex-chtml.js

.PHONY: book test test-fast test-deep lint lab exercises bench chromium sandbox clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the CPU wheel first: a satisfied torch>=... then installs nothing more
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $@

$(MATHJAX): package.json
	npm install --no-audit --no-fund --silent
	rm -rf book/_static/mathjax && mkdir -p book/_static
	cp -r node_modules/mathjax/es5 book/_static/mathjax

# The execution cache keys on a chapter's code cells only. When the package changes, every figure may change:
# drop the cache and rebuild every page, so the book always shows the package as it is now.
PACKAGE_HASH = $(shell find lstm_course -name '*.py' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)

book: $(STAMP) $(MATHJAX)
	@flags="$(BOOK_FLAGS)"; \
	if [ "$$(cat _build/.package-hash 2>/dev/null)" != "$(PACKAGE_HASH)" ]; then \
	  echo "lstm_course changed since the last build: re-executing every chapter"; \
	  rm -rf _build/.jupyter_cache; flags="$$flags --all"; \
	fi; \
	BOOK_JOBS=$(BOOK_JOBS) $(VENV)/bin/jupyter-book build . $$flags
	@echo "$(PACKAGE_HASH)" > _build/.package-hash
	@echo "The book is at $(CURDIR)/_build/html/index.html"

chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The grader runs each submission under bwrap when it is installed (else with resource limits only).
sandbox:
	@command -v bwrap >/dev/null || { \
	  echo "installing Debian's bubblewrap for the grader's sandbox"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }

# LSTM_COURSE_REQUIRE_BOOK=1: the book was just built, so the browser tests fail instead of skipping without it.
test: book chromium sandbox lint
	LSTM_COURSE_REQUIRE_BOOK=1 $(VENV)/bin/pytest $(PYTEST_ARGS)

# The unit tests only, selected by path and marker: not the book (tests/book: its config and the browser over the
# built HTML), not the exercise notebooks (tests/exercises), not the fuzz suite (tests/fuzz, which make test runs)
# and nothing marked slow or browser. No book build.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q --ignore=tests/book --ignore=tests/exercises --ignore=tests/fuzz \
	  -m "not slow and not browser" $(PYTEST_ARGS)

# ruff is in the test extra, so $(STAMP) installs it.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the fuzz suite with many more random examples than the smoke profile make test runs (minutes, not seconds)
test-deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(VENV)/bin/pytest tests/fuzz $(PYTEST_ARGS)

# jupytext's server extension (enabled when jupytext is installed) serves book/*.md as notebooks; the settings
# override makes a double-click open them as notebooks in JupyterLab 4 (else: right-click, Open With, Jupytext
# Notebook). LAB_FLAGS passes options, e.g. make lab LAB_FLAGS="--no-browser --port 8899".
LAB_FLAGS     ?=
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

lab: $(STAMP)
	@$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PY) -m pip install --quiet "jupyterlab>=4,<5"
	@mkdir -p $(dir $(LAB_OVERRIDES))
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers":' \
	  '{"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_OVERRIDES)
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) .

exercises: $(STAMP)
	$(VENV)/bin/lstm-course build-exercises

bench: $(STAMP)
	$(PY) bench/bench_reference.py
	$(PY) bench/bench_nn.py

clean:
	rm -rf _build .jupyter_cache
