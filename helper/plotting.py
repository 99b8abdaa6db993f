"""Pictures for the notebooks: training curves, image grids, feature maps, kernels, confusion matrices,
and the course's architecture diagrams (:func:`show_diagram`).

Every function returns its matplotlib ``Figure``. In a notebook it also shows the figure at once
(and then closes it, so nothing is drawn twice by the inline backend or leaks memory); end the
call with ``;`` when it is the last line of a cell, or Jupyter shows the returned figure again.
Outside a notebook (scripts, tests) figures are closed and only returned, e.g. for ``savefig``.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from helper.errors import CourseError

WRONG_COLOR = "tab:red"
# The diagrams that helper.tools.diagrams draws: package data, so an installed course has them too.
DIAGRAMS = Path(__file__).resolve().parent / "figures"


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _finish(fig: Figure) -> Figure:
    """Show ``fig`` in a notebook, then release it from pyplot; return it."""
    if _in_notebook():
        from IPython.display import display

        display(fig)
    plt.close(fig)
    return fig


def _grid(count: int, ncols: int, cell: float = 1.3, figsize: tuple[float, float] | None = None
          ) -> tuple[Figure, list]:
    """A figure with exactly ``count`` axes on a grid ``ncols`` wide (no empty axes left over)."""
    if count < 1:
        raise CourseError("There is nothing to show: the input has no images.")
    if ncols < 1:
        raise CourseError(f"ncols must be a positive integer; got {ncols!r}.")
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (cell * ncols, cell * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        fig.delaxes(ax)
    for ax in flat[:count]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, flat[:count]


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


# A loss panel whose values span more than this factor is drawn on a log scale (one epoch's validation loss
# of a deep plain network can be 1e9 times the others), so that no value squeezes the rest into one line.
LOG_SCALE_SPAN = 100.0


def _loss_scale(ax, values: Sequence[float]) -> None:
    """A log scale for ``ax``, named in its label, when the positive ``values`` span > LOG_SCALE_SPAN."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size and finite.max() > LOG_SCALE_SPAN * finite.min():
        ax.set_yscale("log")
        ax.set_ylabel(f"{ax.get_ylabel()} (log scale)")


def history_figure(history, title: str | None = None) -> Figure:
    """The training-curve figure without showing it (``plot_history`` and ``LivePlot`` use it);
    ``title`` (e.g. "plain-56") names the run above the panels."""
    fig, (ax_iter, ax_loss, ax_acc) = plt.subplots(1, 3, figsize=(13, 3.4))
    steps = np.asarray(history.iteration_loss, dtype=float)
    ax_iter.plot(np.arange(1, len(steps) + 1), steps, color="tab:blue", alpha=0.35, lw=0.8, label="per step")
    window = max(1, len(steps) // 20)
    if window > 1:
        smooth = _moving_average(steps, window)
        ax_iter.plot(np.arange(window, len(steps) + 1), smooth, color="tab:blue", lw=1.6,
                     label=f"mean of {window}")
    ax_iter.set(title="loss per step", xlabel="step", ylabel="loss")
    ax_iter.legend(loc="upper right", fontsize=8)

    epochs = np.arange(1, history.epochs + 1)
    for ax, train, valid, label in (
        (ax_loss, history.train_loss, history.valid_loss, "loss"),
        (ax_acc, history.train_accuracy, history.valid_accuracy, "accuracy"),
    ):
        scale = 100.0 if label == "accuracy" else 1.0
        ax.plot(epochs, np.asarray(train) * scale, "o-", label="train")
        if len(valid):
            ax.plot(epochs[: len(valid)], np.asarray(valid) * scale, "s-", label="valid")
        ax.set(title=f"{label} per epoch", xlabel="epoch", ylabel=label + (" (%)" if scale > 1 else ""))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)
    _loss_scale(ax_loss, [*history.train_loss, *history.valid_loss])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history, title: str | None = None) -> Figure:
    """Training curves from a :class:`helper.train.History`: loss per step, loss and accuracy per epoch."""
    return _finish(history_figure(history, title))


