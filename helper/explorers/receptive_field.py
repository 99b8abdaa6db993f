"""Notebook 07's explorer: the receptive field of one output of a VGG-16 layer, drawn on a 224x224 photo.

The layers are read off ``helper.models.vgg16``'s ``features`` (built on the meta device) and named as
Simonyan & Zisserman name them: ``conv3_2`` is the second convolution of stage 3, ``pool3`` its max-pool.
Field, jump and where the field lies come from :func:`helper.arithmetic.field_geometry`, the recursion
notebook 07 teaches; a field may hang over the image's border, into the zero padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from helper.arithmetic import FieldGeometry, conv_output_size, field_geometry, pool_output_size
from helper.errors import CourseError, is_whole
from helper.explorers.base import Explorer, Frame, value_html

INPUT_SIZE = 224  # the ImageNet input VGG-16 was built for
PHOTO = "chelsea"  # scikit-image's bundled photo of a cat (no download)
FIELD, NEIGHBOUR, BORDER = "#e65100", "#1565c0", "#000000"
PADDING, OUTPUT, CHOSEN = "#e6e6e6", "#a8d5a2", "#2e7d32"
# what the colours mean, under the numbers (the notebook's text says it again for the static picture)
LEGEND = ("left: the 224×224 input on its zero padding (grey) · orange square: the pixels the chosen output "
          "sees (shaded where it hangs over the border into the padding) · blue dotted: the field of the "
          "next output in its row, one jump away · right: the layer's outputs, the chosen one dark green")


@dataclass(frozen=True)
class VggLayer:
    """One convolution or max-pool of VGG-16 with every layer up to it as (kernel_size, stride, padding)."""

    name: str
    stack: tuple[tuple[int, int, int], ...]
    output: int  # outputs along each side for a 224 x 224 input


def _side(value: int | tuple[int, ...] | str) -> int:
    """One side of a PyTorch layer setting (an int, or the height of a (height, width) pair)."""
    if isinstance(value, str):
        raise CourseError(f"The receptive field needs a layer's padding in pixels, not {value!r}.")
    return value if isinstance(value, int) else value[0]


@cache
def vgg16_layers() -> dict[str, VggLayer]:
    """VGG-16's convolutions and max-pools in order, by the paper's names (conv1_1 ... pool5)."""
    from helper.models import vgg16

    with torch.device("meta"):
        features = vgg16().features
    layers: dict[str, VggLayer] = {}
    stack: list[tuple[int, int, int]] = []
    stage, number, size = 1, 0, INPUT_SIZE
    for module in features:
        if not isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            continue
        kernel_size, stride, padding = (_side(setting) for setting in
                                        (module.kernel_size, module.stride, module.padding))
        stack.append((kernel_size, stride, padding))
        if isinstance(module, nn.Conv2d):
            number += 1
            name, size = f"conv{stage}_{number}", conv_output_size(size, kernel_size, stride, padding)
        else:
            name, size = f"pool{stage}", pool_output_size(size, kernel_size, stride, padding)
            stage, number = stage + 1, 0
        layers[name] = VggLayer(name, tuple(stack), size)
    return layers


@cache
def _photo() -> np.ndarray:
    """The bundled photo, cut square and resized to the network's input size, as H x W x 3."""
    from helper.data import photo

    return photo(PHOTO, size=INPUT_SIZE, gray=False).permute(1, 2, 0).numpy()


@cache
def _view() -> tuple[float, float]:
    """The input pixels the picture shows: every field of every layer fits, so the view stays put."""
    spans = [field_geometry(layer.stack).span(index)
             for layer in vgg16_layers().values() for index in (0, layer.output - 1)]
    return min(first for first, _ in spans) - 4.5, max(last for _, last in spans) + 4.5


def _unit_spans(settings: dict[str, Any], geometry: FieldGeometry) -> tuple[tuple[int, int], tuple[int, int]]:
    """The input rows and columns the chosen output sees."""
    return geometry.span(settings["row"]), geometry.span(settings["column"])


def _field_patches(ax: Any, rows: tuple[int, int], columns: tuple[int, int], field: int) -> None:
    """The field as a square: its fill shows on the padding (under the photo) and lightly on the photo."""
    corner = (columns[0] - 0.5, rows[0] - 0.5)
    ax.add_patch(Rectangle(corner, field, field, facecolor=FIELD, alpha=0.35, edgecolor="none", zorder=1))
    inside_rows = max(rows[0], 0), min(rows[1], INPUT_SIZE - 1)
    inside_columns = max(columns[0], 0), min(columns[1], INPUT_SIZE - 1)
    ax.add_patch(Rectangle((inside_columns[0] - 0.5, inside_rows[0] - 0.5),
                           inside_columns[1] - inside_columns[0] + 1, inside_rows[1] - inside_rows[0] + 1,
                           facecolor=FIELD, alpha=0.2, edgecolor="none", zorder=3))
    ax.add_patch(Rectangle(corner, field, field, fill=False, edgecolor=FIELD, linewidth=2, zorder=4))


def _input_picture(ax: Any, layer: VggLayer, settings: dict[str, Any] | None) -> None:
    """The photo on the grey padding, and (for a setting) the chosen output's field and that of the next
    output in its row (of the one before it, at the row's end)."""
    low, high = _view()
    ax.set_facecolor(PADDING)
    ax.imshow(_photo(), extent=(-0.5, INPUT_SIZE - 0.5, INPUT_SIZE - 0.5, -0.5), zorder=2)
    ax.add_patch(Rectangle((-0.5, -0.5), INPUT_SIZE, INPUT_SIZE, fill=False, edgecolor=BORDER, linewidth=1,
                           zorder=5))
    if settings is not None:
        geometry = field_geometry(layer.stack)
        rows, columns = _unit_spans(settings, geometry)
        _field_patches(ax, rows, columns, geometry.field)
        step = geometry.jump if settings["column"] + 1 < layer.output else -geometry.jump
        ax.add_patch(Rectangle((columns[0] + step - 0.5, rows[0] - 0.5), geometry.field, geometry.field,
                               fill=False, edgecolor=NEIGHBOUR, linewidth=1.2, linestyle=":", zorder=4))
    ax.set(xlim=(low, high), ylim=(high, low), xticks=[], yticks=[])


