"""Full mode's plumbing on a CPU: each CIFAR-10 notebook runs to the end with ``MODE = "full"`` and, run
again, resumes from its checkpoints instead of training anew.

The data folder holds a tiny CIFAR-10 in torchvision's format (random pixels), and the kernels load
``tests/full_mode_shim/sitecustomize.py``, which cuts every ``fit`` to one epoch of two batches of 16. So
this tests that the full configurations fit together (the paper's widths, precision and channels-last
settings, the GPU data path's CPU fallback, weight average, flip test-time augmentation, checkpoints), not
what they learn or how fast; that needs a GPU and the real data (README, "Full mode")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import COURSE_NOTEBOOKS, cifar10_members

from helper import download
from helper.results import read_result
from helper.tools.notebooks import execute, select

pytestmark = pytest.mark.notebook

SHIM = Path(__file__).resolve().parent / "full_mode_shim"
# 03 needs MNIST's own statistics (it checks them)
FULL_MODE_NOTEBOOKS = ["07", "08", "09", "11", "12", "13", "14"]
RESUMING = "Resuming from "


@pytest.fixture(scope="module")
def tiny_cifar(tmp_path_factory) -> Path:
    """A data folder with 300 training and 60 test images in torchvision's CIFAR-10 files."""
    root = tmp_path_factory.mktemp("data")
    folder = root / download.CIFAR10_FOLDER
    folder.mkdir()
    for name, payload in cifar10_members(60).items():
        (folder / name).write_bytes(payload)
    return root


def printed(nb) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


@pytest.mark.parametrize("number", FULL_MODE_NOTEBOOKS)
def test_full_mode_runs_and_then_resumes(number, tiny_cifar, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tiny_cifar))
    monkeypatch.setenv("COURSE_FULL_MODE_SHIM", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SHIM), os.environ.get("PYTHONPATH")])))
    [path] = select([number], COURSE_NOTEBOOKS)
    first = execute(path, "full", timeout=600).nb
    result = read_result(first)
    assert result.get("dataset") == "cifar10" and not result.get("fell_back"), \
        f"{path.name} should have trained on the data folder's CIFAR-10, not {result}"
    assert RESUMING not in printed(first), f"{path.name} resumed although no checkpoint existed yet"
    checkpoints = sorted(p.name for p in (tiny_cifar / "checkpoints").glob(f"{number}_*.pt"))
    assert checkpoints, f"{path.name} should write its checkpoints under the data folder's checkpoints/"
    second = execute(path, "full", timeout=600).nb
    assert printed(second).count(RESUMING) == len(checkpoints), \
        f"{path.name} run again should resume from each of {checkpoints}"
    assert read_result(second).get("headline"), f"{path.name} run again should still record its result"
