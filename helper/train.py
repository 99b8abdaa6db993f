"""The one training loop of the course: ``fit``, its step, and the weight average it can keep.

Accuracies are fractions in [0, 1]; losses are means per example. Measuring a trained model is
:mod:`helper.evaluation` (``train.evaluate`` and friends are the same functions); devices and
precisions are :mod:`helper.device`; checkpoint files are :mod:`helper.checkpoint`.

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    history = train.fit(model, loaders.train, loaders.valid, epochs=30, optimizer=optimizer,
                        schedule=train.one_cycle(0.1), label_smoothing=0.1, ema_decay=train.FULL_EMA_DECAY,
                        precision="tf32", channels_last=True, checkpoint="build/checkpoints/resnet34.pt")
    test = train.evaluate(model, loaders.test, precision="tf32", channels_last=True, flip_tta=True)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, OneCycleLR
from tqdm import tqdm

from helper.checkpoint import Checkpoint
from helper.device import (
    Numerics,
    autocast,
    default_device,
    memory_format,
    model_device,
    numerics,
    precision_scope,
    resolve_device,
)
from helper.errors import CourseError, is_real, is_whole
from helper.evaluation import (
    Evaluation,
    LossFn,
    accuracy_with_batch_statistics,
    evaluate,
    evaluate_and_predict,
    main_logits,
    predict,
)
from helper.models import GoogLeNetOutputs, registered
from helper.modes import Recipe
from helper.paths import data_dir
from helper.progress import progress_bar

__all__ = [
    "FULL_EMA_DECAY", "Evaluation", "History", "TrainingInterrupted", "WeightAverage",
    "accuracy_with_batch_statistics", "auxiliary_loss", "default_device", "evaluate",
    "evaluate_and_predict", "finished", "fit", "full_recipe", "model_device", "one_cycle", "predict",
    "train_step",
]

Schedule = Callable[[torch.optim.Optimizer, int], LRScheduler]

# The full-mode weight average, ``fit(ema_decay=FULL_EMA_DECAY)``: each step moves the average 0.2% of
# the way to the new weights, so it spans about the last 500 steps (1 / (1 - decay)), some three
# epochs of a full-mode run (45,000 images in batches of 256). Averaging the iterates of SGD goes back
# to Polyak & Juditsky (1992); D. Page's "How to train your ResNet 8: bag of tricks" (Myrtle.ai, 2019)
# uses a moving average of the weights, with flip test-time augmentation, for fast CIFAR-10 training.
FULL_EMA_DECAY = 0.998


def full_recipe(model: str, *, ema_decay: float | None = FULL_EMA_DECAY) -> Recipe:
    """Full mode's recipe for the registered ``model`` (a key of :data:`helper.models.CIFAR_MODELS`):
    its measured precision, channels-last, the weight average ``ema_decay`` (None: none), checkpoints
    in ``checkpoints/`` of the data directory, crops and flips, and flip test-time augmentation. A
    notebook passes it to ``modes.pick(..., recipe=train.full_recipe("vgg16_bn"))``."""
    return Recipe(precision=registered(model).precision, channels_last=True, ema_decay=ema_decay,
                  checkpoint_dir=data_dir() / "checkpoints")


@dataclass
class History:
    """What ``fit`` measured: one loss per training step, and per-epoch losses and accuracies.

    ``valid_loss``/``valid_accuracy`` stay empty when there is no validation loader.
    ``interrupted`` is True when Ctrl-C (Kernel > Interrupt) stopped the run (see :func:`finished`).
    ``precision`` and ``channels_last`` are the settings it trained with, so that a later
    evaluation (:func:`helper.report.summarize_training`) can run the same way.
    """

    iteration_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    interrupted: bool = False
    precision: str = "fp32"
    channels_last: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)

    def drop_unfinished_epoch(self) -> None:
        """Forget the per-epoch entries of an epoch stopped during its validation (``epoch_seconds``
        is appended last), so every per-epoch list counts the same finished epochs. The steps'
        losses stay in ``iteration_loss``: those steps did happen."""
        finished = len(self.epoch_seconds)
        for values in (self.train_loss, self.train_accuracy, self.valid_loss, self.valid_accuracy):
            del values[finished:]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`fit` after it saved what it had; ``history`` is the run so far.

    Being a ``KeyboardInterrupt``, it stops the cell, and any loop over several runs with it; a
    notebook shows its one line instead of a traceback.
    """

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [str(self)]


