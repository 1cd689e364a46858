# Quick start: `make demo` renders a note offline; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-neural lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/govorun demo -o out/demo.mp4

test: $(STAMP)
	$(BIN)/pytest -n 2 -q

# The Silero engine's tests and SadTalker's loader (on stand-in models) need torch (the `neural`
# extra); they are skipped without it.
test-neural: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,neural]'
	$(BIN)/pytest -q tests/test_tts_silero.py tests/test_sadtalker_upstream.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy inference core worker bot govorun bench testkit tests

bench: $(STAMP)
	$(BIN)/python -m govorun.benchmark

clean:
	rm -rf $(VENV) out
