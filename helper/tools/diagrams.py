"""Maintainer tool: draw the architecture diagrams that the notebooks show, into ``helper/figures/``.

    python -m helper.tools diagrams                   # redraw every diagram into helper/figures/
    python -m helper.tools diagrams residual_block    # only that one
    python -m helper.tools diagrams --out build/fig   # into another folder

The PNG files are committed package data; a notebook shows one with
``plotting.show_diagram("im2col")``, whose output is committed too, so the diagram appears before the
notebook is run. Each file carries its figure function's one-line docstring as its ``Description``
(the output's text form). Every figure is drawn here with matplotlib patches on one canvas whose data
coordinates are inches, with the matplotlib default style, so redrawing with the same matplotlib gives
the same pixels (``tests/test_diagrams.py`` checks that the committed files are up to date).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import matplotlib
import numpy as np
from matplotlib import ft2font, style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, Rectangle
from matplotlib.path import Path as MplPath

from helper.paths import checkout_root
from helper.plotting import DIAGRAMS

if TYPE_CHECKING:
    from matplotlib.typing import LegendLocType, LineStyleType

FIGURE_DIR = DIAGRAMS  # helper/figures/, where helper.plotting.show_diagram reads them
DPI = 100
# Written into every PNG; the test compares pixels only when it matches (other versions draw text a bit
# differently).
SOURCE = (f"helper.tools.diagrams, matplotlib {matplotlib.__version__}, "
          f"FreeType {ft2font.__freetype_version__}")
STYLE: list[str | dict[str, Any]] = [
    "default", {"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans"}]

FONT, SMALL, TITLE = 10, 9, 12  # points
INK, GREY = "#333333", "#999999"
# One colour per kind of layer, the same in every figure.
COLORS = {
    "data": "#eeeeee",  # images, feature maps, vectors
    "conv": "#9ecae1",
    "pool": "#fdd0a2",
    "act": "#c7e9c0",  # batch norm, ReLU, dropout, softmax (each legend names those it shows)
    "linear": "#dadaeb",
    "concat": "#fcbba1",  # filter concatenation, Inception modules
}
KIND_NAMES = {
    "data": "input, feature maps",
    "conv": "convolution",
    "pool": "pooling",
    "linear": "fully connected",
    "concat": "concatenation, Inception module",
}
# A window at its first and at its second position, and the output cell that each gives.
FIRST, SECOND = "#d62728", "#1f77b4"
FIRST_FILL, SECOND_FILL = "#f7b6b6", "#b3d1ee"


# ---------------------------------------------------------------------------------------------------
# Drawing helpers, shared by every figure
# ---------------------------------------------------------------------------------------------------

def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A white ``width`` x ``height`` inch figure whose data coordinates are inches from the lower left."""
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def _text(ax: Axes, x: float, y: float, text: str, size: float = FONT, **options: Any) -> None:
    """``text`` centred on (x, y) unless ``options`` (``ha``, ``va``, ``color``, ...) say otherwise."""
    ax.text(x, y, text, **{"ha": "center", "va": "center", "fontsize": size, "color": INK, **options})


def _title(ax: Axes, x: float, y: float, text: str) -> None:
    """A panel title whose left end is at (x, y)."""
    _text(ax, x, y, text, TITLE, ha="left", weight="bold")


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str, kind: str, *,
         size: float = FONT, rotation: float = 0) -> None:
    """A rounded box of ``kind``'s colour centred on (x, y), with ``text`` in its middle."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=COLORS[kind], edgecolor=INK, linewidth=1))
    if text:
        _text(ax, x, y, text, size, rotation=rotation, linespacing=1.25)


def _arrow(ax: Axes, *points: tuple[float, float], color: str = INK, rad: float = 0.0,
           linewidth: float = 1.3) -> None:
    """An arrow through ``points`` (a straight or, with ``rad``, bent line for two), its head at the last."""
    common: dict[str, Any] = {"arrowstyle": "-|>", "mutation_scale": 11, "color": color,
                              "linewidth": linewidth, "shrinkA": 0, "shrinkB": 0, "zorder": 3}
    if len(points) == 2:
        ax.add_patch(FancyArrowPatch(*points, connectionstyle=f"arc3,rad={rad}", **common))
    else:
        ax.add_patch(FancyArrowPatch(path=MplPath(points), **common))


def _plus(ax: Axes, x: float, y: float, r: float) -> None:
    """The ⊕ node of an addition, radius ``r``."""
    ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=INK, linewidth=1.3))
    ax.plot([x - 0.6 * r, x + 0.6 * r], [y, y], color=INK, linewidth=1.3)
    ax.plot([x, x], [y - 0.6 * r, y + 0.6 * r], color=INK, linewidth=1.3)


def _legend(ax: Axes, handles: Sequence[Patch], *, loc: LegendLocType = "lower center",
            ncols: int | None = None) -> None:
    """A frameless legend of colour swatches."""
    ax.legend(handles=handles, loc=loc, ncols=ncols or len(handles), frameon=False, fontsize=SMALL,
              handlelength=1.6, handleheight=1.1, columnspacing=1.6, borderaxespad=0.3)


def _kinds(*kinds: str) -> list[Patch]:
    """Legend swatches for these kinds of layer."""
    return [Patch(facecolor=COLORS[k], edgecolor=INK, label=KIND_NAMES[k]) for k in kinds]


def _swatch(label: str, face: str, edge: str = INK, *, linewidth: float = 1.0,
            linestyle: LineStyleType = "-") -> Patch:
    """One legend swatch."""
    return Patch(facecolor=face, edgecolor=edge, linewidth=linewidth, linestyle=linestyle, label=label)


class Layer(NamedTuple):
    """One step of a chain: a box of a kind in ``COLORS``, an ``"add"`` (⊕) node or a ``"text"`` label."""

    text: str
    kind: str
    length: float  # inches along the chain


def _chain(ax: Axes, x: float, y: float, layers: Sequence[Layer], *, thickness: float, gap: float,
           vertical: bool = False, size: float = FONT, rotation: float = 0) -> list[tuple[float, float]]:
    """Layers joined by arrows, left to right from (x, y) or, ``vertical``, downwards; return their centres.

    ``y`` (horizontal) or ``x`` (vertical) is the chain's centre line.
    """
    centres = []
    along = y if vertical else x
    step = -1 if vertical else 1
    for i, layer in enumerate(layers):
        if i:
            start = along - step * gap
            if vertical:
                _arrow(ax, (x, start), (x, along))
            else:
                _arrow(ax, (start, y), (along, y))
        middle = along + step * layer.length / 2
        cx, cy = (x, middle) if vertical else (middle, y)
        w, h = (thickness, layer.length) if vertical else (layer.length, thickness)
        if layer.kind == "add":
            _plus(ax, cx, cy, layer.length / 2)
        elif layer.kind == "text":
            _text(ax, cx, cy, layer.text, size, rotation=rotation)
        else:
            _box(ax, cx, cy, w, h, layer.text, layer.kind, size=size, rotation=rotation)
        centres.append((cx, cy))
        along += step * (layer.length + gap)
    return centres


@dataclass(frozen=True)
class Grid:
    """A ``rows`` x ``cols`` grid of square cells with its lower-left corner at (x, y); row 0 is the top."""

    x: float
    y: float
    rows: int
    cols: int
    cell: float

    @property
    def width(self) -> float:
        return self.cols * self.cell

    @property
    def height(self) -> float:
        return self.rows * self.cell

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def top(self) -> float:
        return self.y + self.height

    def corner(self, r: int, c: int) -> tuple[float, float]:
        """The lower-left corner of cell (r, c)."""
        return self.x + c * self.cell, self.y + (self.rows - 1 - r) * self.cell

    def centre(self, r: int, c: int) -> tuple[float, float]:
        x, y = self.corner(r, c)
        return x + self.cell / 2, y + self.cell / 2

    def draw(self, ax: Axes, *, fill: str = COLORS["data"], labels: Sequence[Sequence[str]] | None = None,
             pad: int = 0, fills: Mapping[tuple[int, int], str] | None = None, size: float = SMALL) -> Grid:
        """Draw the cells (the outer ``pad`` rings as dashed zero padding) and their labels; return self."""
        for r in range(self.rows):
            for c in range(self.cols):
                padding = min(r, c, self.rows - 1 - r, self.cols - 1 - c) < pad
                face = "white" if padding else (fills or {}).get((r, c), fill)
                ax.add_patch(Rectangle(self.corner(r, c), self.cell, self.cell, facecolor=face,
                                       edgecolor=GREY if padding else INK, linewidth=0.8,
                                       linestyle="--" if padding else "-", zorder=1 if padding else 2))
                label = labels[r][c] if labels is not None else ("0" if padding else "")
                if label:
                    _text(ax, *self.centre(r, c), label, size, color=GREY if padding else INK, zorder=4)
        return self

    def frame(self, ax: Axes, r: int, c: int, rows: int, cols: int, color: str, inset: float = 0.0) -> None:
        """A thick outline around ``rows`` x ``cols`` cells from (r, c): a kernel's footprint."""
        x, y = self.corner(r + rows - 1, c)
        ax.add_patch(Rectangle((x + inset, y + inset), cols * self.cell - 2 * inset,
                               rows * self.cell - 2 * inset, fill=False, edgecolor=color, linewidth=2.4,
                               zorder=3))


