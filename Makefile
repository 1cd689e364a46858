# Quick start: `make demo` renders a note offline; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NEURAL_STAMP := $(VENV)/.neural-stamp
# SadTalker's network modules (upstream's src/, repackaged; see tests/sadtalker_code.py). Its
# declared dependencies pin numpy 1.23 and pull gradio, gfpgan and basicsr: installed without them.
SADTALKER_CODE := sadtalker-z==0.1.6

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/govorun demo -o out/demo.mp4

# The tests run the neural engines too: torch's CPU build (the `neural` extra pins it exactly; a
# looser pin pulls the CUDA build) and SadTalker's networks. `make demo` needs none of it.
$(NEURAL_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,neural,sadtalker]'
	$(BIN)/python -m pip install --quiet --no-deps $(SADTALKER_CODE)
	touch $(NEURAL_STAMP)

# GOVORUN_NEURAL=required: a neural test whose packages are missing fails instead of skipping.
test: $(NEURAL_STAMP)
	GOVORUN_NEURAL=required $(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy inference core worker bot govorun bench testkit tests

bench: $(STAMP)
	$(BIN)/python -m govorun.benchmark

clean:
	rm -rf $(VENV) out
