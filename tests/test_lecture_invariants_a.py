"""Invariants behind notebooks 01-06 that teach nothing, so they live here rather than in a check cell."""

from __future__ import annotations

import nbformat
import pytest
import torch
from conftest import course_notebook_params

from helper import data
from helper.tools.notebooks import SETUP_CELL


def test_dropout_notebooks_training_set_is_balanced_and_its_test_set_held_out():
    """Notebook 04 trains on 20 digits per class and tests on the 360 held-out digits, in every arm."""
    loaders = data.get_dataloaders("digits", 32, subset=200, test_subset=360, valid_fraction=0, seed=0,
                                   shape=(1, 16, 16), download_budget_s=0)
    train_labels = torch.cat([y for _, y in loaders.train])
    assert len(loaders.test.dataset) == 360
    assert torch.equal(train_labels.bincount(minlength=10), torch.full((10,), 20))


@pytest.mark.parametrize("path", course_notebook_params())
def test_set_up_cell_is_collapsed_in_jupyterlab_and_colab(path):
    """The set-up cell shows as one title line: JupyterLab hides its source, Colab shows it as a form."""
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert first.source == SETUP_CELL
    hidden = first.metadata.get("jupyter", {}).get("source_hidden")
    assert hidden is True, f"{path.name}: the set-up cell is not collapsed in JupyterLab"
    assert first.metadata.get("cellView") == "form", f"{path.name}: not a form in Colab"
    assert first.source.startswith("#@title "), f"{path.name}: Colab's form needs a #@title line"
