"""Notebook 13's explorer: what an Inception module costs with and without its 1x1 reductions.

A drop-down picks one of GoogLeNet's nine modules (Szegedy et al., *Going Deeper with Convolutions*, 2015,
Table 1) and sets the input channels and the six widths to the paper's; sliders then change them. The
numbers are the parameters and multiply-accumulates (MACs) of :class:`helper.models.InceptionModule` and of
the naive module of the paper's Figure 2a, whose 3x3 and 5x5 convolutions read all input channels directly
(the pool projection stays, as in notebook 13's "What the 1x1 reductions save"), both counted by
:func:`helper.profile.count_parameters` and :func:`helper.profile.count_macs` on modules built on the meta
device: ``FlopCounterMode`` counts a convolution from its tensors' shapes, which meta tensors have, so no
weight is ever made. The picture shows each branch's MACs as bars, without their values: notebook 13's
exercise 2 asks for one of them.

Choosing a module sets seven sliders (``Explorer``'s ``follow``), and the picture is drawn once, after all of
them have the module's values, not after each with a mix of two modules' widths.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from helper.errors import CourseError, is_whole
from helper.explorers.base import Explorer, Frame, value_html
from helper.models.googlenet import INCEPTION_MODULES, InceptionModule, conv_relu, googlenet
from helper.profile import count_macs, count_parameters, layer_table

IMAGE_SIZE = 224  # the paper's ImageNet crop, which reaches the modules at 28, 14 and 7 pixels
WIDTHS = ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")  # InceptionModule's arguments
LABELS = ("#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj")  # Table 1's column names
BRANCHES = ("1x1", "3x3", "5x5", "pool proj")  # InceptionModule's branch1 ... branch4
REDUCED_BRANCHES = np.array([False, True, True, False])  # those that start with a 1x1 reduction
MAX_IN_CHANNELS, MAX_WIDTH = 1024, 512
BAR_WIDTH = 0.4
NAIVE, REDUCED, REDUCTION = "#9e9e9e", "#1f77b4", "#9ecae1"
ROWS = (("with the 1×1 reductions", "reduced"), ("without them (naive)", "naive"), ("saved", "saved"))
LEGEND = ("per branch, MACs without the reductions (grey) and with them (blue: the 3x3 or 5x5 convolution, "
          "light blue on top: the 1x1 reduction in front of it); the 1x1 and pool-projection branches are "
          "the same in both modules")


class Preset(NamedTuple):
    """Where a module sits in GoogLeNet: its input channels, its maps' side and its six widths."""

    in_channels: int
    size: int
    widths: tuple[int, ...]