def _conv_panel(ax: Axes, x: float, y: float, *, n: int, k: int, p: int, s: int, cell: float,
                gap: float = 0.6, image: np.ndarray | None = None, output: np.ndarray | None = None
                ) -> tuple[Grid, Grid]:
    """An n x n input (lower-left at (x, y)) with zero padding p, a k x k window at its first two positions
    (stride s apart) and, ``gap`` to the right, the output grid with the two cells they give."""
    size = n + 2 * p
    m = (size - k) // s + 1
    labels = None if image is None else [[str(v) for v in row] for row in np.pad(image, p)]
    source = Grid(x, y, size, size, cell).draw(ax, labels=labels, pad=p)
    source.frame(ax, 0, 0, k, k, FIRST)
    source.frame(ax, 0, s, k, k, SECOND, inset=0.045)
    target = Grid(source.right + gap, y + (size - m) * cell / 2, m, m, cell)
    target.draw(ax, fill=COLORS["conv"], fills={(0, 0): FIRST_FILL, (0, 1): SECOND_FILL},
                labels=None if output is None else [[str(v) for v in row] for row in output])
    _arrow(ax, (source.right + 0.1, y + size * cell / 2), (target.x - 0.1, y + size * cell / 2))
    return source, target


def _formula(n: int, k: int, p: int, s: int) -> str:
    """The output size formula evaluated, as mathtext."""
    out = (n + 2 * p - k) // s + 1
    return rf"$\mathrm{{out}} = \lfloor({n} + 2\cdot{p} - {k})\,/\,{s}\rfloor + 1 = {out}$"


# ---------------------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------------------

def padding_stride_grids() -> Figure:
    """A 3x3 kernel on a 5x5 input: no padding, "same" padding, padding 1 with stride 2."""
    fig, ax = _canvas(13.0, 4.0)
    cell = 0.3
    panels = (("(a) no padding, stride 1", 0, 1), ('(b) "same": padding 1, stride 1', 1, 1),
              ("(c) padding 1, stride 2", 1, 2))
    for i, (title, p, s) in enumerate(panels):
        left = 0.35 + i * 4.3
        _title(ax, left, 3.72, title)
        size = 5 + 2 * p
        _conv_panel(ax, left + (1 - p) * cell, 2.3 - size * cell / 2, n=5, k=3, p=p, s=s, cell=cell)
        _text(ax, left, 0.92, _formula(5, 3, p, s), ha="left")
    _text(ax, 6.5, 0.55, "out = ⌊(n + 2p − k) / s⌋ + 1 with input size n = 5, kernel size k = 3, "
                         "padding p and stride s", SMALL)
    _legend(ax, [_swatch("input pixel", COLORS["data"]),
                 _swatch("zero padding", "white", GREY, linestyle="--"),
                 _swatch("kernel at its 1st position", "white", FIRST, linewidth=2.4),
                 _swatch("2nd position (s cells on)", "white", SECOND, linewidth=2.4),
                 _swatch("the output cells they give", FIRST_FILL),
                 _swatch("output", COLORS["conv"])])
    return fig


def _walk(ax: Axes, grid: Grid, order: Sequence[tuple[int, int]]) -> None:
    """Number the cells of a 3x3 ``grid`` in visiting ``order`` and draw one red arrow along each row."""
    for number, (r, c) in enumerate(order, start=1):
        x, y = grid.corner(r, c)
        _text(ax, x + 0.1, y + grid.cell - 0.1, str(number), SMALL, color=FIRST, weight="bold")
    for row in range(3):
        (r, first), (_, last) = order[3 * row], order[3 * row + 2]
        y = grid.corner(r, 0)[1] + 0.07
        direction = 1 if last > first else -1
        start, end = grid.centre(r, first)[0] - 0.14 * direction, grid.centre(r, last)[0] + 0.14 * direction
        _arrow(ax, (start, y), (end, y), color=FIRST, linewidth=1.1)


def flipped_kernel() -> Figure:
    """Cross-correlation walks the kernel like the patch; convolution walks it backwards (= flipped)."""
    fig, ax = _canvas(12.8, 3.8)
    cell = 0.5
    patch = [[f"$x_{3 * r + c + 1}$" for c in range(3)] for r in range(3)]
    kernel = [list("abc"), list("def"), list("ghi")]
    forward = [(r, c) for r in range(3) for c in range(3)]
    flipped_sum = r"$z = i\,x_1 + h\,x_2 + \dots + a\,x_9$"
    panels = (
        ("(a) cross-correlation (nn.Conv2d)", forward, r"$Z[i,j] = \sum_{u,v}\, K[u,v]\; A[i+u,\, j+v]$",
         r"$z = a\,x_1 + b\,x_2 + \dots + i\,x_9$"),
        ("(b) convolution", forward[::-1], r"$Z[i,j] = \sum_{u,v}\, K[u,v]\; A[i-u,\, j-v]$", flipped_sum),
    )
    for i, (title, kernel_order, general, example) in enumerate(panels):
        left = 0.4 + i * 4.3
        _title(ax, left, 3.5, title)
        grids = ((patch, forward, "image patch A", COLORS["data"]),
                 (kernel, kernel_order, "kernel K", COLORS["conv"]))
        for j, (labels, order, name, fill) in enumerate(grids):
            grid = Grid(left + j * 2.1, 1.3, 3, 3, cell).draw(ax, labels=labels, size=13, fill=fill)
            _walk(ax, grid, order)
            _text(ax, grid.x + grid.width / 2, grid.top + 0.2, name)
        _text(ax, left + 1.8, 0.92, general)
        _text(ax, left + 1.8, 0.48, example)
    left = 9.1
    _title(ax, left, 3.5, "(c) = (b), kernel flipped 180°")
    grid = Grid(left + 0.85, 1.3, 3, 3, cell).draw(ax, labels=[row[::-1] for row in kernel[::-1]], size=13,
                                                  fill=COLORS["conv"])
    _walk(ax, grid, forward)
    middle = grid.x + grid.width / 2
    _text(ax, middle, grid.top + 0.2, "torch.flip(K, dims=(-2, -1))")
    _text(ax, middle, 0.92, "walked in the same order as A")
    _text(ax, middle, 0.48, flipped_sum)
    _text(ax, 6.4, 0.13, "red numbers and arrows: the order in which the loop visits the cells; cells with "
                         "the same number are multiplied together", SMALL, color=FIRST)
    return fig


SHARED = "#ffe680"  # the pixel that every im2col column repeats