# The History of the latest fit, which :func:`finished` asks whether Ctrl-C stopped it.
_latest: History | None = None


def finished() -> bool:
    """Whether the latest :func:`fit` ran to its end.

    When Ctrl-C stopped it, prints "skipped: training was interrupted ..." and returns False, so that
    a cell checking claims about the run can skip them: ``if train.finished(): assert ...``. So it does
    when no ``fit`` has run in this kernel, or the latest one stopped with an error before training.
    """
    if _latest is None:
        print("skipped: no training has run to its end in this kernel; run the training cell, then this "
              "cell again.")
        return False
    if _latest.interrupted:
        print("skipped: training was interrupted; run the training cell to its end, then this cell again.")
        return False
    return True


def auxiliary_loss(
    outputs: Sequence[torch.Tensor], targets: torch.Tensor, loss_fn: LossFn, aux_weight: float = 0.3
) -> torch.Tensor:
    """Loss with auxiliary classifiers (GoogLeNet): main loss + ``aux_weight`` x each auxiliary loss.

    ``outputs`` is ``(main_logits, aux_logits_1, ...)``, such as :class:`GoogLeNetOutputs`; Szegedy
    et al. (2015) weight the auxiliary heads by 0.3 during training and drop them at inference.
    """
    main, *auxiliary = outputs
    loss = loss_fn(main, targets)
    for logits in auxiliary:
        loss = loss + aux_weight * loss_fn(logits, targets)
    return loss


def one_cycle(max_lr: float, *, pct_start: float = 0.3) -> Schedule:
    """The one-cycle learning-rate schedule for ``fit(..., schedule=one_cycle(max_lr))``.

    Smith & Topin (2019), "Super-convergence": the rate climbs from ``max_lr / 25`` to ``max_lr``
    over the first ``pct_start`` of all steps, then anneals (cosine) to ``max_lr / 25e4``; the
    momentum (Adam's beta1) moves the opposite way between 0.95 and 0.85. ``fit`` builds
    ``torch.optim.lr_scheduler.OneCycleLR`` with the number of steps it will take and steps it
    after every batch.
    """
    if not (is_real(max_lr) and max_lr > 0):
        raise CourseError(f"max_lr must be a positive learning rate; got {max_lr!r}.")
    if not (is_real(pct_start) and 0 < pct_start < 1):
        raise CourseError(f"pct_start must be between 0 and 1 (the warm-up fraction); got {pct_start!r}.")

    def build(optimizer: torch.optim.Optimizer, total_steps: int) -> LRScheduler:
        return OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)

    return build