def compare_histories(histories: Mapping[str, Any], window: int = 5) -> Figure:
    """Runs side by side: training loss per step (running mean of ``window``), validation accuracy per epoch.

    ``histories`` maps a label (e.g. "plain-56") to the :class:`helper.train.History` of that run.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 3.6))
    for label, history in histories.items():
        steps = len(history.iteration_loss)
        smooth = _moving_average(np.asarray(history.iteration_loss, dtype=float), window)
        ax_loss.plot(np.arange(steps - len(smooth) + 1, steps + 1), smooth, label=label)
        valid = np.asarray(history.valid_accuracy) * 100
        ax_acc.plot(np.arange(1, len(valid) + 1), valid, "o-", label=label)
    ax_loss.set(title=f"training loss per step (running mean of {window})", xlabel="step", ylabel="loss")
    ax_acc.set(title="validation accuracy per epoch", xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.xaxis.get_major_locator().set_params(integer=True)
    for ax in (ax_loss, ax_acc):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _finish(fig)


class LivePlot:
    """Training curves that redraw in place once per epoch (``fit(..., live_plot=True)`` uses it),
    titled ``title`` when given. Outside a notebook it does nothing.
    """

    def __init__(self, title: str | None = None) -> None:
        self._handle = None
        self._title = title
        self._active = _in_notebook()

    def update(self, history) -> None:
        """Redraw the curves for ``history``."""
        if not self._active:
            return
        from IPython.display import display

        fig = history_figure(history, self._title)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def close(self) -> None:
        """Forget the display, so a new ``update`` starts a new picture."""
        self._handle = None


def _as_images(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    images = torch.as_tensor(images).detach().cpu().float()
    if images.ndim == 2:
        images = images[None, None]
    elif images.ndim == 3:
        images = images.unsqueeze(1) if images.shape[0] not in (1, 3) else images.unsqueeze(0)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise CourseError(f"images must be shaped (N, 1 or 3, H, W); got {tuple(images.shape)}.")
    return images


def _to_display(image: torch.Tensor) -> tuple[np.ndarray, dict]:
    """A (C, H, W) image in [0, 1] as an array for ``imshow`` and its keyword arguments."""
    if image.shape[0] == 1:
        return image[0].numpy(), {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}
    return image.permute(1, 2, 0).numpy(), {}


def show_images(
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | torch.Tensor | None = None,
    *,
    classes: Sequence[str] | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    info=None,
    ncols: int = 8,
) -> Figure:
    """A grid of images with their labels; with ``predictions``, titles read "pred (true)", red when wrong.

    ``info`` (a :class:`helper.data.DatasetInfo`) undoes the normalisation and supplies class
    names; without it the images are rescaled to [0, 1] one by one.
    """
    images = _as_images(images)
    if info is not None:
        images = info.unnormalize(images)
        classes = classes if classes is not None else info.classes
    else:
        low = images.amin(dim=(1, 2, 3), keepdim=True)
        high = images.amax(dim=(1, 2, 3), keepdim=True)
        images = (images - low) / (high - low).clamp_min(1e-12)

    def name(index: int) -> str:
        return classes[index] if classes is not None else str(index)

    fig, axes = _grid(len(images), ncols, cell=1.4)
    for i, ax in enumerate(axes):
        array, kwargs = _to_display(images[i])
        ax.imshow(array, **kwargs)
        if predictions is not None:
            guess = int(predictions[i])
            if labels is None:
                ax.set_title(name(guess), fontsize=8)
            else:
                truth = int(labels[i])
                ax.set_title(f"{name(guess)} ({name(truth)})", fontsize=8,
                             color=WRONG_COLOR if guess != truth else "black")
        elif labels is not None:
            ax.set_title(name(int(labels[i])), fontsize=8)
    fig.tight_layout()
    return _finish(fig)


def show_feature_maps(maps: torch.Tensor | np.ndarray, ncols: int = 8, title: str | None = None) -> Figure:
    """One grey picture per channel of a feature map (C, H, W) or (1, C, H, W), each scaled on its own."""
    maps = torch.as_tensor(maps).detach().cpu().float()
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3:
        raise CourseError(f"maps must be shaped (C, H, W) or (1, C, H, W); got {tuple(maps.shape)}.")
    fig, axes = _grid(len(maps), ncols, cell=1.6)
    for channel, ax in enumerate(axes):
        ax.imshow(maps[channel].numpy(), cmap="gray")
        ax.set_title(f"channel {channel}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig)


def show_kernels(weight: torch.Tensor | np.ndarray, ncols: int = 8, title: str | None = None) -> Figure:
    """Convolution kernels from a weight tensor (out, in, kH, kW).

    Three input channels: one colour picture per output channel. One input channel: one picture
    per output channel (blue negative, red positive, white zero). Otherwise: a grid with one row per
    output channel and one column per input channel (``ncols`` is then ignored). ``title`` goes above.
    """
    weight = torch.as_tensor(weight).detach().cpu().float()
    if weight.ndim != 4:
        raise CourseError(f"weight must be shaped (out, in, kH, kW); got {tuple(weight.shape)}.")
    out_channels, in_channels = weight.shape[:2]
    limit = float(weight.abs().max()) or 1.0
    if in_channels == 3:
        fig, axes = _grid(out_channels, ncols)
        for o, ax in enumerate(axes):
            kernel = weight[o]
            kernel = (kernel - kernel.min()) / (kernel.max() - kernel.min()).clamp_min(1e-12)
            ax.imshow(kernel.permute(1, 2, 0).numpy())
            ax.set_title(f"out {o}", fontsize=8)
    elif in_channels == 1:
        fig, axes = _grid(out_channels, ncols)
        for o, ax in enumerate(axes):
            ax.imshow(weight[o, 0].numpy(), cmap="bwr", vmin=-limit, vmax=limit)
            ax.set_title(f"out {o}", fontsize=8)
    else:
        fig, axes = _grid(out_channels * in_channels, in_channels, cell=0.8)
        for index, ax in enumerate(axes):
            o, i = divmod(index, in_channels)
            ax.imshow(weight[o, i].numpy(), cmap="bwr", vmin=-limit, vmax=limit)
            if o == 0:
                ax.set_title(f"in {i}", fontsize=7)
            if i == 0:
                ax.set_ylabel(f"out {o}", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig)


def plot_confusion_matrix(
    targets: Sequence[int] | torch.Tensor,
    predictions: Sequence[int] | torch.Tensor,
    classes: Sequence[str],
) -> Figure:
    """Counts of (true class, predicted class) pairs; the diagonal holds the correct predictions."""
    from sklearn.metrics import ConfusionMatrixDisplay

    truth = np.asarray(torch.as_tensor(targets).cpu())
    predicted = np.asarray(torch.as_tensor(predictions).cpu())
    size = max(4.0, 0.45 * len(classes) + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        truth, predicted, labels=list(range(len(classes))), display_labels=list(classes),
        ax=ax, colorbar=False, cmap="Blues", xticks_rotation=45 if max(map(len, classes)) > 2 else 0,
    )
    ax.set_title("confusion matrix")
    fig.tight_layout()
    return _finish(fig)


def diagram_names() -> list[str]:
    """The names :func:`show_diagram` accepts, sorted."""
    return sorted(item.name.removesuffix(".png") for item in DIAGRAMS.iterdir() if item.name.endswith(".png"))


def diagram_bundle(name: str) -> dict[str, str]:
    """The output that :func:`show_diagram` displays: the PNG (base64) and, as its text form, the
    diagram's one-line description (the ``Description`` the drawing tool writes into the file)."""
    names = diagram_names()
    if name not in names:
        raise CourseError(f"There is no diagram called {name!r}; the diagrams are {', '.join(names)}.")
    png = (DIAGRAMS / f"{name}.png").read_bytes()
    with Image.open(io.BytesIO(png)) as image:
        description = getattr(image, "text", {}).get("Description", name)  # a PNG's text chunks
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": description}


def show_diagram(name: str) -> None:
    """Show the course diagram ``name`` (see :func:`diagram_names`) as the cell's output.

    The notebooks show their diagrams this way rather than as markdown images: a cell's output also
    appears in Colab, on GitHub and in a copy of the notebook kept anywhere, where a markdown image
    with a relative path does not.
    """
    from IPython.display import display

    display(diagram_bundle(name), raw=True)