def im2col() -> Figure:
    """A 3x3 kernel on a 4x4 image as one matrix product: patches unrolled into the columns of a matrix."""
    fig, ax = _canvas(12.2, 5.0)
    cell = 0.34
    pixels = np.arange(1, 17).reshape(4, 4)
    image = Grid(0.4, 2.45, 4, 4, cell).draw(ax, labels=[[str(v) for v in row] for row in pixels],
                                             fills={(1, 1): SHARED})
    image.frame(ax, 0, 0, 3, 3, FIRST)
    image.frame(ax, 0, 1, 3, 3, SECOND, inset=0.045)
    _text(ax, image.x + image.width / 2, image.top + 0.2, "image (4×4)")
    weights = [[f"$w_{3 * r + c + 1}$" for c in range(3)] for r in range(3)]
    kernel = Grid(0.57, 0.75, 3, 3, cell).draw(ax, labels=weights, fill=COLORS["conv"])
    _text(ax, kernel.x + kernel.width / 2, kernel.top + 0.2, "kernel (3×3)")

    columns = [pixels[r:r + 3, c:c + 3].ravel() for r in range(2) for c in range(2)]
    matrix = Grid(6.1, 0.85, 9, 4, cell)
    shared = {(t, j) for j, column in enumerate(columns) for t in range(9) if column[t] == 6}
    matrix.draw(ax, labels=[[str(column[t]) for column in columns] for t in range(9)],
                fills=dict.fromkeys(shared, SHARED))
    matrix.frame(ax, 0, 0, 9, 1, FIRST)
    matrix.frame(ax, 0, 1, 9, 1, SECOND)
    middle = matrix.y + matrix.height / 2
    row = Grid(2.55, middle - cell / 2, 1, 9, cell).draw(ax, labels=[[f"$w_{t + 1}$" for t in range(9)]],
                                                         fill=COLORS["conv"])
    _arrow(ax, (kernel.right + 0.1, kernel.y + kernel.height / 2), (row.x - 0.1, middle), rad=0.25)
    _text(ax, 2.25, 1.3, "flatten", SMALL)
    _text(ax, row.x + row.width / 2, middle + 0.42, "kernel as a row (1×9)")
    _text(ax, 5.82, middle, "×", 16)
    _text(ax, matrix.x + matrix.width / 2, matrix.y - 0.25, "patches as columns (9×4)")
    _arrow(ax, (image.right + 0.1, image.top - 0.2), (matrix.x + matrix.width / 2, matrix.top + 0.1),
           rad=-0.2)
    _text(ax, 4.3, 4.65, "unroll each 3×3 patch into one column (im2col)", SMALL)
    _text(ax, 7.9, middle, "=", 16)
    result = Grid(8.2, middle - cell / 2, 1, 4, cell)
    result.draw(ax, labels=[[f"$z_{j + 1}$" for j in range(4)]], fill=COLORS["conv"],
                fills={(0, 0): FIRST_FILL, (0, 1): SECOND_FILL})
    _text(ax, result.x + result.width / 2, middle + 0.42, "output (1×4)")
    output = Grid(10.75, middle - cell, 2, 2, cell)
    output.draw(ax, labels=[["$z_1$", "$z_2$"], ["$z_3$", "$z_4$"]], fill=COLORS["conv"],
                fills={(0, 0): FIRST_FILL, (0, 1): SECOND_FILL})
    _arrow(ax, (result.right + 0.12, middle), (output.x - 0.12, middle))
    _text(ax, (result.right + output.x) / 2, middle + 0.3, "reshape", SMALL)
    _text(ax, output.x + output.width / 2, output.top + 0.2, "output (2×2)")
    _text(ax, 9.45, 1.3, "one matrix product (GEMM)\ncomputes every output at once", SMALL)
    _text(ax, 6.1, 0.22, "The 16 pixels become 9 × 4 = 36 matrix entries: overlapping patches copy the "
                         "pixels they share (pixel 6, yellow, is in every column).\nThis is why convolution "
                         "by im2col on the CPU can need much more memory than the image itself.", SMALL)
    return fig


# channels, input size and number of 3x3 convolutions of each stage
VGG16_STAGES = ((64, 224, 2), (128, 112, 2), (256, 56, 3), (512, 28, 3), (512, 14, 3))
VGG_BLUES = {64: "#deebf7", 128: "#c6dbef", 256: "#9ecae1", 512: "#6baed6"}


