"""Measuring a trained model: one evaluation pass gives the loss, the accuracy and the predictions.

Every pass runs in eval and inference mode under the precision and layout :func:`helper.train.fit`
trained with, and restores the model's train/eval flag. Accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
from torch import nn

from helper.device import autocast, memory_format, model_device, numerics, precision_scope, resolve_device
from helper.errors import CourseError
from helper.models.googlenet import GoogLeNetOutputs

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Evaluation(NamedTuple):
    """Mean loss and accuracy (a fraction in [0, 1]) over a whole loader."""

    loss: float
    accuracy: float


def main_logits(outputs: torch.Tensor | GoogLeNetOutputs) -> torch.Tensor:
    """The logits a prediction is read from: the main head's when a model also returns auxiliary ones."""
    return outputs.logits if isinstance(outputs, GoogLeNetOutputs) else outputs


def _flip_averaged(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Log of the mean of the class probabilities for ``inputs`` and their mirror images.

    The result is a log-probability, so it works wherever logits do (argmax, cross-entropy). This is
    the test-time augmentation of Simonyan & Zisserman (2015, sec. 3.2), who average the soft-max
    outputs of each test image and its horizontal flip.
    """
    both = torch.stack([main_logits(model(inputs)).float().log_softmax(1),
                        main_logits(model(inputs.flip(3))).float().log_softmax(1)])
    return torch.logsumexp(both, 0) - torch.log(torch.tensor(2.0, device=inputs.device))


def evaluate_and_predict(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
    flip_tta: bool = False,
) -> tuple[Evaluation, torch.Tensor, torch.Tensor]:
    """:func:`evaluate` and :func:`predict` in one pass over ``loader``: the :class:`Evaluation`,
    then the predicted classes and the true targets as CPU tensors."""
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    device = resolve_device(device) if device is not None else model_device(model)
    settings, layout = numerics(precision, device), memory_format(channels_last, device)
    loss_sum = torch.zeros((), device=device)
    predictions, targets = [], []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), precision_scope(settings, device):
            for inputs, batch_targets in loader:
                inputs = inputs.to(device, non_blocking=True, memory_format=layout)
                batch_targets = batch_targets.to(device, non_blocking=True)
                with autocast(settings):
                    logits = _flip_averaged(model, inputs) if flip_tta else main_logits(model(inputs))
                logits = logits.float()
                loss_sum += loss_fn(logits, batch_targets).float() * len(batch_targets)
                predictions.append(logits.argmax(1))
                targets.append(batch_targets)
    finally:
        model.train(was_training)
    if not predictions:
        empty = torch.empty(0, dtype=torch.long)
        return Evaluation(float("nan"), float("nan")), empty, empty.clone()
    predicted, truth = torch.cat(predictions), torch.cat(targets)
    seen = len(truth)
    evaluation = Evaluation(loss_sum.item() / seen, (predicted == truth).sum().item() / seen)
    return evaluation, predicted.cpu(), truth.cpu()


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
    flip_tta: bool = False,
) -> Evaluation:
    """Mean loss and accuracy of ``model`` on ``loader`` in eval mode (the train/eval flag is restored).

    ``device`` defaults to the device the model's parameters are on; ``precision`` and
    ``channels_last`` mean what they mean for :func:`helper.train.fit` (pass the same ones).
    ``flip_tta`` classifies each image by the mean of its own and its mirror image's class
    probabilities (only meaningful for a model trained with random horizontal flips, such as full
    mode's CIFAR-10 runs).
    """
    return evaluate_and_predict(model, loader, loss_fn=loss_fn, device=device, precision=precision,
                                channels_last=channels_last, flip_tta=flip_tta)[0]


def predict(model: nn.Module, loader: Iterable, *, device: torch.device | str | None = None,
            precision: str = "fp32", channels_last: bool = False,
            flip_tta: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and true targets for every item of ``loader``, as CPU tensors.

    ``device`` defaults to the device the model's parameters are on; ``precision``,
    ``channels_last`` and ``flip_tta`` as for :func:`evaluate`. The train/eval flag is restored.
    """
    _, predicted, truth = evaluate_and_predict(model, loader, device=device, precision=precision,
                                               channels_last=channels_last, flip_tta=flip_tta)
    return predicted, truth


class _BatchStatistics(nn.Module):
    """``model`` whose batch norms normalise with each batch's own statistics even in eval mode."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def train(self, mode: bool = True) -> _BatchStatistics:
        super().train(mode)
        for module in self.model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.train()
        return self

    def forward(self, inputs: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        return self.model(inputs)


def accuracy_with_batch_statistics(model: nn.Module, loader: Iterable, *, precision: str = "fp32",
                                   channels_last: bool = False) -> float:
    """Accuracy on ``loader`` when every batch norm normalises with the batch's own mean and
    variance, as in training, instead of its running averages (dropout stays off).

    Runs the :func:`evaluate` pass on a copy, so ``model``'s running averages stay untouched.
    Notebooks 07 and 09 use it to ask whether the running averages hold a short-trained network back.
    """
    probe = _BatchStatistics(copy.deepcopy(model))
    evaluation = evaluate(probe, loader, precision=precision, channels_last=channels_last)
    if evaluation.accuracy != evaluation.accuracy:  # NaN: no batch at all
        raise CourseError("The loader is empty: there is nothing to measure the accuracy on.")
    return evaluation.accuracy