class WeightAverage:
    """An exponential moving average of a model's weights and batch-norm statistics (``fit(ema_decay=)``).

    After step t the average moves ``1 - min(decay, (1 + t) / (10 + t))`` of the way to the model, so
    that early steps, when the weights change fast, do not linger (the warm-up of TensorFlow's
    ``ExponentialMovingAverage(num_updates=)``). Integer buffers (batch norm's batch counter) are
    copied. ``torch.optim.swa_utils.AveragedModel(use_buffers=True)`` computes the same average, but
    detaches, moves and recombines every tensor on every step, with several operators per integer
    buffer. Here the update is one ``torch._foreach_lerp_`` and one ``torch._foreach_copy_`` (fused
    kernels on a GPU), as in PyTorch's own optimizers.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).requires_grad_(False)
        self._floats: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        self._others: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        for mine, theirs in zip(self.model.state_dict(keep_vars=True).values(),
                                model.state_dict(keep_vars=True).values(), strict=True):
            averaged, current = self._floats if mine.is_floating_point() else self._others
            averaged.append(mine.detach())
            current.append(theirs.detach())

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the model's current weights (after every optimizer step)."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._floats[0], self._floats[1], 1.0 - decay)
        if self._others[0]:
            torch._foreach_copy_(self._others[0], self._others[1])


@runtime_checkable
class Stateful(Protocol):
    """A loader whose order can be saved and restored (``get_dataloaders``'s loaders are)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(kw_only=True)
class _Run:
    """Everything one training run needs besides the data, and what its checkpoint holds."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler | None
    total_steps: int | None  # of the schedule
    scaler: torch.amp.GradScaler
    loss_fn: LossFn
    device: torch.device
    numerics: Numerics
    memory_format: torch.memory_format
    loader: Stateful | None  # the train loader, when its order can be saved
    average: WeightAverage | None  # of the weights, with ema_decay
    history: History = field(default_factory=lambda: History())

    @property
    def evaluated(self) -> nn.Module:
        """The model that validation measures and that ``fit`` leaves behind: the average if any."""
        return self.average.model if self.average is not None else self.model

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint saves (the random states are the checkpoint's own business)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "total_steps": self.total_steps,
            "scaler": self.scaler.state_dict(),
            "average": self.average.model.state_dict() if self.average is not None else None,
            "average_updates": self.average.updates if self.average is not None else 0,
            "history": asdict(self.history),
            "loader": self.loader.state_dict() if self.loader is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a saved run; ValueError when it was another schedule, loader, average or optimizer."""
        if (state["total_steps"] != self.total_steps or (state["loader"] is None) != (self.loader is None)
                or (state["average"] is None) != (self.average is None)):
            raise ValueError("another schedule, train loader or weight average")
        saved_groups = state["optimizer"]["param_groups"]
        if [set(g) for g in saved_groups] != [set(g) for g in self.optimizer.param_groups]:
            raise ValueError("another kind of optimizer")  # SGD's state would load into Adam, then fail
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.average is not None:
            self.average.model.load_state_dict(state["average"])
            self.average.updates = state["average_updates"]
        self.history = History(**{**state["history"], "interrupted": False})
        if self.loader is not None:
            self.loader.load_state_dict(state["loader"])


def fit(
    model: nn.Module,
    train_loader: Iterable,
    valid_loader: Iterable | None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule | None = None,
    label_smoothing: float = 0.0,
    loss_fn: LossFn | None = None,
    ema_decay: float | None = None,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    channels_last: bool = False,
    checkpoint: str | Path | None = None,
    max_steps_per_epoch: int | None = None,
    live_plot: bool = False,
    progress: bool = True,
    label: str | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    - ``schedule``: the learning-rate schedule, a function ``(optimizer, total_steps) -> scheduler``
      such as :func:`one_cycle`; ``fit`` counts the steps (``epochs`` x batches per epoch, capped at
      ``max_steps_per_epoch``) and steps the scheduler after every batch. None keeps the rate fixed.
    - ``label_smoothing``: for the default loss, cross-entropy against targets that spread
      ``label_smoothing`` evenly over all K classes, so the true class gets ``1 - label_smoothing +
      label_smoothing / K`` (Szegedy et al. 2016, "Rethinking the Inception architecture").
      ``loss_fn`` replaces that loss; the validation loss uses the same loss. A model that returns
      :class:`~helper.models.GoogLeNetOutputs` in training mode is trained with
      :func:`auxiliary_loss`; accuracy always comes from the main logits.
    - ``ema_decay``: keep an exponential moving average of the weights and batch-norm statistics,
      updated after every step (:data:`FULL_EMA_DECAY` is full mode's choice and its sources).
      Validation measures the average, and when ``fit`` returns, ``model`` holds the averaged
      weights (the checkpoint keeps both). None trains and returns the weights as they are.
    - ``device`` defaults to :func:`default_device`; the model is moved there.
    - ``precision`` (CUDA only; elsewhere everything runs in float32): "fp32" (IEEE float32), "tf32"
      (float32 tensors, TensorFloat-32 tensor-core math in convolutions and matrix products), "bf16"
      (``torch.autocast`` to bfloat16; float16 with loss scaling on GPUs without bfloat16) or
      "fp16" (autocast to float16 with a ``GradScaler``); see :mod:`helper.device`. The model
      registry (:data:`helper.models.CIFAR_MODELS`) holds the measured fastest choice per course
      model. Validation runs under the same precision and layout.
    - ``channels_last`` (CUDA only): NHWC memory layout, which tensor-core convolutions prefer.
    - ``checkpoint``: a file written after every epoch (model, optimizer, schedule, history, the
      random states and the train loader's ``state_dict()``, its shuffling state, when it has one, as
      :func:`helper.data.get_dataloaders`'s loaders do). Calling ``fit`` again with the same
      file, after re-creating the model, optimizer and loaders as before, resumes after the last
      finished epoch and continues exactly as an uninterrupted run would (same data order, same
      augmentation, same weights; with ``num_workers=0``). One training at a time per file: ``fit`` holds
      the lock file ``NAME.lock`` beside it, and a second run on the same file stops with a sentence.
    - ``max_steps_per_epoch``: stop each epoch after that many batches (quick demos).
    - ``live_plot``: draw the training curves in a notebook and redraw them after every epoch; the
      last drawing stays as the run's figure (:func:`helper.report.summarize_training` does not
      draw it again).
    - ``label`` (e.g. "plain-56") names the run in its progress bar, figure and messages.
    - Ctrl-C (Kernel > Interrupt) stops training: the checkpoint holds every finished epoch, one line
      says so, and :class:`TrainingInterrupted` (a ``KeyboardInterrupt``, carrying the history so
      far) stops the cell, and any loop of ``fit`` calls in it. :func:`finished` then tells later
      cells that the run is incomplete.
    """
    global _latest
    _latest = None  # finished() answers for this run from here on, even if it stops before training
    _check_fit_arguments(epochs, loss_fn, label_smoothing, ema_decay, max_steps_per_epoch)
    run = _start(model, train_loader, epochs=epochs, optimizer=optimizer, schedule=schedule,
                 label_smoothing=label_smoothing, loss_fn=loss_fn, ema_decay=ema_decay, device=device,
                 precision=precision, channels_last=channels_last, max_steps=max_steps_per_epoch)
    named = f"{label}: " if label else ""
    with ExitStack() as services:  # each one's close() runs on every path; the checkpoint's last
        saver = services.enter_context(_closing(Checkpoint(checkpoint, run))) if checkpoint else None
        if saver is not None and saver.resume():
            _check_resumable(run.history.epochs, epochs, saver.path)
            print(f"{named}Resuming from {saver.path.name} after epoch {run.history.epochs} of {epochs}.")
        history = _latest = run.history
        history.precision, history.channels_last = precision, channels_last  # how it trains from here on
        bars = services.enter_context(_closing(_Bars(named, history.epochs, epochs, progress)))
        observers = [bars, *([saver] if saver else []), *_live_plot(services, label, history, live_plot)]
        try:
            with precision_scope(run.numerics, run.device):
                for _ in range(history.epochs, epochs):
                    start = time.perf_counter()
                    _train_epoch(run, train_loader, max_steps_per_epoch, bars.batches)
                    if valid_loader is not None:
                        result = evaluate(run.evaluated, valid_loader, loss_fn=run.loss_fn, device=run.device,
                                          precision=precision, channels_last=channels_last)
                        history.valid_loss.append(result.loss)
                        history.valid_accuracy.append(result.accuracy)
                    history.epoch_seconds.append(time.perf_counter() - start)
                    for observer in observers:
                        observer.update(history)
        except KeyboardInterrupt:
            history.interrupted = True
            history.drop_unfinished_epoch()
            where = saver.path if saver is not None else None
            raise TrainingInterrupted(named + _interrupted_message(history.epochs, epochs, where),
                                      history) from None
        finally:
            if run.average is not None:
                model.load_state_dict(run.average.model.state_dict())
    return history


def train_step(run: _Run, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on one batch; the batch's mean loss and main logits (detached)."""
    with autocast(run.numerics):
        outputs = run.model(inputs)
        if isinstance(outputs, GoogLeNetOutputs):
            loss = auxiliary_loss(outputs, targets, run.loss_fn)
        else:
            loss = run.loss_fn(outputs, targets)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    if run.scheduler is not None:
        run.scheduler.step()
    if run.average is not None:
        run.average.update()
    return loss.detach().float(), main_logits(outputs).detach()


def _train_epoch(run: _Run, loader: Iterable, max_steps: int | None, bar: tqdm) -> None:
    """One pass over ``loader`` (at most ``max_steps`` batches), counted on ``bar``.

    Appends every step's loss, and when the pass is complete the epoch's mean loss and accuracy, to
    the run's history. Losses and counts stay on the device until the end of the epoch (or the
    progress bar's refresh, every tenth of the epoch), so the steps run without waiting for the GPU.
    The loader is iterated once (one iterator, so one draw of its shuffling order per epoch).
    """
    history = run.history
    run.model.train()
    total = _steps_per_epoch(loader, max_steps)
    refresh_every = max(10, (total or 100) // 10)
    batches = iter(loader) if max_steps is None else islice(loader, max_steps)
    bar.reset(total=total)
    step_losses: list[torch.Tensor] = []
    loss_sum = torch.zeros((), device=run.device)
    correct = torch.zeros((), device=run.device, dtype=torch.long)
    seen = 0
    try:
        for step, (inputs, targets) in enumerate(batches, start=1):
            inputs = inputs.to(run.device, non_blocking=True, memory_format=run.memory_format)
            targets = targets.to(run.device, non_blocking=True)
            batch_loss, logits = train_step(run, inputs, targets)
            step_losses.append(batch_loss)
            loss_sum += batch_loss * len(targets)
            correct += (logits.argmax(1) == targets).sum()
            seen += len(targets)
            if not bar.disable and step % refresh_every == 0:
                bar.set_postfix(loss=f"{batch_loss.item():.3f}", acc=f"{correct.item() / seen:.3f}",
                                refresh=False)
            bar.update()
    finally:  # the steps of an interrupted epoch did happen
        if step_losses:
            history.iteration_loss += torch.stack(step_losses).tolist()
    if not seen:
        raise CourseError(_empty_epoch_message(history.epochs + 1))
    history.train_loss.append(loss_sum.item() / seen)
    history.train_accuracy.append(correct.item() / seen)


class _Observer(Protocol):
    """An epoch service of :func:`fit`: told after every epoch, closed once when ``fit`` ends."""

    def update(self, history: History) -> None: ...

    def close(self) -> None: ...


class _closing:
    """``contextlib.closing`` that hands back what it closes, typed."""

    def __init__(self, thing: Any) -> None:
        self.thing = thing

    def __enter__(self) -> Any:
        return self.thing

    def __exit__(self, *_: object) -> None:
        self.thing.close()


class _Bars:
    """fit's progress bars: the epochs, and one batch bar for the whole run, reset each epoch."""

    def __init__(self, named: str, done: int, epochs: int, enabled: bool) -> None:
        self.epochs = progress_bar(desc=f"{named}epochs", disable=not enabled, initial=done, total=epochs)
        self.batches = progress_bar(desc="batches", leave=False, disable=not enabled)

    def update(self, history: History) -> None:
        postfix = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_accuracy[-1]:.3f}"}
        if history.valid_accuracy:
            postfix["val_acc"] = f"{history.valid_accuracy[-1]:.3f}"
        self.epochs.set_postfix(postfix, refresh=False)
        self.epochs.update()

    def close(self) -> None:
        self.batches.close()
        self.epochs.close()


def _live_plot(services: ExitStack, label: str | None, history: History, enabled: bool) -> list[_Observer]:
    """The live training curves as an observer (none unless ``enabled``), closed with ``services``."""
    if not enabled:
        return []
    from helper.plotting import LivePlot

    plot = services.enter_context(_closing(LivePlot(title=label)))
    if history.epochs:  # the curves so far, also when the checkpoint already holds every epoch
        plot.update(history)
    return [plot]


def _start(model: nn.Module, train_loader: Iterable, *, epochs: int, optimizer: torch.optim.Optimizer,
           schedule: Schedule | None, label_smoothing: float, loss_fn: LossFn | None,
           ema_decay: float | None, device: torch.device | str | None, precision: str, channels_last: bool,
           max_steps: int | None) -> _Run:
    """The run :func:`fit` trains: the model moved to its device and layout, the schedule built."""
    _check_optimizer(model, optimizer)
    where = resolve_device(device) if device is not None else default_device()
    settings, layout = numerics(precision, where), memory_format(channels_last, where)
    model.to(device=where, memory_format=layout)  # type: ignore[call-overload]  # torch's stub lacks both
    total_steps, scheduler = None, None
    if schedule is not None:
        total_steps = epochs * _schedule_steps(train_loader, max_steps)
        scheduler = schedule(optimizer, total_steps)
    return _Run(
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        total_steps=total_steps,
        scaler=torch.amp.GradScaler("cuda", enabled=settings.scaler),
        loss_fn=loss_fn if loss_fn is not None else nn.CrossEntropyLoss(label_smoothing=label_smoothing),
        device=where,
        numerics=settings,
        memory_format=layout,
        loader=train_loader if isinstance(train_loader, Stateful) else None,
        average=WeightAverage(model, ema_decay) if ema_decay is not None else None,
    )


def _check_resumable(saved: int, epochs: int, path: Path) -> None:
    if saved > epochs:
        raise CourseError(f"The checkpoint {path} already holds {saved} epochs, more than "
                          f"epochs={epochs}; pass epochs={saved} or more, or another checkpoint.")


def _interrupted_message(done: int, epochs: int, checkpoint: Path | None) -> str:
    """The one line of an interrupted :func:`fit`: how far it got and what running it again does."""
    stopped = f"Training interrupted after {done} of {epochs} epochs"
    if checkpoint is None:
        return f"{stopped}; without a checkpoint there is nothing to resume from."
    if not done:
        return f"{stopped}; no epoch finished, so {checkpoint} has nothing to resume from yet."
    return f"{stopped}; {checkpoint} holds them: running the cell again resumes from there."


def _empty_epoch_message(epoch: int) -> str:
    if epoch == 1:
        return "The training loader gave no batches: check that its data set is not empty."
    return (f"The training loader gave no batches in epoch {epoch}: pass a DataLoader or a list, which "
            "can be iterated again, not an iterator or generator.")


def _steps_per_epoch(loader: Iterable, max_steps: int | None) -> int | None:
    """Batches per epoch: ``len(loader)`` capped at ``max_steps`` (None when neither is known)."""
    try:
        steps = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return max_steps
    return steps if max_steps is None else min(steps, max_steps)


def _schedule_steps(loader: Iterable, max_steps: int | None) -> int:
    """Steps per epoch for a schedule; a sentence when they cannot be known."""
    steps = _steps_per_epoch(loader, max_steps)
    if not steps:
        raise CourseError("The schedule needs the number of steps: use a training loader with a length "
                          "and at least one batch, or pass max_steps_per_epoch.")
    return steps


def _check_fit_arguments(epochs: int, loss_fn: LossFn | None, label_smoothing: float,
                         ema_decay: float | None, max_steps: int | None) -> None:
    if not (is_whole(epochs) and epochs >= 1):
        raise CourseError(f"epochs must be a positive integer; got {epochs!r}.")
    if not (is_real(label_smoothing) and 0.0 <= label_smoothing < 1.0):
        raise CourseError(f"label_smoothing must be in [0, 1); got {label_smoothing!r}.")
    if ema_decay is not None and not (is_real(ema_decay) and 0.0 < ema_decay < 1.0):
        raise CourseError(f"ema_decay must be None or between 0 and 1 (0.998 is typical); got {ema_decay!r}.")
    if loss_fn is not None and label_smoothing:
        raise CourseError("Pass label_smoothing only with the default loss; with your own loss_fn, "
                          "build the smoothing into it.")
    if max_steps is not None and not (is_whole(max_steps) and max_steps >= 1):
        raise CourseError(f"max_steps_per_epoch must be None or a positive integer; got {max_steps!r}.")


def _check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """A sentence unless ``optimizer`` is a torch optimizer that updates (some of) ``model``'s parameters."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise CourseError(f"optimizer must be a torch.optim optimizer, such as "
                          f"torch.optim.SGD(model.parameters(), lr=0.1); got {type(optimizer).__name__}.")
    own = {id(p) for p in model.parameters()}
    if not all(id(p) in own for group in optimizer.param_groups for p in group["params"]):
        raise CourseError("The optimizer holds parameters that are not this model's (was it built for "
                          "another model?); build it from model.parameters() after creating the model.")