def vgg16_stages() -> Figure:
    """VGG-16's five stages of 3x3 convolutions and its three fully connected layers."""
    fig, ax = _canvas(12.4, 5.2)
    middle, below = 2.75, 0.95

    def slab(x: float, size: int, width: float, color: str) -> float:
        """A layer as a rectangle, its height growing with the spatial ``size``; return its right edge."""
        height = 0.2 * size ** 0.5
        ax.add_patch(Rectangle((x, middle - height / 2), width, height, facecolor=color, edgecolor=INK,
                               linewidth=0.9))
        return x + width

    x = slab(0.55, 224, 0.09, COLORS["data"])
    _text(ax, x - 0.045, below, "input\n224×224×3", SMALL)
    _arrow(ax, (x + 0.06, middle), (x + 0.4, middle))
    x += 0.46
    for channels, size, convs in VGG16_STAGES:
        width = 0.025 * channels ** 0.5
        start = x
        for _ in range(convs):
            x = slab(x, size, width, VGG_BLUES[channels]) + 0.05
        stage_middle = (start + x - 0.05) / 2
        _text(ax, stage_middle, middle + 0.1 * size ** 0.5 + 0.2, f"{size}×{size}", SMALL)
        _text(ax, stage_middle, below, f"conv3-{channels}\n×{convs}", SMALL)
        x = slab(x + 0.03, size // 2, 0.13, COLORS["pool"]) + 0.16
    _text(ax, x - 0.22, middle + 0.1 * 7 ** 0.5 + 0.2, "7×7×512", SMALL)
    _arrow(ax, (x - 0.1, middle), (x + 0.6, middle))
    _text(ax, x + 0.25, middle - 0.55, "flatten\n25,088", SMALL)
    layers = [Layer("FC-4096", "linear", 0.36), Layer("FC-4096", "linear", 0.36),
              Layer("FC-1000", "linear", 0.36), Layer("softmax", "act", 0.36)]
    centres = _chain(ax, x + 0.6, middle, layers, thickness=1.4, gap=0.22, size=SMALL, rotation=90)
    _text(ax, centres[1][0], below, "3 fully connected\nlayers", SMALL)
    _text(ax, 6.2, 0.3, "13 convolutions (3×3, stride 1, padding 1) hold 14.7 M parameters; the 3 FC layers "
                        "hold 123.6 M, 89 % of VGG-16's 138.4 M.  Heights ∝ √(size), widths ∝ √(channels).",
          SMALL)
    _legend(ax, [*_kinds("data"), _swatch("convolution (darker: more channels)", VGG_BLUES[256]),
                 _swatch("2×2 max-pool, stride 2 (halves the size)", COLORS["pool"]), *_kinds("linear"),
                 _swatch("softmax", COLORS["act"])], loc="upper center")
    return fig


def _residual_row(ax: Axes, y: float, first: str, second: str, *, add: bool) -> list[tuple[float, float]]:
    """x → conv-BN-ReLU → conv-BN (→ ⊕) → ReLU → out on the line ``y``; return the centres."""
    layers = [Layer("x", "text", 0.3), Layer(first, "conv", 1.55), Layer("BN", "act", 0.55),
              Layer("ReLU", "act", 0.65), Layer(second, "conv", 1.55), Layer("BN", "act", 0.55),
              *([Layer("", "add", 0.36)] if add else []), Layer("ReLU", "act", 0.65),
              Layer("out", "text", 0.4)]
    centres = _chain(ax, 0.6, y, layers, thickness=0.6, gap=0.45)
    left, right = centres[1][0] - 0.775, centres[5][0] + 0.275
    ax.plot([left, left, right, right], [y - 0.42, y - 0.5, y - 0.5, y - 0.42], color=GREY, linewidth=1)
    _text(ax, (left + right) / 2, y - 0.68, "F(x)", SMALL)
    return centres


def residual_block() -> Figure:
    """Plain block, residual block with an identity shortcut, and a projection shortcut."""
    fig, ax = _canvas(12.0, 7.6)
    _title(ax, 0.35, 7.3, "(a) plain block: out = relu(F(x))")
    _residual_row(ax, 6.45, "conv 3×3\nC → C", "conv 3×3\nC → C", add=False)

    _title(ax, 0.35, 5.3, "(b) residual block, identity shortcut: out = relu(F(x) + x)")
    y = 4.0
    centres = _residual_row(ax, y, "conv 3×3\nC → C", "conv 3×3\nC → C", add=True)
    branch, plus = centres[0][0] + 0.375, centres[6][0]
    _arrow(ax, (branch, y), (branch, y + 0.75), (plus, y + 0.75), (plus, y + 0.18))
    _text(ax, (branch + plus) / 2, y + 0.93, "shortcut: x itself (no parameters)", SMALL)

    _title(ax, 0.35, 2.85, "(c) projection shortcut when the shape changes: out = relu(F(x) + BN(W x))")
    y = 1.3
    centres = _residual_row(ax, y, "conv 3×3, stride 2\nC → 2C", "conv 3×3\n2C → 2C", add=True)
    branch, plus, high = centres[0][0] + 0.375, centres[6][0], y + 0.95
    start = (branch + plus) / 2 - 1.6
    shortcut = [Layer("conv 1×1, stride 2, C → 2C", "conv", 2.3), Layer("BN", "act", 0.55)]
    projection = _chain(ax, start, high, shortcut, thickness=0.42, gap=0.35, size=SMALL)
    _arrow(ax, (branch, y), (branch, high), (start, high))
    _arrow(ax, (projection[1][0] + 0.275, high), (plus, high), (plus, y + 0.18))
    _text(ax, centres[0][0], y - 0.68, "x: C×H×W", SMALL)
    _text(ax, centres[-1][0], y - 0.68, "out: 2C×H/2×W/2", SMALL)
    _text(ax, 6.0, 0.18, "Option A (He et al. 2016, their CIFAR-10 ResNets): a parameter-free shortcut "
                         "instead, taking every 2nd pixel and padding the C new channels with zeros.", SMALL)
    _legend(ax, [*_kinds("conv"), _swatch("batch norm, ReLU", COLORS["act"])], loc="upper right")
    return fig


def bottleneck() -> Figure:
    """He et al. 2016, Fig. 5: the BasicBlock on 64 channels and the Bottleneck on 256."""
    fig, ax = _canvas(11.0, 7.7)
    blocks = (
        (2.6, "BasicBlock (ResNet-18, -34)", "64-d",
         [("3×3, 64", "conv"), ("ReLU", "act"), ("3×3, 64", "conv")], "conv weights: 2 · 3·3·64·64 = 73,728"),
        (8.2, "Bottleneck (ResNet-50, -101, -152)", "256-d",
         [("1×1, 64", "conv"), ("ReLU", "act"), ("3×3, 64", "conv"), ("ReLU", "act"), ("1×1, 256", "conv")],
         "conv weights: 256·64 + 3·3·64·64 + 64·256 = 69,632"),
    )
    for x, title, width, convs, weights in blocks:
        _text(ax, x, 7.35, title, TITLE, weight="bold")
        layers = [Layer(width, "text", 0.3),
                  *(Layer(text, kind, 0.5 if kind == "conv" else 0.34) for text, kind in convs),
                  Layer("", "add", 0.36), Layer("ReLU", "act", 0.34), Layer(width, "text", 0.3)]
        centres = _chain(ax, x, 6.95, layers, thickness=1.7, gap=0.3, vertical=True)
        top, plus = centres[0][1] - 0.3, centres[-3][1]
        side = x + 1.35
        _arrow(ax, (x, top), (side, top), (side, plus), (x + 0.18, plus))
        _text(ax, side + 0.12, (top + plus) / 2, "identity", SMALL, ha="left")
        _text(ax, x, 0.75, weights, SMALL)
    _text(ax, 5.5, 0.3, "The bottleneck's 1×1 layers shrink 256 channels to 64 and back, so a block on 4× "
                        "wider maps costs about the same.\nBatch norm after each convolution is not drawn "
                        "(as in the paper's figure).", SMALL)
    _legend(ax, [_swatch("convolution", COLORS["conv"]), _swatch("ReLU", COLORS["act"])], loc="upper center",
            ncols=1)
    return fig


def inception_module() -> Figure:
    """Szegedy et al. 2015, Fig. 2: the naive Inception module and the one with dimension reductions."""
    fig, ax = _canvas(12.6, 6.2)
    panels = (
        (3.15, "(a) naive",
         [[("1×1 conv\n64", "conv")], [("3×3 conv\n128", "conv")], [("5×5 conv\n32", "conv")],
          [("3×3 max-pool\n192 (as input)", "pool")]],
         "28×28×(64 + 128 + 32 + 192) = 28×28×416", "≈ 303 M multiply-adds (5×5 branch: 120 M)"),
        (9.45, "(b) with dimension reductions (inception 3a)",
         [[("1×1 conv\n64", "conv")], [("1×1 conv\n96", "conv"), ("3×3 conv\n128", "conv")],
          [("1×1 conv\n16", "conv"), ("5×5 conv\n32", "conv")],
          [("3×3 max-pool", "pool"), ("1×1 conv\n32", "conv")]],
         "28×28×(64 + 128 + 32 + 32) = 28×28×256", "≈ 128 M multiply-adds (5×5 branch: 12 M)"),
    )
    concat_y = 1.95
    for x, title, branches, shape, cost in panels:
        _text(ax, x, 5.9, title, TITLE, weight="bold")
        _box(ax, x, 5.25, 3.0, 0.42, "previous layer  28×28×192", "data")
        _box(ax, x, concat_y, 5.4, 0.6, "filter concatenation\ntorch.cat(branches, dim=1)", "concat")
        for j, branch in enumerate(branches):
            bx = x + (j - 1.5) * 1.42
            _arrow(ax, (x + (j - 1.5) * 0.7, 5.04), (bx, 4.55))
            centres = _chain(ax, bx, 4.55, [Layer(text, kind, 0.56) for text, kind in branch],
                             thickness=1.3, gap=0.35, vertical=True, size=SMALL)
            _arrow(ax, (bx, centres[-1][1] - 0.28), (bx, concat_y + 0.3))
        _text(ax, x, 1.35, shape, SMALL)
        _text(ax, x, 1.05, cost, SMALL)
    _text(ax, 6.3, 0.65, "Every branch keeps the 28×28 size (\"same\" padding; the pooling has stride 1), so "
                         "the outputs stack along the channel axis.", SMALL)
    _legend(ax, _kinds("data", "conv", "pool", "concat"))
    return fig


GOOGLENET = (  # Szegedy et al. 2015, Table 1: layer, output size, kind
    ("input", "224×224×3", "data"), ("conv 7×7/2, 64", "112×112×64", "conv"),
    ("max-pool 3×3/2", "56×56×64", "pool"), ("conv 1×1, 64", "56×56×64", "conv"),
    ("conv 3×3, 192", "56×56×192", "conv"), ("max-pool 3×3/2", "28×28×192", "pool"),
    ("inception 3a", "28×28×256", "concat"), ("inception 3b", "28×28×480", "concat"),
    ("max-pool 3×3/2", "14×14×480", "pool"), ("inception 4a", "14×14×512", "concat"),
    ("inception 4b", "14×14×512", "concat"), ("inception 4c", "14×14×512", "concat"),
    ("inception 4d", "14×14×528", "concat"), ("inception 4e", "14×14×832", "concat"),
    ("max-pool 3×3/2", "7×7×832", "pool"), ("inception 5a", "7×7×832", "concat"),
    ("inception 5b", "7×7×1024", "concat"), ("global avg-pool", "1×1×1024", "pool"),
    ("dropout 0.4", "", "act"), ("linear", "1000", "linear"), ("softmax", "main loss", "act"),
)
AUXILIARY_HEAD = (("avg-pool\n5×5/3", "pool"), ("conv 1×1\n128", "conv"), ("FC\n1024", "linear"),
                  ("dropout\n0.7", "act"), ("FC\n1000", "linear"))


def googlenet() -> Figure:
    """GoogLeNet's pipeline with its two auxiliary classifiers (training only)."""
    fig, ax = _canvas(12.9, 6.6)
    middle = 3.35
    layers = [Layer(f"{name}\n{size}" if size else name, kind, 0.44) for name, size, kind in GOOGLENET]
    centres = _chain(ax, 0.25, middle, layers, thickness=1.75, gap=0.13, rotation=90, size=SMALL)
    for after, name, y in ((9, "auxiliary head 1", 5.75), (12, "auxiliary head 2", 0.95)):
        x = centres[after][0]
        above = y > middle
        _arrow(ax, (x, middle + (0.875 if above else -0.875)), (x, y), (x + 0.3, y))
        head = [*(Layer(text, kind, 0.72) for text, kind in AUXILIARY_HEAD),
                Layer("softmax,\nloss × 0.3", "text", 0.7)]
        _chain(ax, x + 0.3, y, head, thickness=0.58, gap=0.16, size=SMALL)
        _text(ax, x + 0.3, y + (0.45 if above else -0.45), f"{name}, after {GOOGLENET[after][0]}", SMALL,
              ha="left")
    _text(ax, 0.25, 6.35, "GoogLeNet (Szegedy et al. 2015)", TITLE, ha="left", weight="bold")
    _text(ax, 0.25, 5.95, "training loss = main loss + 0.3 × (auxiliary loss 1 + 2);\n"
                          "the auxiliary heads are dropped at test time", SMALL, ha="left", va="top")
    kinds = [*_kinds("data", "conv", "pool", "concat", "linear"), _swatch("dropout, softmax", COLORS["act"])]
    _legend(ax, kinds, loc="lower left", ncols=2)
    return fig


def _cone(ax: Axes, grid: Grid, r: int, c: int, k: int, targets: Sequence[tuple[float, float]]) -> None:
    """Thin lines from the two right corners of the k x k window at (r, c) to the two ``targets``."""
    x, y = grid.corner(r + k - 1, c)
    corners = ((x + k * grid.cell, y + k * grid.cell), (x + k * grid.cell, y))
    for (x0, y0), (x1, y1) in zip(corners, targets, strict=True):
        ax.plot([x0, x1], [y0, y1], color=GREY, linewidth=0.9, zorder=1)


def mlpconv() -> Figure:
    """Lin et al. 2014, Fig. 1: a linear convolution vs an mlpconv layer (a small MLP slid over the image)."""
    fig, ax = _canvas(12.4, 4.0)
    cell = 0.3
    inputs = []
    for left, title in ((0.35, "(a) linear convolution"), (6.35, "(b) mlpconv layer")):
        _title(ax, left, 3.72, title)
        grid = Grid(left, 1.25, 5, 5, cell).draw(ax)
        grid.frame(ax, 1, 1, 3, 3, FIRST)
        _text(ax, left + grid.width / 2, 0.95, "input", SMALL)
        inputs.append(grid)
    middle = 1.25 + 2.5 * cell
    out_a = Grid(4.4, middle - 1.5 * cell, 3, 3, cell).draw(ax, fill=COLORS["conv"],
                                                            fills={(1, 1): FIRST_FILL})
    _cone(ax, inputs[0], 1, 1, 3, [out_a.centre(1, 1)] * 2)
    _text(ax, out_a.x + out_a.width / 2, 0.95, "feature map", SMALL)
    _text(ax, 3.05, 3.15, "one linear filter w · x + b (then a ReLU):\none value per position", SMALL)

    columns = (8.55, 9.5, 10.45)
    nodes = [middle + 0.3 * (i - 1.5) for i in range(4)]
    for x0, x1 in zip(columns, columns[1:], strict=False):
        for y0 in nodes:
            for y1 in nodes:
                ax.plot([x0, x1], [y0, y1], color=GREY, linewidth=0.6, zorder=1)
    _cone(ax, inputs[1], 1, 1, 3, [(columns[0], nodes[-1]), (columns[0], nodes[0])])
    out_b = Grid(11.3, middle - 1.5 * cell, 3, 3, cell).draw(ax, fill=COLORS["conv"],
                                                             fills={(1, 1): FIRST_FILL})
    for y in nodes:
        ax.plot([columns[-1], out_b.centre(1, 1)[0]], [y, out_b.centre(1, 1)[1]], color=GREY, linewidth=0.6,
                zorder=1)
    for x, label in zip(columns, ("3×3 conv\n+ ReLU", "1×1 conv\n+ ReLU", "1×1 conv\n+ ReLU"), strict=True):
        for y in nodes:
            ax.add_patch(Circle((x, y), 0.1, facecolor=COLORS["conv"], edgecolor=INK, linewidth=1, zorder=3))
        _text(ax, x, 1.12, label, SMALL)
    _text(ax, out_b.x + out_b.width / 2, 0.95, "feature map", SMALL)
    _text(ax, 9.5, 3.15, "a micro network (MLP) on each 3×3 window,\nthe same weights at every position",
          SMALL)
    _text(ax, 6.2, 0.35, "In PyTorch an mlpconv layer is Conv2d(C, m, 3) → ReLU → Conv2d(m, m, 1) → ReLU → "
                         "Conv2d(m, m, 1) → ReLU: the 1×1 convolutions are the MLP's hidden layers.", SMALL)
    return fig


def _stack(ax: Axes, x: float, y: float, count: int, side: float, step: float) -> None:
    """``count`` square feature maps of ``side`` inches, each ``step`` up and right of the one before."""
    for i in range(count):
        ax.add_patch(Rectangle((x + i * step, y + i * step), side, side, facecolor=COLORS["conv"],
                               edgecolor=INK, linewidth=0.8))


def gap_head() -> Figure:
    """The classic flatten-and-FC head vs Network in Network's global average pooling head."""
    fig, ax = _canvas(12.4, 5.4)
    _title(ax, 0.35, 5.1, "(a) classic head (VGG-16 on ImageNet): 123.6 M parameters")
    y = 3.85
    _stack(ax, 0.5, y - 0.6, 5, 0.9, 0.07)
    _text(ax, 1.1, y - 0.85, "7×7×512 maps", SMALL)
    _arrow(ax, (1.85, y), (2.5, y))
    _text(ax, 2.18, y + 0.22, "flatten", SMALL)
    layers = [Layer("25,088", "data", 0.9), Layer("FC 4096\n102.8 M", "linear", 1.15),
              Layer("FC 4096\n16.8 M", "linear", 1.15), Layer("FC 1000\n4.1 M", "linear", 1.15),
              Layer("softmax", "act", 0.95), Layer("class\nprobabilities", "text", 0.9)]
    _chain(ax, 2.6, y, layers, thickness=0.62, gap=0.4)
    _text(ax, 6.9, y - 0.6, "(parameters of each layer, weights + biases)", SMALL)

    _title(ax, 0.35, 2.45,
           "(b) Network in Network head (CIFAR-10): 1,930 parameters, all in its 1×1 convolution")
    y = 1.2
    _box(ax, 1.15, y, 1.5, 0.62, "1×1 conv → 10\n1,930", "conv")
    _arrow(ax, (1.95, y), (2.5, y))
    _stack(ax, 2.6, y - 0.7, 10, 0.75, 0.06)
    _text(ax, 3.25, y - 0.98, "10 class maps, 8×8", SMALL)
    vector = Grid(6.2, y - 0.8, 10, 1, 0.16).draw(ax)
    _arrow(ax, (4.05, y), (6.1, y))
    _text(ax, 5.05, y + 0.5, "global average pooling:\nthe mean of each map", SMALL)
    _text(ax, 5.05, y - 0.45, "nn.AdaptiveAvgPool2d(1)", SMALL)
    _text(ax, vector.right + 0.1, y - 0.98, "10 logits", SMALL)
    _arrow(ax, (vector.right + 0.1, y), (vector.right + 0.5, y))
    _chain(ax, vector.right + 0.5, y, layers[-2:], thickness=0.62, gap=0.4)
    _text(ax, 10.1, y, "each logit is the average of\nits own class map: nothing\nto learn, nothing to "
                       "overfit", SMALL, ha="left")
    return fig


def fc_as_conv() -> Figure:
    """An FC layer on a 2x2 input is a conv layer with two 2x2 kernels; on a 3x3 input it gives score maps."""
    fig, ax = _canvas(12.4, 5.0)
    cell = 0.45
    unit_1, unit_2 = COLORS["linear"], "#bcbddc"
    _title(ax, 0.35, 4.7, "(a) a fully connected layer on a 2×2 input")
    values = [["$x_1$"], ["$x_2$"], ["$x_3$"], ["$x_4$"]]
    image = Grid(0.4, 3.05, 2, 2, cell).draw(ax, labels=[["$x_1$", "$x_2$"], ["$x_3$", "$x_4$"]], size=FONT)
    _text(ax, image.x + cell, image.top + 0.2, "input (2×2)", SMALL)
    _arrow(ax, (image.right + 0.1, 3.5), (1.9, 3.5))
    _text(ax, 1.6, 3.72, "flatten", SMALL)
    column = Grid(2.0, 2.6, 4, 1, cell).draw(ax, labels=values, size=FONT)
    _arrow(ax, (column.right + 0.1, 3.5), (4.45, 3.5))
    _text(ax, 3.5, 3.72, "y = W x + b", FONT)
    scores = Grid(4.55, 3.05, 2, 1, cell).draw(ax, labels=[["$y_1$"], ["$y_2$"]], fill=unit_1,
                                               fills={(1, 0): unit_2}, size=FONT)
    _text(ax, scores.x + cell / 2, scores.top + 0.2, "y", SMALL)
    weights = [[f"$w_{{{r + 1},{c + 1}}}$" for c in range(4)] for r in range(2)]
    matrix = Grid(2.75, 2.05, 2, 4, cell).draw(ax, labels=weights, fill=unit_1,
                                               fills={(1, c): unit_2 for c in range(4)})
    _text(ax, matrix.right + 0.12, matrix.y + cell, "W (2×4):\none row\nper unit", SMALL, ha="left")
    kernels = []
    for left, r, fill, name in ((1.2, 0, unit_1, "$W_1$"), (3.6, 1, unit_2, "$W_2$")):
        kernel = Grid(left, 0.35, 2, 2, cell).draw(ax, labels=[weights[r][:2], weights[r][2:]], fill=fill)
        _text(ax, kernel.x + cell, kernel.top + 0.18, name, FONT)
        kernels.append(kernel)
    _arrow(ax, (matrix.x + 0.3, matrix.y - 0.05), (kernels[0].x + cell, kernels[0].top + 0.38), rad=0.3)
    _arrow(ax, (matrix.right - 0.3, matrix.y - 0.05), (kernels[1].x + cell, kernels[1].top + 0.38), rad=-0.2)
    _text(ax, 2.85, 0.8, "each row of W\nbecomes a\n2×2 kernel", SMALL)

    _title(ax, 6.6, 4.7, "(b) the same kernels slid over a 3×3 input")
    big = Grid(6.8, 1.95, 3, 3, cell).draw(ax)
    big.frame(ax, 0, 0, 2, 2, FIRST)
    big.frame(ax, 1, 1, 2, 2, SECOND, inset=0.045)
    _text(ax, big.x + big.width / 2, big.top + 0.2, "input (3×3)", SMALL)
    start = (big.right + 0.12, big.y + big.height / 2)
    for bottom, unit, fill, above in ((3.0, 1, unit_1, True), (1.35, 2, unit_2, False)):
        maps = Grid(10.0, bottom, 2, 2, cell).draw(ax, fill=fill,
                                                   fills={(0, 0): FIRST_FILL, (1, 1): SECOND_FILL})
        end = (maps.x - 0.12, maps.y + cell)
        _arrow(ax, start, end)
        _text(ax, (start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + (0.22 if above else -0.22),
              rf"slide $W_{unit}$", SMALL)
        _text(ax, maps.right + 0.15, maps.y + cell, f"scores of unit {unit}", SMALL, ha="left")
    _text(ax, 9.5, 0.85, "Each cell is the FC layer applied to one 2×2 window: the red cells are\n"
                         "y₁ and y₂ for the red window, the blue cells for the blue one.", SMALL)
    _text(ax, 9.5, 0.3, "nn.Linear(4, 2) = nn.Conv2d(1, 2, kernel_size=2) with weight W.view(2, 1, 2, 2)",
          SMALL)
    return fig


PI_DIGITS = "3141592653589793238462643383279502884197169399375"  # 49 pixel values for a 7x7 image


def allconv_downsampling() -> Figure:
    """All-CNN: 3x3 max-pooling with stride 2 vs a learnable 3x3 convolution with stride 2."""
    fig, ax = _canvas(12.4, 4.0)
    cell = 0.3
    image = np.array([int(d) for d in PI_DIGITS]).reshape(7, 7)
    kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))[::2, ::2]
    y = 1.2
    _title(ax, 0.35, 3.72, "(a) 3×3 max-pool, stride 2: the largest value")
    _, pooled = _conv_panel(ax, 0.5, y, n=7, k=3, p=0, s=2, cell=cell, image=image,
                            output=windows.max(axis=(2, 3)))
    _text(ax, 1.55, 0.85, _formula(7, 3, 0, 2), SMALL)
    _text(ax, pooled.x + pooled.width / 2, pooled.y - 0.25, "0 parameters", SMALL)
    _title(ax, 6.35, 3.72, "(b) 3×3 convolution, stride 2: a learned weighted sum")
    _, convolved = _conv_panel(ax, 6.5, y, n=7, k=3, p=0, s=2, cell=cell, gap=1.5, image=image,
                               output=(windows * kernel).sum(axis=(2, 3)))
    weights = Grid(9.22, 2.45, 3, 3, 0.25).draw(ax, labels=[[str(v) for v in row] for row in kernel],
                                                fill=COLORS["conv"])
    _text(ax, weights.x + weights.width / 2, weights.top + 0.18, "kernel (learned)", SMALL)
    _text(ax, 7.55, 0.85, _formula(7, 3, 0, 2), SMALL)
    _text(ax, convolved.x + convolved.width / 2, convolved.y - 0.25,
          r"$9\,C_\mathrm{in}C_\mathrm{out} + C_\mathrm{out}$ parameters", SMALL)
    _text(ax, 6.2, 0.3, "All-CNN (Springenberg et al. 2015) replaces every max-pool by such a strided "
                        "convolution: the same output size, but the network learns how to downsample.", SMALL)
    return fig


