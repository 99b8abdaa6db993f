"""What each explorer should show, and the steps the tests take with its controls: the browser test
(tests/test_browser.py) takes them in JupyterLab, tests/test_install.py on Colab's ipywidgets 7.7.

Each expected function computes, from the controls' values, the numbers with the course's own functions
(helper.arithmetic, helper.profile), independently of the explorer's code.
"""

from __future__ import annotations

from typing import Any

from helper import explorers
from helper.arithmetic import conv_output_size, field_geometry, pool_output_size
from helper.errors import CourseError
from helper.models.vgg import CONFIGS


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


# For each explorer: the numbers it should show for the controls' values, and the (control, value) steps,
# in order; each step must change the picture. In the browser a slider that moves by one is moved with the
# arrow keys, as a student drags it; otherwise the value is typed into its readout.
EXPLORER_SCENARIOS = {
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
