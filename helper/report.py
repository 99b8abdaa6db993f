"""The end of every training notebook in one call (test accuracy, confusion matrix, headline),
and the confidence interval the notebooks give with a test accuracy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from scipy.stats import binomtest

from helper.errors import CourseError, is_real, is_whole
from helper.results import record_result

if TYPE_CHECKING:  # the heavy modules are imported when summarize_training runs
    import torch
    from torch import nn

    from helper.data import Loaders
    from helper.train import Evaluation, History


class Interval(NamedTuple):
    """A confidence interval for an accuracy: fractions in [0, 1]."""

    low: float
    high: float


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval (``.low``, ``.high``, fractions) for ``correct`` right out of ``total``.

    How far a test accuracy measured on ``total`` images can be from the accuracy on all such
    images; Wilson's interval stays inside [0, 1] and is accurate for small test sets too
    (Brown, Cai & DasGupta 2001). ``scipy.stats.binomtest`` computes it.
    """
    if not (is_whole(correct) and is_whole(total) and 0 <= correct <= total and total >= 1):
        raise CourseError(f"wilson_interval needs whole numbers 0 <= correct <= total, total >= 1; "
                          f"got correct={correct!r}, total={total!r}.")
    if not is_real(confidence) or not 0 < confidence < 1:
        raise CourseError(f"confidence must be a fraction between 0 and 1, e.g. 0.95; got {confidence!r}.")
    interval = binomtest(int(correct), int(total)).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(interval.low), float(interval.high))


def summarize_training(model: nn.Module, loaders: Loaders, history: History, *,
                       device: torch.device | str | None = None, title: str | None = None,
                       flip_tta: bool = False) -> Evaluation:
    """The end of every training notebook in one call.

    Evaluates ``model`` on ``loaders.test``, draws the confusion matrix and a grid of test images
    with their predictions (wrong ones in red), prints the test accuracy and the data set actually
    used, and records the headline with :func:`helper.results.record_result`. ``title`` (e.g.
    "VGG-16") starts the headline. The training curves are ``fit(..., live_plot=True)``'s figure,
    drawn once while training; ``plotting.plot_history(history)`` draws them for a run without it.
    The test set is evaluated at the precision and layout ``fit`` trained with (``history``
    remembers them); ``flip_tta`` adds flip test-time augmentation (see
    :func:`helper.train.evaluate`). Returns the :class:`helper.train.Evaluation` on the test set.
    """
    from helper import plotting, train

    info = loaders.info
    device = train.model_device(model) if device is None else device
    how: dict[str, Any] = dict(device=device, precision=history.precision,
                               channels_last=history.channels_last, flip_tta=flip_tta)
    evaluation, predictions, targets = train.evaluate_and_predict(model, loaders.test, **how)
    plotting.plot_confusion_matrix(targets, predictions, info.classes)
    images, labels = (t.cpu() for t in next(iter(loaders.test)))  # device-resident loaders give GPU tensors
    count = min(16, len(labels))
    plotting.show_images(images[:count], labels[:count], predictions=predictions[:count], info=info)

    data = f"{info.num_test} images of {info.pretty_name}"
    tta = " with flip test-time augmentation" if flip_tta else ""
    print(f"test accuracy: {100 * evaluation.accuracy:.1f}%{tta} on {data}")
    if info.fell_back:
        print(f"(fell back: {info.requested} was neither in the data folder nor downloadable in time, "
              "so these are the bundled digits)")
    headline = f"test accuracy {100 * evaluation.accuracy:.1f}%{tta} on {info.pretty_name}"
    if info.fell_back:
        headline += " (offline fallback)"
    if title:
        headline = f"{title}: {headline}"
    record_result(headline, dataset=info.name, fell_back=info.fell_back, device=str(device),
                  epochs=history.epochs, test_accuracy=round(evaluation.accuracy, 4), flip_tta=flip_tta)
    return evaluation