# He et al. 2016, Table 1: stage, output size, ResNet-34's and ResNet-152's layers there, kind
RESNET_STAGES = (
    ("conv1", "112×112", "7×7, 64, stride 2", "7×7, 64, stride 2", "conv"),
    ("max-pool", "56×56", "3×3, stride 2", "3×3, stride 2", "pool"),
    ("conv2_x\nlayer1", "56×56", "[3×3, 64\n3×3, 64] × 3", "[1×1, 64\n3×3, 64\n1×1, 256] × 3", "conv"),
    ("conv3_x\nlayer2", "28×28", "[3×3, 128\n3×3, 128] × 4", "[1×1, 128\n3×3, 128\n1×1, 512] × 8", "conv"),
    ("conv4_x\nlayer3", "14×14", "[3×3, 256\n3×3, 256] × 6", "[1×1, 256\n3×3, 256\n1×1, 1024] × 36", "conv"),
    ("conv5_x\nlayer4", "7×7", "[3×3, 512\n3×3, 512] × 3", "[1×1, 512\n3×3, 512\n1×1, 2048] × 3", "conv"),
    ("avg-pool", "1×1", "global average", "global average", "pool"),
    ("fc", "1000", "512 → 1000", "2048 → 1000", "linear"),
)


def resnet_stages() -> Figure:
    """He et al. 2016, Table 1: ResNet-34 and ResNet-152 stage by stage, with output sizes at 224x224."""
    fig, ax = _canvas(13.0, 6.0)
    _title(ax, 0.3, 5.7, "ResNet-34 and ResNet-152 on a 224×224 image (He et al. 2016, Table 1)")
    rows = ((4.1, "ResNet-34\n(basic blocks)", 2), (1.85, "ResNet-152\n(bottleneck blocks)", 3))
    left, width, gap = 1.75, 1.2, 0.19
    for y, label, _ in rows:
        _text(ax, 0.85, y, label, SMALL, weight="bold")
    for i, (stage, size, layers34, layers152, kind) in enumerate(RESNET_STAGES):
        x = left + i * (width + gap) + width / 2
        _text(ax, x, 5.2, stage, SMALL, weight="bold")
        _text(ax, x, 0.62, f"out: {size}", SMALL)
        for (y, _, _), text in zip(rows, (layers34, layers152), strict=True):
            _box(ax, x, y, width, 1.45, text, kind, size=SMALL)
            if i:
                _arrow(ax, (x - width / 2 - gap, y), (x - width / 2, y))
    _text(ax, 6.5, 0.22, "Blocks in brackets, × how many. The first block of layer2 to layer4 halves the "
                         "size (stride 2); a block that changes the shape has a projection shortcut.", SMALL)
    _legend(ax, [*_kinds("conv", "pool", "linear")], loc="upper right")
    return fig


