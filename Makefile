# The course's commands. `make course` runs every lesson; `make test` runs the tests.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    := build/course

.PHONY: course test lab notebooks lint clean help

help:
	@echo "make course     install, then run every lesson headless into $(OUT)/ (HTML + results.json)"
	@echo "make test       install with the dev extra (and Chromium), then unit tests, browser checks, nbval on both folders"
	@echo "make lab        open JupyterLab on the student notebooks"
	@echo "make notebooks  (authors) execute solutions/ in place and regenerate notebooks/"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[lab]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

course: $(VENV)/.installed
	$(PY) -m mmlearn.course run --out $(OUT)

test: $(VENV)/.installed-dev
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest

lab: $(VENV)/.installed
	$(VENV)/bin/jupyter lab notebooks/

notebooks: $(VENV)/.installed-dev
	MMLEARN_DEVICE=cpu $(PY) -m mmlearn.course execute $(NB)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check mmlearn tests benchmarks scripts

clean:
	rm -rf build
