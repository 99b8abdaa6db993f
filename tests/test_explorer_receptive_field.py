"""Notebook 07's receptive-field explorer on the Python side: every layer of VGG-16 by the paper's name, its
field, jump and size from helper.arithmetic, the chosen output's span moving with the sliders, the sliders
following the layer's size, a new picture on every change, a fast redraw, and what a page without widgets
shows."""

from __future__ import annotations

import base64
import re
import time

import pytest
from explorer_scenarios import expected_receptive_field, vgg16_table

from helper import explorers
from helper.errors import CourseError
from helper.explorers.base import WIDGET_VIEW

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REDRAW_LIMIT_S = 0.1


def expected_values(layer: str, row: int, column: int) -> dict[str, int]:
    return expected_receptive_field({"layer": layer, "row": row, "column": column})


def shown(explorer: explorers.Explorer, name: str) -> list[int]:
    """The data-value of every number called ``name`` in the explorer's HTML."""
    pattern = f'data-name="{name}" data-value="(-?[0-9]+)"'
    return [int(value) for value in re.findall(pattern, explorer.numbers.value)]


def test_default_is_the_centre_output_of_conv3_3():
    explorer = explorers.receptive_field()
    assert explorer.settings() == {"layer": "conv3_3", "row": 28, "column": 28}
    assert explorer.values == expected_values("conv3_3", 28, 28)
    assert (explorer.values["field"], explorer.values["jump"], explorer.values["output"]) == (40, 4, 56)
    for name, value in explorer.values.items():
        assert shown(explorer, name) == [value], name


def test_the_layers_are_vgg16s_by_the_papers_names():
    explorer = explorers.receptive_field()
    assert list(explorer.controls["layer"].options) == list(vgg16_table())
    assert list(vgg16_table())[:3] == ["conv1_1", "conv1_2", "pool1"] and len(vgg16_table()) == 18


@pytest.mark.parametrize("layer", list(vgg16_table()))
def test_each_layer_shows_helper_arithmetics_numbers(layer):
    explorer = explorers.receptive_field(layer="conv3_3" if layer != "conv3_3" else "pool5")
    before = explorer.picture_bytes
    explorer.set(layer=layer)
    size = vgg16_table()[layer][1]
    row, column = explorer.controls["row"], explorer.controls["column"]
    assert row.max == column.max == size - 1, "the sliders should span the layer's outputs"
    assert explorer.values == expected_values(layer, row.value, column.value)
    assert explorer.picture_bytes.startswith(PNG_SIGNATURE) and explorer.picture_bytes != before


def test_the_known_fields_of_vgg16():
    """Simonyan & Zisserman's arithmetic: conv5_3 sees 196 pixels, pool5 212, 32 pixels apart."""
    explorer = explorers.receptive_field(layer="conv5_3")
    assert (explorer.values["field"], explorer.values["jump"], explorer.values["output"]) == (196, 16, 14)
    explorer.set(layer="pool5")
    assert (explorer.values["field"], explorer.values["jump"], explorer.values["output"]) == (212, 32, 7)


def test_the_sliders_move_the_field_by_the_jump():
    explorer = explorers.receptive_field(layer="conv4_1", row=0, column=0)
    assert (explorer.values["first_row"], explorer.values["first_column"]) == (-26, -26), (
        "the corner output's field should hang over the border by the padding times the jumps")
    for name, value in (("row", 5), ("column", 27), ("row", 27)):
        before = explorer.picture_bytes
        explorer.set(**{name: value})
        settings = explorer.settings()
        assert explorer.values == expected_values("conv4_1", settings["row"], settings["column"])
        assert explorer.picture_bytes != before, f"setting {name} should redraw the picture"
    assert explorer.values["last_row"] == explorer.values["last_column"] == 223 + 26


def centres(explorer: explorers.Explorer) -> tuple[float, float]:
    """The centre of the chosen output's field, in input pixels (row, column)."""
    values = explorer.values
    row = (values["first_row"] + values["last_row"]) / 2
    return row, (values["first_column"] + values["last_column"]) / 2


def test_a_layer_change_keeps_the_output_over_the_same_place():
    explorer = explorers.receptive_field(layer="conv1_1", row=0, column=223)
    explorer.set(layer="pool5")
    assert explorer.settings() == {"layer": "pool5", "row": 0, "column": 6}, "the corner should stay a corner"
    explorer.set(row=2, column=5)
    for layer in ("conv2_2", "conv4_3", "pool1", "conv5_2"):
        before = centres(explorer)
        explorer.set(layer=layer)
        size = explorer.values["output"]
        assert explorer.controls["row"].max == explorer.controls["column"].max == size - 1
        jump = explorer.values["jump"]
        for old, new in zip(before, centres(explorer), strict=True):
            assert abs(new - old) <= jump / 2, f"{layer}: moved from {before} to {centres(explorer)}"


def test_a_layer_change_redraws_once():
    explorer = explorers.receptive_field()
    pictures = []
    explorer.picture.observe(lambda change: pictures.append(change), names="value")
    explorer.set(layer="pool5")
    assert len(pictures) == 1, "moving the sliders to the new layer's size should not redraw in between"


@pytest.mark.parametrize(("arguments", "message"), [
    (dict(layer="conv6_1"), "VGG-16 has no layer 'conv6_1'; choose one of conv1_1, conv1_2, pool1,"),
    (dict(layer="pool5", row=7), "row must be a whole number from 0 to 6 (pool5 has 7×7 outputs); got 7."),
    (dict(column=-1), "column must be a whole number from 0 to 55 (conv3_3 has 56×56 outputs); got -1."),
    (dict(row=2.0), "row must be a whole number from 0 to 55 (conv3_3 has 56×56 outputs); got 2.0."),
])
def test_impossible_arguments_are_one_sentence(arguments, message):
    with pytest.raises(CourseError) as refused:
        explorers.receptive_field(**arguments)
    assert str(refused.value).startswith(message) and str(refused.value).count(". ") == 0


def test_a_redraw_is_fast_enough_to_follow_a_slider():
    explorer = explorers.receptive_field()
    times = []
    for name, value in (("row", 3), ("column", 50), ("layer", "conv1_1"), ("row", 200), ("layer", "pool5")):
        start = time.process_time()  # CPU time: what a redraw costs, whatever else shares the CPU
        explorer.set(**{name: value})
        times.append(time.process_time() - start)
    assert min(times) < REDRAW_LIMIT_S, f"a redraw took {min(times) * 1000:.0f} ms at best; the goal: 100 ms"


def test_a_page_without_widgets_shows_the_picture_and_the_summary():
    explorer = explorers.receptive_field()
    bundle = explorer.mime_bundle()
    assert bundle[WIDGET_VIEW]["model_id"] == explorer.widget.model_id
    assert base64.b64decode(bundle["image/png"]) == explorer.picture_bytes
    assert bundle["text/plain"] == explorer.summary
    assert explorer.summary == ("conv3_3: output (28, 28) of 56×56 sees a 40×40 field (rows 94..133, "
                                "columns 94..133); jump 4")
