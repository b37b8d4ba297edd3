# Two commands set everything up on a fresh machine:
#   make book   build the course site into _build/html
#   make test   run every test: unit tests, nbval over every notebook, exercise checks, site build
# Both create .venv and install requirements.txt plus the course's `utils` package when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

# Kernels started by nbval, nbclient and jupyter-book run the venv's python, fully offline.
export PATH := $(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test serve clean distclean bench exercises lint install

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	SITE_HTML=_build/html $(BIN)/python -m pytest -q -p no:cacheprovider tests/site
	@echo "The course site is ready: open file://$(CURDIR)/_build/html/index.html (or run 'make serve')."

# nbval proves every chapter and solutions notebook (strict checks), tests/ proves the exercise
# notebooks and utils; the site is then built without re-executing what nbval has just run.
test: $(STAMP)
	AUTOCHECK_STRICT=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		--nbval-lax --nbval-current-env --ignore=tests/site tests chapters solutions
	mkdir -p _build
	sed -e 's/^\( *execute_notebooks:\).*/\1 "off"/' _config.yml > _build/_config.noexec.yml
	$(BIN)/jupyter-book build . --config _build/_config.noexec.yml --path-output _build/noexec \
		-W -n --keep-going
	SITE_HTML=_build/noexec/_build/html $(BIN)/python -m pytest -q -p no:cacheprovider tests/site

serve:
	@echo "Serving _build/html at http://localhost:8000 (Ctrl-C to stop)"
	$(BIN)/python -m http.server --directory _build/html 8000

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_optim.py

# Regenerate exercises/*.ipynb from solutions/*.ipynb (single source).
exercises: $(STAMP)
	$(BIN)/python -m utils.autocheck.build

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/nbstripout --verify chapters/*.ipynb exercises/*.ipynb solutions/*.ipynb

clean:
	rm -rf _build .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV)
