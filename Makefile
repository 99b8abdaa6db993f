# Course notebooks: `make run` executes every notebook, `make test` runs the whole test suite.
# Both create .venv and install the pinned versions of constraints.txt first when needed (again only
# after pyproject.toml or constraints.txt change: .venv/.installed marks a finished install).
# Every target is one `python -m helper.tools COMMAND`, so students without make type that instead
# (README.md, "Without make").

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODE   ?= lecture
NB     ?=
FILE   ?=
OUT    ?=
FORCE  ?=
DIR    ?=
INSTRUCTOR ?=
TOOLS  := $(BIN)/python -m helper.tools
# The variables a user sets reach the commands as shell variables, so a space or a ; in them is only text.
export MODE NB FILE OUT DIR

.PHONY: setup run site test test-fast lint lab data homework check-homework bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "The course needs Python 3.11 to 3.14; $(PYTHON) is " + sys.version.split()[0] + ": install a newer one or run make PYTHON=python3.13.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# make run [MODE=lecture|full|smoke] [NB="03 07"]: executed notebooks, HTML and results.md in build/
run: setup
	$(TOOLS) run --mode "$$MODE" --out build $$NB

# The course website in build/site: every notebook with its outputs, from the lecture run in build/ (the
# notebooks whose executed copy there is missing or out of date run first). README.md, "Website".
site: setup
	$(TOOLS) site

lint: setup
	$(TOOLS) lint

# Everything CI checks: lint, unit tests, papermill smoke runs of every notebook, homework round trips,
# the second-interpreter and wheel installs, the JupyterLab browser test, and nbval on notebooks/.
test: setup
	$(TOOLS) test

# The quick part while editing helper/: no notebook is executed, no browser or install is started.
test-fast: setup
	$(TOOLS) test-fast

# make lab [DIR=homework] [INSTRUCTOR=1]: JupyterLab on the repository root (or DIR), without nbgrader's
# instructor interface unless INSTRUCTOR=1
lab: setup
	$(TOOLS) lab $(if $(DIR),--dir "$$DIR") $(if $(INSTRUCTOR),--instructor)

data: setup
	$(TOOLS) data

# make homework [NB=07] [OUT=folder]: student copies in homework/ (or OUT); a copy already there is kept
# (FORCE=1 replaces it, answers and all). make check-homework FILE=homework/07_vgg16.ipynb
homework: setup
	$(TOOLS) homework $(if $(FORCE),--force) $(if $(OUT),--out "$$OUT") $$NB

check-homework: setup
	$(TOOLS) check-homework "$$FILE"

bench: setup
	$(TOOLS) bench

# homework/ holds students' answers: clean leaves it alone
clean:
	rm -rf build .pytest_cache .mypy_cache