@functools.cache
def presets() -> dict[str, Preset]:
    """Every module of Table 1 as it sits in ``helper.models.googlenet()`` on a 224-pixel image."""
    with torch.device("meta"):
        net = googlenet(aux_logits=False)
    sizes: dict[str, int] = {}

    def remember(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            sizes[name] = inputs[0].shape[-1]
        return hook

    for name in INCEPTION_MODULES:  # the network is thrown away, so are its hooks
        getattr(net, f"inception{name}").register_forward_hook(remember(name))
    net.eval()(torch.empty(1, 3, IMAGE_SIZE, IMAGE_SIZE, device="meta"))
    return {name: Preset(getattr(net, f"inception{name}").branch1[0].in_channels, sizes[name], widths)
            for name, widths in INCEPTION_MODULES.items()}


def modules(in_channels: int, widths: tuple[int, ...]) -> tuple[InceptionModule, InceptionModule]:
    """The module with its 1x1 reductions and the naive one (3x3 and 5x5 straight on the input), on meta."""
    with torch.device("meta"):
        reduced = InceptionModule(in_channels, *widths)
        naive = InceptionModule(in_channels, *widths)
        naive.branch2 = conv_relu(in_channels, widths[2], 3)
        naive.branch3 = conv_relu(in_channels, widths[4], 5)
    return reduced, naive


def _branch_macs(module: nn.Module, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per branch (``branch1`` ... ``branch4``): its MACs, and those of its first part, from helper.profile's
    layer table; in the module with reductions the first part of branches 2 and 3 is the 1x1 reduction."""
    rows = layer_table(module, shape, depth=2).rows
    whole = [sum(row.macs for row in rows if row.name.split(".")[0] == f"branch{i}") for i in range(1, 5)]
    first = [sum(row.macs for row in rows if row.name == f"branch{i}.0") for i in range(1, 5)]
    return np.array(whole), np.array(first)


def _bars(reduced: nn.Module, naive: nn.Module, shape: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Per branch: the naive module's MACs, the reduced module's without its 1x1 reduction, and the
    reduction's."""
    naive_macs, _ = _branch_macs(naive, shape)
    reduced_macs, first_parts = _branch_macs(reduced, shape)
    reduction = np.where(REDUCED_BRANCHES, first_parts, 0)
    return naive_macs, reduced_macs - reduction, reduction


def _boxes(centres: np.ndarray, bottoms: np.ndarray, heights: np.ndarray) -> list[np.ndarray]:
    """Bars as rectangles (corner lists): one PolyCollection draws faster than ``Axes.bar``'s patches."""
    half = BAR_WIDTH / 2
    return [np.array([(x - half, y), (x + half, y), (x + half, y + h), (x - half, y + h)])
            for x, y, h in zip(centres, bottoms, heights, strict=True)]


def _figure(bars: tuple[np.ndarray, ...] | None) -> Figure:
    """Each branch's MACs in millions, without the reductions (left bar) and with them (right bar)."""
    figure = Figure(figsize=(6.4, 2.8))
    ax = figure.add_axes((0.1, 0.1, 0.88, 0.86))
    positions = np.arange(len(BRANCHES), dtype=float)
    ax.set(xlim=(-0.6, len(BRANCHES) - 0.4))
    if bars is not None:
        naive, convolution, reduction = (values / 1e6 for values in bars)
        left, right, ground = positions - BAR_WIDTH / 2, positions + BAR_WIDTH / 2, np.zeros(len(BRANCHES))
        boxes = _boxes(left, ground, naive) + _boxes(right, ground, convolution) + _boxes(
            right, convolution, reduction)
        colours = [NAIVE] * len(BRANCHES) + [REDUCED] * len(BRANCHES) + [REDUCTION] * len(BRANCHES)
        ax.add_collection(PolyCollection(boxes, facecolors=colours))
        ax.set(ylim=(0, 1.05 * max(naive.max(), (convolution + reduction).max())))
    ax.set_xticks(positions, BRANCHES)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.set_ylabel("million MACs")
    return figure


def _render(settings: dict[str, Any]) -> Frame:
    size, channels = presets()[settings["module"]].size, settings["in_channels"]
    widths = tuple(settings[name] for name in WIDTHS)
    shape = (channels, size, size)
    reduced, naive = modules(channels, widths)
    values = {"size": size, "out_channels": reduced.out_channels,
              "params_reduced": count_parameters(reduced), "params_naive": count_parameters(naive),
              "macs_reduced": count_macs(reduced, shape), "macs_naive": count_macs(naive, shape)}
    values["params_saved"] = values["params_naive"] - values["params_reduced"]
    values["macs_saved"] = values["macs_naive"] - values["macs_reduced"]
    summary = (f"Inception module on a {size}×{size}×{channels} input, widths {', '.join(map(str, widths))}"
               f" → {values['out_channels']} channels: with the 1×1 reductions {values['params_reduced']:,} "
               f"parameters and {values['macs_reduced']:,} MACs, without them {values['params_naive']:,} "
               f"parameters and {values['macs_naive']:,} MACs")
    v = {name: value_html(name, value) for name, value in values.items()}
    rows = "".join(f"<tr><td>{label}</td><td>{v[f'params_{key}']}</td><td>{v[f'macs_{key}']}</td></tr>"
                   for label, key in ROWS)
    details = (f"<p>Input {v['size']}×{size}×{channels}, output {v['out_channels']} channels.</p>"
               '<table class="explorer-table"><tr><th></th><th>parameters</th><th>MACs</th></tr>'
               f"{rows}</table>"
               f'<p style="font-size:smaller">{LEGEND}</p>')
    return Frame(_figure(_bars(reduced, naive, shape)), summary, details, values)


def _follow(controls: dict[str, widgets.ValueWidget], name: str, _old: Any, new: Any) -> None:
    """A module chosen in the drop-down sets the input channels and the six widths to its own."""
    if name == "module":
        preset = presets()[new]
        controls["in_channels"].value = preset.in_channels
        for width_name, width in zip(WIDTHS, preset.widths, strict=True):
            controls[width_name].value = width


def _setting(name: str, value: object, high: int) -> int:
    """``value`` if a slider from 1 to ``high`` can show it; otherwise one sentence."""
    if not is_whole(value) or not 1 <= value <= high:
        raise CourseError(f"{name} must be a whole number from 1 to {high}; got {value!r}.")
    return int(value)


def inception_budget(module: str = "3a", in_channels: int | None = None, ch1x1: int | None = None,
                     ch3x3red: int | None = None, ch3x3: int | None = None, ch5x5red: int | None = None,
                     ch5x5: int | None = None, pool_proj: int | None = None) -> Explorer:
    """A drop-down of GoogLeNet's modules (``"3a"`` ... ``"5b"``) and sliders for the input channels and the
    six widths, which start at the module's own (Table 1) where not given; the parameters and MACs with and
    without the 1x1 reductions follow them."""
    table = presets()
    if module not in table:
        raise CourseError(f"GoogLeNet has no Inception module {module!r}; choose one of {', '.join(table)}.")
    preset = table[module]
    given = dict(zip(WIDTHS, (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj), strict=True))
    widths = {name: _setting(name, preset.widths[i] if given[name] is None else given[name], MAX_WIDTH)
              for i, name in enumerate(WIDTHS)}
    channels = _setting("in_channels", preset.in_channels if in_channels is None else in_channels,
                        MAX_IN_CHANNELS)

    def slider(description: str, value: int, high: int) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=1, max=high, description=description,
                                 continuous_update=False)

    controls: dict[str, widgets.ValueWidget] = {
        "module": widgets.Dropdown(options=list(table), value=module, description="module"),
        "in_channels": slider("input channels", channels, MAX_IN_CHANNELS),
        **{name: slider(label, widths[name], MAX_WIDTH) for name, label in zip(WIDTHS, LABELS, strict=True)},
    }
    return Explorer(controls, _render, lambda _settings, _message: _figure(None), follow=_follow)
