"""Record a notebook's headline result so that ``make run`` can list it."""

from __future__ import annotations

from typing import Any

RESULT_MIME = "application/vnd.cnn-course.result+json"


def record_result(headline: str, **facts: Any) -> dict[str, Any]:
    """Show ``headline`` and store it with ``facts`` (data set, device, accuracy, ...) in the output.

    The runner (``make run``) reads this output from the executed notebook to build its table
    and ``build/results.md``.
    """
    result = {"headline": headline, **facts}
    try:
        from IPython.display import display

        display({RESULT_MIME: result, "text/plain": headline}, raw=True)
    except ImportError:
        print(headline)
    return result


def summarize_training(model, loaders, history, *, device=None, title: str | None = None):
    """The end of every training notebook in one call.

    Plots the training curves, evaluates ``model`` on ``loaders.test``, draws the confusion
    matrix and a grid of test images with their predictions (wrong ones in red), prints the
    test accuracy and the data set actually used, and records the headline with
    :func:`record_result`. ``title`` (e.g. "VGG-16") starts the headline. Returns the
    :class:`helper.train.Evaluation` on the test set.
    """
    from helper import plotting, train

    info = loaders.info
    device = train._model_device(model) if device is None else device
    plotting.plot_history(history)
    evaluation = train.evaluate(model, loaders.test, device=device)
    predictions, targets = train.predict(model, loaders.test, device=device)
    plotting.plot_confusion_matrix(targets, predictions, info.classes)
    images, labels = next(iter(loaders.test))
    count = min(16, len(labels))
    plotting.show_images(images[:count], labels[:count], predictions=predictions[:count], info=info)

    data = f"{info.num_test} images of {info.pretty_name}"
    print(f"test accuracy: {100 * evaluation.accuracy:.1f}% on {data}")
    if info.fell_back:
        print(f"(fell back: {info.requested} was not available offline, so these are the bundled digits)")
    headline = f"test accuracy {100 * evaluation.accuracy:.1f}% on {info.pretty_name}"
    if info.fell_back:
        headline += " (offline fallback)"
    if title:
        headline = f"{title}: {headline}"
    record_result(headline, dataset=info.name, fell_back=info.fell_back, device=str(device),
                  epochs=history.epochs, test_accuracy=round(evaluation.accuracy, 4))
    return evaluation
