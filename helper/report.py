"""The end of every training notebook in one call: curves, test accuracy, confusion matrix, headline."""

from __future__ import annotations

from helper.results import record_result


def summarize_training(model, loaders, history, *, device=None, title: str | None = None,
                       precision: str = "fp32", channels_last: bool = False):
    """The end of every training notebook in one call.

    Plots the training curves, evaluates ``model`` on ``loaders.test``, draws the confusion
    matrix and a grid of test images with their predictions (wrong ones in red), prints the
    test accuracy and the data set actually used, and records the headline with
    :func:`helper.results.record_result`. ``title`` (e.g. "VGG-16") starts the headline.
    ``precision`` and ``channels_last`` should be the ones ``fit`` trained with, so that the test
    set is evaluated as it was validated. Returns the :class:`helper.train.Evaluation` on the test set.
    """
    from helper import plotting, train

    info = loaders.info
    device = train.model_device(model) if device is None else device
    plotting.plot_history(history)
    evaluation = train.evaluate(model, loaders.test, device=device, precision=precision,
                                channels_last=channels_last)
    predictions, targets = train.predict(model, loaders.test, device=device, precision=precision,
                                         channels_last=channels_last)
    plotting.plot_confusion_matrix(targets, predictions, info.classes)
    images, labels = (t.cpu() for t in next(iter(loaders.test)))  # device-resident loaders give GPU tensors
    count = min(16, len(labels))
    plotting.show_images(images[:count], labels[:count], predictions=predictions[:count], info=info)

    data = f"{info.num_test} images of {info.pretty_name}"
    print(f"test accuracy: {100 * evaluation.accuracy:.1f}% on {data}")
    if info.fell_back:
        print(f"(fell back: {info.requested} was neither in the data folder nor downloadable in time, "
              "so these are the bundled digits)")
    headline = f"test accuracy {100 * evaluation.accuracy:.1f}% on {info.pretty_name}"
    if info.fell_back:
        headline += " (offline fallback)"
    if title:
        headline = f"{title}: {headline}"
    record_result(headline, dataset=info.name, fell_back=info.fell_back, device=str(device),
                  epochs=history.epochs, test_accuracy=round(evaluation.accuracy, 4))
    return evaluation
