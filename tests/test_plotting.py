"""helper.plotting: every function returns a Figure with the expected axes (Agg backend, no display)."""

from __future__ import annotations

import base64

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from helper import data, plotting
from helper.errors import CourseError
from helper.tools.diagrams import FIGURES
from helper.train import History

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "plotting functions must close their figures"


def sample_history(valid: bool = True) -> History:
    history = History(iteration_loss=[2.3 - 0.1 * i for i in range(30)], train_loss=[2.0, 1.2, 0.8],
                      train_accuracy=[0.3, 0.6, 0.8], epoch_seconds=[1.0, 1.0, 1.0])
    if valid:
        history.valid_loss, history.valid_accuracy = [1.5, 1.0, 0.9], [0.5, 0.7, 0.75]
    return history


@pytest.mark.parametrize("valid", [True, False])
def test_plot_history(valid):
    fig = plotting.plot_history(sample_history(valid))
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    loss_axes = fig.axes[1]
    assert len(loss_axes.lines) == (2 if valid else 1)
    accuracy_line = fig.axes[2].lines[0]
    assert list(accuracy_line.get_ydata()) == pytest.approx([30.0, 60.0, 80.0])  # shown in percent


def test_live_plot_is_silent_outside_a_notebook(capsys, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: shown.append(args))
    figures = plt.get_fignums()
    live = plotting.LivePlot()
    live.update(sample_history())
    live.close()
    assert shown == [] and plt.get_fignums() == figures, "outside a notebook nothing is drawn or displayed"
    assert capsys.readouterr() == ("", "")


def test_show_images_marks_wrong_predictions_in_red():
    loaders = data.get_dataloaders("digits", 10, shape=(3, 8, 8))
    images, labels = next(iter(loaders.test))
    predictions = labels.clone()
    predictions[3] = (labels[3] + 1) % 10
    fig = plotting.show_images(images, labels, predictions=predictions, info=loaders.info, ncols=4)
    assert len(fig.axes) == 10
    colours = [ax.title.get_color() for ax in fig.axes]
    assert colours[3] == plotting.WRONG_COLOR
    assert colours.count(plotting.WRONG_COLOR) == 1
    assert fig.axes[0].get_title() == f"{int(labels[0])} ({int(labels[0])})"


def test_show_images_without_info_and_single_image():
    fig = plotting.show_images(torch.rand(5, 1, 8, 8), [0, 1, 2, 0, 1], classes=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c", "a", "b"]
    assert len(plotting.show_images(torch.rand(3, 16, 16)).axes) == 1  # one colour image
    with pytest.raises(CourseError):
        plotting.show_images(torch.rand(2, 4, 8, 8))


def test_show_feature_maps():
    fig = plotting.show_feature_maps(torch.rand(1, 6, 12, 12), ncols=4, title="conv1")
    assert len(fig.axes) == 6
    assert fig._suptitle.get_text() == "conv1"
    assert len(plotting.show_feature_maps(torch.rand(3, 5, 5)).axes) == 3


@pytest.mark.parametrize(("shape", "axes"), [((8, 1, 3, 3), 8), ((4, 3, 5, 5), 4), ((4, 2, 3, 3), 8)])
def test_show_kernels(shape, axes):
    fig = plotting.show_kernels(torch.randn(shape))
    assert len(fig.axes) == axes


def test_plot_confusion_matrix_counts():
    targets = torch.tensor([0, 0, 1, 1, 2, 2])
    predictions = torch.tensor([0, 1, 1, 1, 2, 0])
    fig = plotting.plot_confusion_matrix(targets, predictions, ["a", "b", "c"])
    assert len(fig.axes) == 1
    image = fig.axes[0].images[0].get_array()
    assert image.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_compare_histories_draws_one_line_per_run_in_each_panel():
    runs = {}
    for name, drop in (("plain", 0.01), ("residual", 0.05)):
        history = History()
        history.iteration_loss = [2.3 - drop * step for step in range(20)]
        history.valid_accuracy = [0.3, 0.5 + drop]
        runs[name] = history
    fig = plotting.compare_histories(runs, window=5)
    loss, accuracy = fig.axes
    assert [line.get_label() for line in loss.lines] == ["plain", "residual"]
    assert len(loss.lines[0].get_xdata()) == 16, "a running mean of 5 over 20 steps has 16 points"
    assert list(accuracy.lines[1].get_ydata()) == pytest.approx([30.0, 55.0])
    plt.close(fig)


def test_every_diagram_is_package_data_with_a_description():
    names = plotting.diagram_names()
    assert names == sorted(FIGURES), "every figure function's diagram should ship, and nothing else"
    for name in names:
        bundle = plotting.diagram_bundle(name)
        png = base64.b64decode(bundle["image/png"])
        assert png.startswith(b"\x89PNG") and png == (plotting.DIAGRAMS / f"{name}.png").read_bytes()
        assert bundle["text/plain"] != name, f"{name}.png has no Description to show as its text"


def test_an_unknown_diagram_is_one_sentence_naming_the_known_ones():
    with pytest.raises(CourseError, match=r"no diagram called 'resnet'.*residual_block"):
        plotting.diagram_bundle("resnet")


def test_show_diagram_displays_the_bundle(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects, **kw: shown.append((objects, kw)))
    plotting.show_diagram("im2col")
    assert shown == [((plotting.diagram_bundle("im2col"),), {"raw": True})]


def test_history_figure_names_the_run_and_shows_a_runaway_loss_on_a_log_scale():
    runaway = sample_history()
    runaway.valid_loss[0] = 3e9  # plain-56's validation loss after its first epoch in notebook 08
    fig = plotting.plot_history(runaway, title="plain-56")
    assert fig.get_suptitle() == "plain-56"
    assert fig.axes[1].get_yscale() == "log" and fig.axes[1].get_ylabel() == "loss (log scale)"
    ordinary = plotting.plot_history(sample_history()).axes[1]
    assert ordinary.get_yscale() == "linear" and ordinary.get_ylabel() == "loss"
