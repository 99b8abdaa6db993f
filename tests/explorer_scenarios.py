"""What each explorer should show, and the steps the tests take with its controls: the browser test
(tests/test_browser.py) takes them in JupyterLab, tests/test_install.py on Colab's ipywidgets 7.7.

Each expected function computes, from the controls' values, the numbers with the course's own functions
(helper.arithmetic, helper.profile), independently of the explorer's code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from helper import explorers
from helper.arithmetic import conv_output_size, field_geometry, pool_output_size
from helper.errors import CourseError
from helper.models import InceptionModule
from helper.models.vgg import CONFIGS
from helper.profile import count_macs, count_parameters


def expected_output_size(settings: dict) -> dict[str, int]:
    """What notebook 01's explorer should show: helper.arithmetic's output size (nothing if impossible)."""
    n, k, s, p, d = (settings[key] for key in ("size", "kernel_size", "stride", "padding", "dilation"))
    try:
        if settings["layer"] == "convolution":
            return {"output": conv_output_size(n, k, s, p, d)}
        return {"output": pool_output_size(n, k, s, p, d, ceil_mode=settings["ceil_mode"])}
    except CourseError:
        return {}


def vgg16_table() -> dict[str, tuple[list[tuple[int, int, int]], int]]:
    """VGG-16 (Table 1, column D) on a 224x224 image, by the paper's layer names (conv1_1 ... pool5): each
    layer's (kernel_size, stride, padding) stack up to it, and its outputs per side."""
    table, stack, size, stage, number = {}, [], 224, 1, 0
    for entry in CONFIGS["D"]:
        if entry == "maxpool":
            stack.append((2, 2, 0))
            size, name = pool_output_size(size, 2, 2), f"pool{stage}"
            stage, number = stage + 1, 0
        else:
            number += 1
            stack.append((3, 1, 1))
            size, name = conv_output_size(size, 3, 1, 1), f"conv{stage}_{number}"
        table[name] = (list(stack), size)
    return table


def expected_receptive_field(settings: dict) -> dict[str, int]:
    """What notebook 07's explorer should show: the field, jump and size of the layer, and the input rows
    and columns the chosen output sees, from helper.arithmetic.field_geometry."""
    stack, size = vgg16_table()[settings["layer"]]
    geometry = field_geometry(stack)
    (first_row, last_row), (first_column, last_column) = (geometry.span(settings["row"]),
                                                          geometry.span(settings["column"]))
    return {"field": geometry.field, "jump": geometry.jump, "output": size, "first_row": first_row,
            "last_row": last_row, "first_column": first_column, "last_column": last_column}


# Szegedy et al. (2015), Table 1: each Inception module's input (the row above's output), as side and channels
PAPER_INPUTS = {"3a": (28, 192), "3b": (28, 256), "4a": (14, 480), "4b": (14, 512), "4c": (14, 512),
                "4d": (14, 512), "4e": (14, 528), "5a": (7, 832), "5b": (7, 832)}
WIDTH_CONTROLS = ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")


class NaiveInception(nn.Module):
    """Figure 2a with the pool projection kept: the 3x3 and 5x5 convolutions read every input channel."""

    def __init__(self, c_in: int, n1: int, _n3_reduce: int, n3: int, _n5_reduce: int, n5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(c_in, n1, 1)
        self.branch2 = nn.Conv2d(c_in, n3, 3, padding=1)
        self.branch3 = nn.Conv2d(c_in, n5, 5, padding=2)
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(c_in, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


def expected_inception_budget(settings: dict) -> dict[str, int]:
    """What notebook 13's explorer should show: helper.profile's counts of helper.models.InceptionModule
    and of NaiveInception, built here with real weights, on the chosen module's maps."""
    widths = tuple(settings[key] for key in WIDTH_CONTROLS)
    c_in, side = settings["in_channels"], PAPER_INPUTS[settings["module"]][0]
    reduced, naive = InceptionModule(c_in, *widths), NaiveInception(c_in, *widths)
    counts = {"size": side, "out_channels": widths[0] + widths[2] + widths[4] + widths[5],
              "params_reduced": count_parameters(reduced), "params_naive": count_parameters(naive),
              "macs_reduced": count_macs(reduced, (c_in, side, side)),
              "macs_naive": count_macs(naive, (c_in, side, side))}
    return {**counts, "params_saved": counts["params_naive"] - counts["params_reduced"],
            "macs_saved": counts["macs_naive"] - counts["macs_reduced"]}


# For each explorer: the numbers it should show for the controls' values, and the (control, value) steps,
# in order; each step must change the picture. In the browser a slider that moves by one is moved with the
# arrow keys, as a student drags it; otherwise the value is typed into its readout.
EXPLORER_SCENARIOS = {
    "inception_budget": (expected_inception_budget, [
        ("ch5x5red", 17), ("ch5x5red", 49), ("in_channels", 768), ("module", "4e"), ("ch3x3", 100),
        ("pool_proj", 1), ("ch1x1", 300), ("ch3x3red", 64), ("ch5x5", 64), ("module", "5b")]),
    "output_size": (expected_output_size, [
        ("stride", 1), ("size", 12), ("kernel_size", 4), ("dilation", 2), ("padding", 0),
        ("layer", "max pooling"), ("stride", 2), ("ceil_mode", True), ("size", 3)]),
    "receptive_field": (expected_receptive_field, [
        ("row", 29), ("column", 0), ("layer", "pool5"), ("row", 6), ("layer", "conv1_1"), ("column", 223)]),
}


def replay(name: str) -> list[dict[str, Any]]:
    """Build ``explorers.NAME()`` with its defaults and take its steps in Python; for its first state and
    after each step: the controls' values, the numbers shown, and whether the picture changed."""
    explorer = getattr(explorers, name)()
    rows = [{"settings": explorer.settings(), "values": explorer.values, "changed": True}]
    for key, value in EXPLORER_SCENARIOS[name][1]:
        before = explorer.picture_bytes
        explorer.set(**{key: value})
        rows.append({"settings": explorer.settings(), "values": explorer.values,
                     "changed": explorer.picture_bytes != before})
    return rows


def wrong_rows(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """The states of a replay whose numbers are not helper's, or after which the picture stayed the same."""
    expected = EXPLORER_SCENARIOS[name][0]
    return [f"{name} at {row['settings']}: shows {row['values']}, helper says {expected(row['settings'])}"
            + ("" if row["changed"] else ", and the picture did not change")
            for row in rows if row["values"] != expected(row["settings"]) or not row["changed"]]
