# Course notebooks: `make run` executes every notebook, `make test` runs the whole test suite.
# Both create .venv (Python 3.11) and install the pinned dependencies first when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODE   ?= lecture
NB     ?=
FILE   ?=

.PHONY: setup run test lint lab data homework check-homework bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

run: setup
	$(BIN)/python -m helper.runner --mode $(MODE) --out build $(NB)

lint: setup
	$(BIN)/ruff check helper tests notebooks

test: setup lint
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

lab: setup
	$(BIN)/jupyter lab notebooks

data: setup
	$(BIN)/python -m helper.data --download mnist cifar10 --root data

homework: setup
	$(BIN)/python -m helper.homework make $(NB)

check-homework: setup
	$(BIN)/python -m helper.homework check $(FILE)

bench: setup
	$(BIN)/python -m helper.bench

clean:
	rm -rf build homework .pytest_cache