BN_CHANNEL = "#fdae6b"  # the channel whose statistics the batch-norm figure follows


def batch_norm() -> Figure:
    """Batch norm: one mean and variance per channel over N·H·W values, then a learned scale and shift."""
    fig, ax = _canvas(12.0, 5.4)
    _title(ax, 0.3, 5.1, "BatchNorm2d on a batch N × C × H × W (here N = 4, C = 3)")
    side, depth = 0.9, 0.22
    for n in range(4):
        x0 = 0.5 + n * 1.45
        for c in reversed(range(3)):  # the back channel first
            face = BN_CHANNEL if c == 1 else COLORS["data"]
            ax.add_patch(Rectangle((x0 + c * depth, 2.6 + c * depth), side, side, facecolor=face,
                                   edgecolor=INK, linewidth=0.9))
        _text(ax, x0 + side / 2 + depth, 2.3, f"image {n + 1}", SMALL)
    _text(ax, 0.5, 4.35, "channel c = 1 of every image: its N·H·W values give one mean μ_c and one "
                         "variance σ²_c", SMALL, ha="left")
    _arrow(ax, (6.35, 3.1), (7.0, 3.1))
    steps = [Layer("x̂ = (x − μ_c) / √(σ²_c + ε)", "act", 2.2), Layer("y = γ_c x̂ + β_c", "act", 1.6)]
    _chain(ax, 7.1, 3.1, steps, thickness=0.7, gap=0.35, size=SMALL)
    _text(ax, 9.45, 2.35, "γ_c, β_c: learned, 2 per channel", SMALL)
    _text(ax, 6.0, 1.55, "training mode: μ_c, σ²_c of this batch (running averages are updated);  "
                         "evaluation mode: the running averages", SMALL)
    _text(ax, 0.7, 0.2, "a bias of the conv before BN would be subtracted with the mean: it is not needed",
          SMALL, ha="left")
    rows = ((0.6, 0.75, "conv → BN → ReLU (VGG-BN, ResNet)", ["conv", "BN", "ReLU"]),
            (6.4, 0.75, "pre-activation (He et al. 2016b)", ["BN", "ReLU", "conv"]))
    for x, y, label, names in rows:
        _text(ax, x, y + 0.45, label, SMALL, ha="left", weight="bold")
        layers = [Layer(name, "conv", 1.2) if name == "conv" else Layer(name, "act", 0.6) for name in names]
        _chain(ax, x + 0.1, y, layers, thickness=0.42, gap=0.3, size=SMALL)
    return fig


