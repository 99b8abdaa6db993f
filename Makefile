# Course notebooks: `make run` executes every notebook, `make test` runs the whole test suite.
# Both create .venv (Python 3.11) and install the pinned dependencies first when needed
# (again only after pyproject.toml changes: .venv/.installed marks a finished install).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODE   ?= lecture
NB     ?=
FILE   ?=
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: setup run test test-fast lint lab data homework check-homework bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# make run [MODE=lecture|full|smoke] [NB="03 07"]: executed notebooks, HTML and results.md in build/
run: setup
	$(BIN)/python -m helper.runner --mode $(MODE) --out build $(NB)

lint: setup
	$(BIN)/ruff check helper tests notebooks

# Everything CI checks, with one summary line: unit tests, papermill smoke runs of every notebook,
# homework round trips, the JupyterLab browser test, and nbval on the outputs committed in notebooks/.
test: setup lint
	$(PYTEST) tests notebooks --nbval-lax --nbval-current-env --durations=15

# The quick part while editing helper/: no notebook is executed and no browser is started.
test-fast: setup
	$(PYTEST) tests -m "not notebook and not browser"

lab: setup
	$(BIN)/jupyter lab notebooks

data: setup
	$(BIN)/python -m helper.data --download mnist cifar10 --root data

# make homework [NB=07]: student copies in homework/; make check-homework FILE=homework/07_x.ipynb
homework: setup
	$(BIN)/python -m helper.homework make $(NB)

check-homework: setup
	$(BIN)/python -m helper.homework check $(FILE)

bench: setup
	$(BIN)/python -m helper.bench

clean:
	rm -rf build homework .pytest_cache
