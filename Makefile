# Two commands set everything up on a fresh machine:
#   make book   build the course site into _build/html (with a PDF and a zip of the notebooks)
#   make test   run every test: unit tests, nbval over every notebook, exercise checks, the site
#               built and checked in a real browser
# Both create .venv and install requirements.txt plus the course's `utils` package when needed.
#
# On Linux without a GPU, add TORCH_INDEX=https://download.pytorch.org/whl/cpu to the first
# command: PyTorch then comes from its CPU-only index (about 200 MB) instead of PyPI's CUDA build
# (several GB). Nothing else changes.

PYTHON      ?= python3
VENV        := .venv
BIN         := $(abspath $(VENV))/bin
STAMP       := $(VENV)/.installed
JOBS        ?= 2
TORCH_INDEX ?=
SITE        := _build/html

# Kernels started by nbval, nbclient and jupyter-book run the venv's python, fully offline.
export PATH := $(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test site check-site serve lab sync exercises bench lint install clean distclean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "The course needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)."; \
		echo "Run e.g. 'make $(MAKECMDGOALS) PYTHON=python3.11'."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
ifneq ($(TORCH_INDEX),)
	$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) \
		"$$(grep -E '^torch==' requirements.txt)"
endif
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

book: $(STAMP) site check-site
	@echo "The course site is ready: open file://$(CURDIR)/$(SITE)/index.html (or run 'make serve')."

# nbval proves every chapter and solutions notebook (strict checks), tests/ proves the exercise
# notebooks and utils; then the site is built (execution is cached) and checked in a browser.
test: $(STAMP)
	AUTOCHECK_STRICT=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		--nbval-lax --nbval-current-env --ignore=tests/site tests chapters solutions
	$(MAKE) site check-site

# The HTML site, then the whole book as one page printed to PDF, and a zip of the notebooks.
site: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going
	$(BIN)/python -m book.downloads --site $(SITE) --single-page _build/singlehtml

check-site: $(STAMP)
	REQUIRE_SITE=1 SITE_HTML=$(SITE) $(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) tests/site

serve:
	@test -f $(SITE)/index.html || { echo "No site in $(SITE) yet: run 'make book' first."; exit 1; }
	@echo "Serving $(SITE) at http://localhost:8000 (Ctrl-C to stop)"
	$(BIN)/python -m http.server --directory $(SITE) 8000

# JupyterLab on the course, to read the chapters and do the exercises locally.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR)

# Write _config.yml's repository, release and site address into every copy (setup cell of each
# notebook, requirements-colab.txt, docs), then regenerate exercises/ from solutions/.
sync: $(STAMP)
	$(BIN)/python -m book.sync
	$(BIN)/python -m utils.autocheck.build

# Regenerate exercises/*.ipynb from solutions/*.ipynb (single source).
exercises: $(STAMP)
	$(BIN)/python -m utils.autocheck.build

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_optim.py

# Lint and formatting, as checks: nothing is rewritten. Every check runs, so one run lists every
# problem. Notebooks' code cells are checked at 88 characters in a second pass (ruff has no
# per-file line length; see [tool.ruff] in pyproject.toml) and must be stored without outputs.
lint: $(STAMP)
	@notebooks="chapters/*.ipynb exercises/*.ipynb solutions/*.ipynb"; failed=0; \
	for check in "ruff check ." "ruff format --check --output-format concise ." \
		"ruff check --line-length 88 --select E501 $$notebooks" \
		"nbstripout --verify $$notebooks"; do \
		echo "$$check"; $(BIN)/$$check || failed=1; \
	done; exit $$failed

clean:
	rm -rf _build .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV)