def dilation() -> Figure:
    """A 3x3 kernel with dilation 1, 2 and 3: the same 9 weights spread over 3x3, 5x5 and 7x7 pixels."""
    fig, ax = _canvas(12.0, 4.1)
    cell, side = 0.3, 7
    for i, d in enumerate((1, 2, 3)):
        left = 0.5 + i * 4.0
        span = d * 2 + 1
        _title(ax, left, 3.8, f"({'abc'[i]}) dilation {d}: spans {span}×{span}")
        start = (side - span) // 2
        taps = {(start + d * r, start + d * c): FIRST_FILL for r in range(3) for c in range(3)}
        grid = Grid(left + 0.5, 0.95, side, side, cell).draw(ax, fills=taps)
        grid.frame(ax, start, start, span, span, FIRST)
        _text(ax, grid.x + grid.width / 2, 0.6, rf"$d(k-1)+1 = {d}\cdot 2+1 = {span}$", SMALL)
    _legend(ax, [_swatch("input pixel", COLORS["data"]), _swatch("a tap: one of the 9 weights", FIRST_FILL),
                 _swatch("the region the kernel sees", "white", FIRST, linewidth=2.4)])
    return fig


def ceil_mode_window() -> Figure:
    """MaxPool2d(2), 7 pixels: ceil_mode=False skips the last pixel, ceil_mode=True adds a partial window."""
    fig, ax = _canvas(12.0, 3.6)
    cell, n = 0.45, 7
    for i, ceil in enumerate((False, True)):
        left = 0.5 + i * 6.0
        outputs = -(-n // 2) if ceil else n // 2
        _title(ax, left, 3.3, f"({'ab'[i]}) ceil_mode={ceil}: {outputs} outputs")
        row = Grid(left, 2.0, 1, n, cell).draw(ax, labels=[[str(j) for j in range(n)]])
        if ceil:  # the part of the last window that lies outside the input
            ax.add_patch(Rectangle(row.corner(0, n), cell, cell, facecolor="white", edgecolor=GREY,
                                   linestyle="--", linewidth=0.8))
        for j in range(outputs):
            color = SECOND if ceil and j == outputs - 1 else FIRST
            row.frame(ax, 0, 2 * j, 1, 2, color, inset=0.03)
        out = Grid(left, 0.85, 1, outputs, 2 * cell)
        labels = [f"max{{{2 * j}, {2 * j + 1}}}" if 2 * j + 1 < n else f"max{{{2 * j}}}"
                  for j in range(outputs)]
        out.draw(ax, fill=COLORS["pool"], fills={(0, outputs - 1): SECOND_FILL} if ceil else None,
                 labels=[labels], size=SMALL)
        if not ceil:
            _text(ax, row.x + (n - 0.5) * cell, row.top + 0.2, "never read", SMALL, color=FIRST)
        else:
            _text(ax, row.x + (n + 0.5) * cell, row.top + 0.2, "outside the input", SMALL, color=SECOND)
    _legend(ax, [_swatch("input pixel", COLORS["data"]),
                 _swatch("a 2-pixel window, stride 2", "white", FIRST, linewidth=2.4),
                 _swatch("partial window: counted only with ceil_mode=True", "white", SECOND, linewidth=2.4),
                 _swatch("output", COLORS["pool"])])
    return fig


def _channel_column(ax: Axes, x: float, y: float, colours: Sequence[str],
                    cell: float) -> list[tuple[float, float]]:
    """One square per channel, stacked upwards from (x, y), each in its colour; return their centres."""
    centres = []
    for i, colour in enumerate(colours):
        ax.add_patch(Rectangle((x - cell / 2, y + i * cell), cell, cell, facecolor=colour, edgecolor=INK,
                               linewidth=0.8, zorder=3))
        centres.append((x, y + (i + 0.5) * cell))
    return centres


def _wires(ax: Axes, sources: Sequence[tuple[float, float]], targets: Sequence[tuple[float, float]],
           colour: str, half: float) -> None:
    """A thin line from the right edge of every source square to the left edge of every target square."""
    for x0, y0 in sources:
        for x1, y1 in targets:
            ax.plot([x0 + half, x1 - half], [y0, y1], color=colour, linewidth=0.8, zorder=1)


def modern_blocks() -> Figure:
    """Pre-activation block, dense block, grouped convolution and depthwise-separable convolution."""
    fig, ax = _canvas(12.4, 9.6)
    _title(ax, 0.35, 9.3, "(a) pre-activation residual block: out = x + F(x), nothing after the sum")
    y = 8.1
    layers = [Layer("x", "text", 0.3), Layer("BN", "act", 0.55), Layer("ReLU", "act", 0.65),
              Layer("conv 3×3", "conv", 1.2), Layer("BN", "act", 0.55), Layer("ReLU", "act", 0.65),
              Layer("conv 3×3", "conv", 1.2), Layer("", "add", 0.36), Layer("out", "text", 0.4)]
    centres = _chain(ax, 0.6, y, layers, thickness=0.6, gap=0.42)
    branch, plus = centres[0][0] + 0.3, centres[7][0]
    _arrow(ax, (branch, y), (branch, y + 0.72), (plus, y + 0.72), (plus, y + 0.18))
    _text(ax, (branch + plus) / 2, y + 0.9, "identity: x itself, exact for every x", SMALL)
    _text(ax, 10.9, y, "notebook 08's block\nadds a ReLU after ⊕:\nrelu(x + F(x))", SMALL)

    _title(ax, 0.35, 6.75, "(b) dense block: every layer reads all earlier maps and adds k channels")
    cell, base = 0.16, 4.75
    grey, new = COLORS["data"], COLORS["concat"]
    for i in range(4):
        x = 0.9 + 2.2 * i
        _channel_column(ax, x, base, [grey] * 3 + [new] * (2 * i), cell)
        _text(ax, x, base - 0.25, "k₀" if i == 0 else f"k₀ + {i}k", SMALL)
        if i < 3:
            _box(ax, x + 1.1, base + 0.45, 1.3, 0.5, "BN-ReLU-conv", "conv", size=SMALL)
            _arrow(ax, (x + cell, base + 0.45), (x + 0.45, base + 0.45))
            _arrow(ax, (x + 1.75, base + 0.45), (x + 2.2 - cell, base + 0.45))
    _box(ax, 10.55, base + 0.45, 2.6, 0.7, "transition: BN-ReLU-\nconv 1×1 (× θ), avg pool 2×2", "pool",
         size=SMALL)
    _arrow(ax, (7.5 + cell, base + 0.45), (9.25, base + 0.45))
    _text(ax, 10.55, base + 1.2, "torch.cat: the block's input,\nthen k new channels per layer", SMALL)

    _title(ax, 0.35, 4.1, "(c) grouped convolution, 4 groups")
    cell, low = 0.28, 1.35
    group_colours = ["#9ecae1", "#fdd0a2", "#c7e9c0", "#dadaeb"]
    colours = [c for c in group_colours for _ in range(2)]
    inputs = _channel_column(ax, 1.2, low, colours, cell)
    outputs = _channel_column(ax, 4.2, low, colours, cell)
    for g in range(len(group_colours)):
        _wires(ax, inputs[2 * g:2 * g + 2], outputs[2 * g:2 * g + 2], INK if g % 2 else GREY, cell / 2)
    _text(ax, 1.2, low - 0.3, "C_in channels", SMALL)
    _text(ax, 4.2, low - 0.3, "C_out channels", SMALL)
    _text(ax, 2.7, 0.55, "each group sees C_in / g channels:\nk²·C_in·C_out / g weights and MACs", SMALL)

    _title(ax, 6.35, 4.1, "(d) depthwise-separable convolution")
    depth_in = _channel_column(ax, 6.9, low, [COLORS["data"]] * 8, cell)
    depth_out = _channel_column(ax, 8.9, low, [COLORS["conv"]] * 8, cell)
    point_out = _channel_column(ax, 11.4, low + cell, [COLORS["act"]] * 6, cell)
    for source, target in zip(depth_in, depth_out, strict=True):
        _wires(ax, [source], [target], INK, cell / 2)
    _wires(ax, depth_out, point_out, GREY, cell / 2)
    _text(ax, 7.9, 3.75, "depthwise 3×3\n(groups = C_in)", SMALL)
    _text(ax, 10.15, 3.75, "pointwise 1×1", SMALL)
    _text(ax, 9.3, 0.55, "cost: k²·C_in + C_in·C_out per position,\n"
                         "1/C_out + 1/k² of a full k×k convolution", SMALL)
    return fig


FIGURES: dict[str, Callable[[], Figure]] = {
    "padding_stride_grids": padding_stride_grids,
    "flipped_kernel": flipped_kernel,
    "im2col": im2col,
    "vgg16_stages": vgg16_stages,
    "residual_block": residual_block,
    "bottleneck": bottleneck,
    "inception_module": inception_module,
    "googlenet": googlenet,
    "mlpconv": mlpconv,
    "gap_head": gap_head,
    "fc_as_conv": fc_as_conv,
    "allconv_downsampling": allconv_downsampling,
    "resnet_stages": resnet_stages,
    "batch_norm": batch_norm,
    "dilation": dilation,
    "ceil_mode_window": ceil_mode_window,
    "modern_blocks": modern_blocks,
}


def draw(name: str) -> Figure:
    """The figure ``name`` (a key of ``FIGURES``), drawn in the default style."""
    with style.context(STYLE):
        return FIGURES[name]()


def description(name: str) -> str:
    """The one-line description of diagram ``name``: the first line of its figure function's docstring."""
    return (FIGURES[name].__doc__ or name).strip().splitlines()[0]


def save(name: str, folder: Path) -> Path:
    """Draw ``name`` and write it as ``folder/name.png`` with its :func:`description`; return the path."""
    path = folder / f"{name}.png"
    metadata = {"Software": None, "Source": SOURCE, "Description": description(name)}
    with style.context(STYLE):  # rendering reads the style too
        draw(name).savefig(path, dpi=DPI, facecolor="white", metadata=metadata, pil_kwargs={"optimize": True})
    return path


def _problem(names: Sequence[str], out: Path | None) -> str | None:
    """What is wrong with the command line, in one sentence, or None."""
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        return f"There is no diagram called {unknown[0]!r}; the diagrams are {', '.join(FIGURES)}."
    if out is None and checkout_root() is None:
        return (f"{FIGURE_DIR} is an installed copy, not a checkout of the course; "
                "give a folder with --out DIR.")
    return None


def main(argv: list[str]) -> int:
    """Redraw the named diagrams (default: all) into ``--out`` (default: helper/figures/)."""
    parser = argparse.ArgumentParser(prog="python -m helper.tools diagrams",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"diagrams to draw (default: all): {', '.join(FIGURES)}")
    parser.add_argument("--out", type=Path, help=f"folder for the PNG files (default: {FIGURE_DIR})")
    args = parser.parse_args(argv)
    names = [name.removesuffix(".png") for name in args.names] or list(FIGURES)
    problem = _problem(names, args.out)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    folder = args.out or FIGURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"drew {save(name, folder)}")
    return 0
