# The two commands of the README's quick start. Each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The solver alone: no PyTorch needed.
$(VENV)/.core: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

# Tests use PyTorch as an oracle. Install the CPU build explicitly first: a looser pin
# would pull a multi-GB CUDA build.
$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[train,test]'
	touch $@

demo: $(VENV)/.core
	$(BIN)/dlsolve solve problems/ --format md -o keys/
	@echo "Answer keys written to keys/ (one per problem file)."

test: $(VENV)/.test
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/library.py
	$(BIN)/python benchmarks/network.py
	$(BIN)/python benchmarks/batch.py
	$(BIN)/python benchmarks/scaling.py

clean:
	rm -rf $(VENV) keys
