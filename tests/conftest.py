"""Shared test helpers: the course notebooks present, and tiny notebooks for testing the tools."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from torch import nn

from helper import models
from helper.data import CIFAR10_CLASSES
from helper.paths import checkout_root
from helper.tools.homework import nbgrader_meta
from helper.tools.notebooks import lecture_notebooks

# Under pytest-xdist each worker gets its share of the cores, for its own torch and (OMP_NUM_THREADS) for
# the notebook kernels it starts: two workers with two OpenMP threads each on two cores made the
# lecture-mode training cells several times slower.
if (workers := os.environ.get("PYTEST_XDIST_WORKER_COUNT")) is not None:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(workers))))
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# Hermetic: notebooks that ask for MNIST or CIFAR-10 find sources that refuse at once (a closed loopback
# port), so no test reaches for the real hosts; tests of the downloads set their own sources.
os.environ.setdefault("COURSE_MNIST_URLS", "http://127.0.0.1:9/")
os.environ.setdefault("COURSE_CIFAR10_URLS", "http://127.0.0.1:9/cifar-10-python.tar.gz")

# Tests of what the tools do in a checkout, skipped where helper is an installed copy (tests/test_install.py).
IN_CHECKOUT = pytest.mark.skipif(checkout_root() is None, reason="helper is installed elsewhere")

# The checkout's notebooks (also when helper itself is installed elsewhere, as in tests/test_install.py).
COURSE_NOTEBOOKS = lecture_notebooks(Path(__file__).resolve().parents[1] / "notebooks")
META = torch.device("meta")


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model with shape-only tensors (fast, no memory)."""
    with META:
        return build(*args, **kwargs)


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


# `make test` runs on two pytest-xdist workers with --dist loadfile: a file is one unit of work (its module
# fixtures are built once, nbval's cells share one kernel), handed out in the order below (xdist's own
# reordering is off; --dist loadgroup would allow finer units, but with pytest 9.2 it silently stops
# grouping, pytest-xdist#1386). Longest first, so that the workers finish together: the second
# environment (minutes of pip), the files that run every course notebook, full mode's plumbing, the browser,
# the website (two builds and a browser) and the downloads, then nbval's notebooks, then the unit tests.
LONGEST_FILES = ("test_install.py", "test_exercises.py", "test_homework.py", "test_full_mode.py",
                 "test_browser.py", "test_site.py", "test_download.py", "test_layout.py")


def _rank(item: pytest.Item) -> int:
    name = item.path.name
    if name in LONGEST_FILES:
        return LONGEST_FILES.index(name)
    return len(LONGEST_FILES) + (item.path.suffix != ".ipynb")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (above); the sort is stable, so each file keeps its own order."""
    items.sort(key=_rank)


def cifar10_members(images_per_batch: int) -> dict[str, bytes]:
    """The files of CIFAR-10's ``cifar-10-batches-py/`` (name -> bytes) in torchvision's pickled format, with
    ``images_per_batch`` random images in each of the six batches, every class equally often."""
    rng = np.random.default_rng(0)
    labels = [i % 10 for i in range(images_per_batch)]
    members = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (images_per_batch, 3072), dtype=np.uint8)
        members[name] = pickle.dumps({"batch_label": name, "labels": labels, "data": images})
    members["batches.meta"] = pickle.dumps({"label_names": CIFAR10_CLASSES, "num_vis": 3072})
    return members


def course_notebook_params() -> list:
    """``pytest.param`` per course notebook (id = its name), or one skipped param when there are none."""
    if not COURSE_NOTEBOOKS:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/NN_*.ipynb yet"), id="none")]
    return [pytest.param(p, id=p.stem) for p in COURSE_NOTEBOOKS]


# A notebook's full-mode recipe, in its configuration cell: modes.pick(..., recipe=train.full_recipe("nin")).
RECIPE_CALL = re.compile(r"""train\.full_recipe\(\s*["'](\w+)["']""")


def full_mode_models(folder: Path) -> dict[str, list[str]]:
    """By notebook number, the registered models whose full-mode recipe the notebook uses (only notebooks
    that have one): the notebooks whose full mode trains on CIFAR-10."""
    found = {}
    for path in lecture_notebooks(folder):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        if names := RECIPE_CALL.findall(code):
            found[path.name[:2]] = names
    return found


def numbering_problems(notebooks: list[Path]) -> list[str]:
    """What is wrong with the numbers of ``notebooks`` (lecture order): 01, 02, ... without gaps."""
    numbers = [int(p.name[:2]) for p in notebooks]
    expected = list(range(1, len(numbers) + 1))
    return [] if numbers == expected else [f"notebook numbers {numbers} should be {expected}"]


def registry_problems(folder: Path) -> list[str]:
    """Registered models that no notebook trains in full mode, and recipes that name no registered model."""
    trained = {name for names in full_mode_models(folder).values() for name in names}
    problems = [f"{name} is registered but no notebook's full mode trains it" for name in
                sorted(set(models.CIFAR_MODELS) - trained)]
    problems += [f"a notebook's recipe names {name}, which is not registered" for name in
                 sorted(trained - set(models.CIFAR_MODELS))]
    return problems


def solution_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells whose content a student writes (nbgrader ``solution: true``), in notebook order."""
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")]


def nbgrader_cell(source: str, grade_id: str, *, grade: bool) -> nbformat.NotebookNode:
    """A solution cell (``grade=False``) or an auto-checked cell (``grade=True``) in nbgrader's format."""
    meta = {"grade": grade, "solution": not grade, "locked": grade, "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = 1
    return new_code_cell(source, metadata={"nbgrader": meta})


def write_tiny_notebook(path: Path, body: list[str] = ()) -> Path:
    """Write a small course-style notebook: title, parameters, ``body`` cells, a result, two exercises."""
    cells = [
        new_markdown_cell("# A tiny notebook\n\nUsed by the tests of the course tools."),
        new_code_cell('MODE = "lecture"\nSEED = 0', metadata={"tags": ["parameters"]}),
        new_code_cell("from helper import results"),
        *(new_code_cell(source) for source in body),
        new_code_cell('results.record_result(f"mode {MODE}", dataset="digits", fell_back=True, device="cpu", '
                      "epochs=1, test_accuracy=0.5)"),
        new_markdown_cell("## Exercise 1\nWrite `double(x)`."),
        nbgrader_cell("def double(x):\n    ### BEGIN SOLUTION\n    return x + x\n    ### END SOLUTION",
                      "ex1-solution", grade=False),
        nbgrader_cell('assert double(3) == 6, f"double(3) should be 6, got {double(3)}"\n'
                      "### BEGIN HIDDEN TESTS\nassert double(-4) == -8\n### END HIDDEN TESTS",
                      "ex1-check", grade=True),
        new_markdown_cell("## Exercise 2\nSet `width`: a stride-2 3x3 conv's output width on 32 pixels."),
        nbgrader_cell("### BEGIN SOLUTION\nwidth = (32 + 2 * 1 - 3) // 2 + 1\n### END SOLUTION",
                      "ex2-solution", grade=False),
        nbgrader_cell('assert width == 16, f"the width should be 16, got {width}"', "ex2-check", grade=True),
    ]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path
