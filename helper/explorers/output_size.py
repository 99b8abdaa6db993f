"""Notebook 01's explorer: the output size of a convolution or max-pooling layer, drawn as Dumoulin &
Visin draw it (*A guide to convolution arithmetic for deep learning*, 2016): the input, its padding and
the positions of the kernel, next to the output grid.

The numbers come from :mod:`helper.arithmetic`, which also says in one sentence why a setting is impossible.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helper.arithmetic import conv_output_size, pool_output_size
from helper.explorers.base import Explorer, Frame, value_html

LAYERS = ("convolution", "max pooling")
# cell colours of the input picture (RGB); the output grid uses OUTPUT and FIRST_OUTPUT
INPUT, PADDING, UNREAD, TAP, PADDING_TAP = "#a6c8e6", "#ffffff", "#d9d9d9", "#1f4e79", "#8c8c8c"
OUTPUT, FIRST_OUTPUT, WINDOW, START = "#a8d5a2", "#2e7d32", "#e65100", "#c62828"
# what the colours mean, under the numbers (a notebook's text says it again for the static picture)
LEGEND = ("dark blue: the first window's taps (grey in the padding) · red dots: where the windows start · "
          "orange: the first and (dashed) last window · light grey: input pixels that no window reads")


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _grid_lines(ax: Any, cells: int) -> None:
    """Thin lines between the cells of a ``cells`` x ``cells`` grid."""
    edges = np.arange(cells + 1) - 0.5
    ax.hlines(edges, -0.5, cells - 0.5, color="#666666", linewidth=0.6)
    ax.vlines(edges, -0.5, cells - 0.5, color="#666666", linewidth=0.6)


def output_size_of(settings: dict[str, Any]) -> int:
    """The output length for the explorer's settings, from helper.arithmetic."""
    n, k, s, p, d = (settings[key] for key in ("size", "kernel_size", "stride", "padding", "dilation"))
    if settings["layer"] == "convolution":
        return conv_output_size(n, k, s, p, d)
    return pool_output_size(n, k, s, p, d, ceil_mode=settings["ceil_mode"])


def _formula(settings: dict[str, Any], out: int) -> str:
    """The output-size formula as HTML, once with letters and once with the numbers filled in."""
    n, k, s, p, d = (settings[key] for key in ("size", "kernel_size", "stride", "padding", "dilation"))
    ceil = settings["layer"] == "max pooling" and settings["ceil_mode"]
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    letters = f"out = {left}(n + 2p − d(k − 1) − 1) / s{right} + 1"
    numbers = f"{left}({n} + 2·{p} − {d}·({k} − 1) − 1) / {s}{right} + 1"
    dropped = ""
    if ceil and out < -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1:
        dropped = " (the last window would start in the right padding, so PyTorch drops it)"
    return (f'<p class="explorer-formula"><code>{letters}</code> = <code>{numbers}</code> = '
            f'{value_html("output", out)}{dropped}</p>'
            f'<p style="font-size:smaller">{LEGEND}</p>')


def _input_picture(ax: Any, settings: dict[str, Any], starts: list[int]) -> None:
    """The padded input: input and padding cells, the first window's taps, every window's start (dots),
    the first and last windows' outlines, and input pixels that no window reads (grey)."""
    n, k, p, d = settings["size"], settings["kernel_size"], settings["padding"], settings["dilation"]
    side = n + 2 * p
    span = d * (k - 1) + 1
    inside = np.zeros(side, bool)
    inside[p:p + n] = True
    read = np.zeros(side, bool)
    for start in starts:
        read[start:start + span:d] = True
    colours = np.empty((side, side, 3))
    is_input = inside[:, None] & inside[None, :]
    colours[:] = _rgb(PADDING)
    colours[is_input] = _rgb(INPUT)
    colours[is_input & ~(read[:, None] & read[None, :])] = _rgb(UNREAD)
    taps = np.zeros(side, bool)
    taps[0:span:d] = True
    first = taps[:, None] & taps[None, :]
    colours[first & is_input] = _rgb(TAP)
    colours[first & ~is_input] = _rgb(PADDING_TAP)
    reach = max(side, (starts[-1] if starts else 0) + span)
    ax.imshow(colours, extent=(-0.5, side - 0.5, side - 0.5, -0.5))
    _grid_lines(ax, side)
    ax.add_patch(Rectangle((p - 0.5, p - 0.5), n, n, fill=False, edgecolor="black", linewidth=1.5))
    for start in sorted({*starts[:1], *starts[-1:]}) or [0]:
        ax.add_patch(Rectangle((start - 0.5, start - 0.5), span, span, fill=False, edgecolor=WINDOW,
                               linewidth=2, linestyle="-" if start == 0 else "--"))
    ys, xs = np.meshgrid(starts, starts, indexing="ij")
    ax.plot(xs.ravel(), ys.ravel(), "o", color=START, markersize=3)
    ax.set(xlim=(-0.5, reach - 0.5), ylim=(reach - 0.5, -0.5), xticks=[], yticks=[])
    ax.set_frame_on(False)