def _output_picture(ax: Any, layer: VggLayer, row: int, column: int) -> None:
    """The layer's outputs, one cell each, the chosen one dark (with cross-hairs where cells are tiny)."""
    out = layer.output
    colours = np.empty((out, out, 3))
    colours[:] = to_rgb(OUTPUT)
    colours[row, column] = to_rgb(CHOSEN)
    ax.imshow(colours, extent=(-0.5, out - 0.5, out - 0.5, -0.5), interpolation="nearest")
    ax.axhline(row, color=CHOSEN, linewidth=0.6)
    ax.axvline(column, color=CHOSEN, linewidth=0.6)
    ax.set(xticks=[], yticks=[])


def _figure(layer: VggLayer, settings: dict[str, Any] | None, message: str = "") -> Figure:
    figure = Figure(figsize=(7.5, 4.8))
    left = figure.add_axes((0.01, 0.01, 0.59, 0.92))
    right = figure.add_axes((0.64, 0.22, 0.34, 0.53))
    _input_picture(left, layer, settings)
    if settings is None:
        right.set_axis_off()
        right.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9)
    else:
        _output_picture(right, layer, settings["row"], settings["column"])
        right.set_title(f"{layer.name}: {layer.output}×{layer.output} outputs", fontsize=10)
    return figure


def _render(settings: dict[str, Any]) -> Frame:
    layer = vgg16_layers()[settings["layer"]]
    geometry = field_geometry(layer.stack)
    rows, columns = _unit_spans(settings, geometry)
    values = {"field": geometry.field, "jump": geometry.jump, "output": layer.output, "first_row": rows[0],
              "last_row": rows[1], "first_column": columns[0], "last_column": columns[1]}
    number = {name: value_html(name, value) for name, value in values.items()}
    square = {name: value_html(name, values[name], f"{values[name]}×{values[name]}")
              for name in ("field", "output")}
    details = (f'<p>One output of <b>{layer.name}</b> sees {square["field"]} input pixels: rows '
               f'{number["first_row"]} to {number["last_row"]}, columns {number["first_column"]} to '
               f'{number["last_column"]} (below 0 or above {INPUT_SIZE - 1}: padding); the jump to its '
               f'neighbour: {number["jump"]} px; the layer has {square["output"]} outputs.</p>'
               f'<p class="explorer-formula"><code>r_l = r_(l−1) + (k_l − 1)·j_(l−1)</code>, '
               f'<code>j_l = j_(l−1)·s_l</code></p><p style="font-size:smaller">{LEGEND}</p>')
    summary = (f"{layer.name}: output ({settings['row']}, {settings['column']}) of "
               f"{layer.output}×{layer.output} sees a {geometry.field}×{geometry.field} field "
               f"(rows {rows[0]}..{rows[1]}, columns {columns[0]}..{columns[1]}); jump {geometry.jump}")
    return Frame(_figure(layer, settings), summary, details, values)


def _nearest_unit(index: int, old: VggLayer, new: VggLayer) -> int:
    """The output of ``new`` whose field is centred nearest the field of output ``index`` of ``old``."""
    before, after = field_geometry(old.stack), field_geometry(new.stack)
    centre = before.start + index * before.jump + (before.field - 1) / 2
    return min(max(round((centre - after.start - (after.field - 1) / 2) / after.jump), 0), new.output - 1)


def _follow(controls: dict[str, widgets.ValueWidget], name: str, old: Any, new: Any) -> None:
    """After a layer change, fit the row and column sliders to the new layer's outputs, keeping the chosen
    output over the same place of the image."""
    if name != "layer":
        return
    before, after = vgg16_layers()[old], vgg16_layers()[new]
    for key in ("row", "column"):
        slider = controls[key]
        value = _nearest_unit(slider.value, before, after)
        if after.output - 1 >= slider.max:
            slider.max, slider.value = after.output - 1, value
        else:
            slider.value, slider.max = value, after.output - 1


def receptive_field(layer: str = "conv3_3", row: int | None = None, column: int | None = None) -> Explorer:
    """A drop-down of VGG-16's layers and sliders for one of its outputs (default: the centre one); the
    picture shows the input pixels that output sees, with its field size, jump and the layer's size."""
    layers = vgg16_layers()
    if layer not in layers:
        raise CourseError(f"VGG-16 has no layer {layer!r}; choose one of {', '.join(layers)}.")
    out = layers[layer].output
    for name, value in (("row", row), ("column", column)):
        if value is not None and not (is_whole(value) and 0 <= value < out):
            raise CourseError(f"{name} must be a whole number from 0 to {out - 1} ({layer} has {out}×{out} "
                              f"outputs); got {value!r}.")

    def slider(description: str, value: int | None) -> widgets.IntSlider:
        return widgets.IntSlider(value=out // 2 if value is None else value, min=0, max=out - 1,
                                 description=description, continuous_update=False)

    controls = {
        "layer": widgets.Dropdown(options=list(layers), value=layer, description="layer"),
        "row": slider("output row", row),
        "column": slider("output column", column),
    }
    return Explorer(controls, _render, lambda settings, message: _figure(
        vgg16_layers()[settings["layer"]], None, message), follow=_follow)