def _output_picture(ax: Any, out: int) -> None:
    """The output grid, its first cell (the first window's result) dark."""
    colours = np.empty((out, out, 3))
    colours[:] = _rgb(OUTPUT)
    colours[0, 0] = _rgb(FIRST_OUTPUT)
    ax.imshow(colours, extent=(-0.5, out - 0.5, out - 0.5, -0.5))
    _grid_lines(ax, out)
    ax.set(xticks=[], yticks=[])
    ax.set_frame_on(False)


def _figure(settings: dict[str, Any], out: int | None) -> Figure:
    """The padded input beside the output grid (``out`` outputs per side; None: an impossible setting)."""
    figure = Figure(figsize=(7.5, 3.6))
    left = figure.add_axes((0.02, 0.02, 0.55, 0.9))
    right = figure.add_axes((0.62, 0.02, 0.36, 0.9))
    stride = settings["stride"]
    side = settings["size"] + 2 * settings["padding"]
    starts = [i * stride for i in range(out)] if out else []
    _input_picture(left, settings, starts)
    n = settings["size"]
    left.set_title(f"{settings['layer']} on {n}×{n}, padding {settings['padding']}", fontsize=10)
    if out:
        _output_picture(right, out)
        right.set_title(f"output {out}×{out}", fontsize=10)
        right.set(xlim=(-0.5, max(out, side / 1.5) - 0.5), ylim=(max(out, side / 1.5) - 0.5, -0.5))
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "no output\n(the sentence above says why)", ha="center", va="center", fontsize=9)
    return figure


def _render(settings: dict[str, Any]) -> Frame:
    out = output_size_of(settings)
    n = settings["size"]
    options = ", ".join(f"{name} {settings[key]}" for name, key in (
        ("kernel", "kernel_size"), ("stride", "stride"), ("padding", "padding"), ("dilation", "dilation"),
        *([("ceil_mode", "ceil_mode")] if settings["layer"] == "max pooling" else [])))
    summary = f"{settings['layer']}: {n}×{n} input, {options} → {out}×{out} output"
    return Frame(_figure(settings, out), summary, _formula(settings, out), {"output": out})


def output_size(layer: str = "convolution", size: int = 7, kernel_size: int = 3, stride: int = 2,
                padding: int = 1, dilation: int = 1, ceil_mode: bool = False) -> Explorer:
    """Sliders for a convolution's or max-pooling's settings; the output size and the grid follow them."""
    def slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
        return widgets.IntSlider(value=value, min=low, max=high, description=description,
                                 continuous_update=False)

    controls = {
        "layer": widgets.Dropdown(options=LAYERS, value=layer, description="layer"),
        "size": slider("input size n", size, 1, 16),
        "kernel_size": slider("kernel k", kernel_size, 1, 7),
        "stride": slider("stride s", stride, 1, 4),
        "padding": slider("padding p", padding, 0, 4),
        "dilation": slider("dilation d", dilation, 1, 4),
        "ceil_mode": widgets.Checkbox(value=ceil_mode, description="ceil_mode (pooling)"),
    }
    return Explorer(controls, _render, lambda settings, _message: _figure(settings, None))
