"""The one training loop of the course: ``fit``, plus ``evaluate`` and ``predict`` (both at once:
``evaluate_and_predict``).

Accuracies are fractions in [0, 1]; losses are means per example.

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    history = train.fit(model, loaders.train, loaders.valid, epochs=30, optimizer=optimizer,
                        schedule=train.one_cycle(0.1), label_smoothing=0.1, ema_decay=train.FULL_EMA_DECAY,
                        precision="tf32", channels_last=True, checkpoint="build/checkpoints/resnet34.pt")
    test = train.evaluate(model, loaders.test, precision="tf32", channels_last=True, flip_tta=True)
"""

from __future__ import annotations

import copy
import os
import pickle
import random
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from filelock import FileLock, Timeout
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, OneCycleLR
from tqdm import tqdm

from helper.errors import CourseError, is_real, is_whole
from helper.progress import progress_bar

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Schedule = Callable[[torch.optim.Optimizer, int], LRScheduler]

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")

# Full-mode precision per helper.models.CIFAR_MODELS entry (always with channels_last=True), from
# `make bench` on one NVIDIA H200 (torch 2.11; images/s on batches already on the GPU, channels-last,
# TF32 | bf16): VGG-16-BN 41,122 | 30,212; ResNet-34 18,470 | 15,717; NiN 38,799 | 35,483;
# All-CNN-C 47,747 | 36,404; GoogLeNet 5,343 | 6,455. The residual-56 entry is not measured yet and
# follows ResNet-34. Re-check on another GPU with `python -m helper.tools bench --grid`.
FULL_PRECISION: dict[str, str] = {
    "vgg16_bn": "tf32",
    "resnet56": "tf32",
    "resnet34": "tf32",
    "nin": "tf32",
    "all_conv": "tf32",
    "googlenet": "bf16",
    "densenet_bc100": "tf32",  # not measured yet: follows resnet56
}

# The full-mode weight average, ``fit(ema_decay=FULL_EMA_DECAY)``: each step moves the average 0.2% of
# the way to the new weights, so it spans about the last 500 steps (1 / (1 - decay)), some three
# epochs of a full-mode run (45,000 images in batches of 256). Averaging the iterates of SGD goes back
# to Polyak & Juditsky (1992); D. Page's "How to train your ResNet 8: bag of tricks" (Myrtle.ai, 2019)
# uses a moving average of the weights, with flip test-time augmentation, for fast CIFAR-10 training.
FULL_EMA_DECAY = 0.998


def default_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device`` that this machine has; a sentence when it is not one."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise CourseError(f"device must be a device such as 'cpu' or 'cuda'; got {device!r}.") from error
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(resolved.type, True):
        raise CourseError(f"This machine has no {resolved.type} device; leave device unset to use "
                          f"{default_device()}.")
    return resolved


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


class Evaluation(NamedTuple):
    """Mean loss and accuracy (a fraction in [0, 1]) over a whole loader."""

    loss: float
    accuracy: float


def auxiliary_loss(
    outputs: Sequence[torch.Tensor], targets: torch.Tensor, loss_fn: LossFn, aux_weight: float = 0.3
) -> torch.Tensor:
    """Loss with auxiliary classifiers (GoogLeNet): main loss + ``aux_weight`` x each auxiliary loss.

    ``outputs`` is ``(main_logits, aux_logits_1, ...)``; Szegedy et al. (2015) weight the
    auxiliary heads by 0.3 during training and drop them at inference.
    """
    main, *auxiliary = outputs
    loss = loss_fn(main, targets)
    for logits in auxiliary:
        loss = loss + aux_weight * loss_fn(logits, targets)
    return loss


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s parameters (the default device for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else default_device()


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


class _Numerics(NamedTuple):
    """How ``precision`` runs on one device: autocast dtype (or None), TF32 math, loss scaling."""

    autocast: torch.dtype | None
    tf32: bool
    scaler: bool


def _numerics(precision: str, device: torch.device) -> _Numerics:
    """The settings for ``precision`` on ``device``; off CUDA every precision is plain float32."""
    if precision not in PRECISIONS:
        raise CourseError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {precision!r}.")
    if device.type != "cuda":
        return _Numerics(None, False, False)
    if precision == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        precision = "fp16"  # GPUs before Ampere: float16, with loss scaling
    return {
        "fp32": _Numerics(None, False, False),
        "tf32": _Numerics(None, True, False),
        "bf16": _Numerics(torch.bfloat16, False, False),
        "fp16": _Numerics(torch.float16, False, True),
    }[precision]


def _tf32_switches() -> list[tuple[Any, str, Any, Any]]:
    """(object, attribute, TF32 value, IEEE float32 value) for cuDNN convolutions and CUDA matmuls."""
    if hasattr(torch.backends.cudnn, "conv"):  # the fp32_precision settings of torch >= 2.9
        return [(torch.backends.cudnn.conv, "fp32_precision", "tf32", "ieee"),
                (torch.backends.cuda.matmul, "fp32_precision", "tf32", "ieee")]
    return [(torch.backends.cudnn, "allow_tf32", True, False),
            (torch.backends.cuda.matmul, "allow_tf32", True, False)]


@contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    """Float32 convolutions and matrix products in TF32 (``enabled``) or IEEE float32; restored after."""
    switches = _tf32_switches()
    previous = [getattr(owner, name) for owner, name, _, _ in switches]
    for owner, name, on, off in switches:
        setattr(owner, name, on if enabled else off)
    try:
        yield
    finally:
        for (owner, name, _, _), value in zip(switches, previous, strict=True):
            setattr(owner, name, value)


def memory_format(channels_last: bool, device: torch.device) -> torch.memory_format:
    """The memory format of ``fit``'s model and batches: channels-last (NHWC) only on CUDA, where
    tensor-core convolutions prefer it; elsewhere the tensors keep theirs."""
    return torch.channels_last if channels_last and device.type == "cuda" else torch.preserve_format


def _autocast(numerics: _Numerics) -> AbstractContextManager:
    """A fresh context for one forward pass: ``torch.autocast`` for bf16/fp16, else nothing."""
    if numerics.autocast is None:
        return nullcontext()
    return torch.autocast("cuda", dtype=numerics.autocast)


class _WeightAverage:
    """An exponential moving average of a model's weights and batch-norm statistics (``fit(ema_decay=)``).

    After step t the average moves ``1 - min(decay, (1 + t) / (10 + t))`` of the way to the model, so
    that early steps, when the weights change fast, do not linger (the warm-up of TensorFlow's
    ``ExponentialMovingAverage(num_updates=)``). Integer buffers (batch norm's batch counter) are
    copied. ``torch.optim.swa_utils.AveragedModel(use_buffers=True)`` computes the same average, but
    detaches, moves and recombines every tensor on every step, and four operators per integer buffer:
    torch.profiler counts 1,568 operators per update of the CIFAR ResNet-34 there, 220 here, on the
    CPU. Here the update is one ``torch._foreach_lerp_`` and one ``torch._foreach_copy_`` (fused
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


@dataclass
class _Run:
    """Everything one training run needs besides the data."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LRScheduler | None
    scaler: torch.amp.GradScaler
    loss_fn: LossFn
    device: torch.device
    numerics: _Numerics
    memory_format: torch.memory_format
    generators: list[torch.Generator]  # what decides the train loader's order
    total_steps: int | None  # of the schedule
    average: _WeightAverage | None  # of the weights, with ema_decay

    @property
    def evaluated(self) -> nn.Module:
        """The model that validation measures and that ``fit`` leaves behind: the average if any."""
        return self.average.model if self.average is not None else self.model


def _order_generators(loader: object) -> list[torch.Generator]:
    """The random generators of ``loader`` and its samplers (a DataLoader's ``generator``,
    ``sampler`` and ``batch_sampler``), each once, in a fixed order."""
    found: list[torch.Generator] = []
    pending, seen = [loader], set()
    while pending:
        owner = pending.pop(0)
        if owner is None or id(owner) in seen:
            continue
        seen.add(id(owner))
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator) and all(generator is not g for g in found):
            found.append(generator)
        pending += [getattr(owner, "sampler", None), getattr(owner, "batch_sampler", None)]
    return found


def _rng_states() -> dict[str, Any]:
    """The global random states of torch (CPU, initialised CUDA devices, MPS), NumPy and Python."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "mps": torch.mps.get_rng_state() if torch.backends.mps.is_available() else None,
        "numpy": numpy_state,
        "python": random.getstate(),
    }


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if states.get("mps") is not None and torch.backends.mps.is_available():
        torch.mps.set_rng_state(states["mps"])
    numpy_state = states["numpy"]
    numpy_state["state"]["key"] = np.array(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    random.setstate(states["python"])


def _snapshot(value: Any) -> Any:
    """``value`` with every tensor in it copied to the CPU, so that training can go on meanwhile."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_snapshot(item) for item in value)
    return value


def _checkpoint_state(run: _Run, history: History) -> dict[str, Any]:
    """Everything a resumed run needs, copied now: weights, optimizer, schedule, history, random states."""
    return _snapshot({
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "total_steps": run.total_steps,
        "scaler": run.scaler.state_dict(),
        "average": run.average.model.state_dict() if run.average is not None else None,
        "average_updates": run.average.updates if run.average is not None else 0,
        "history": asdict(history),
        "rng": _rng_states(),
        "loader": [generator.get_state() for generator in run.generators],
    })


def _write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write to a temporary file of this write's own first, then rename it, so a crash never leaves half a
    file; a failed write removes its temporary file."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _lock_checkpoint(path: Path) -> FileLock:
    """Hold ``path``'s lock file (beside it) for one training; a sentence while another run holds it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path.with_name(path.name + ".lock"))
        lock.acquire(timeout=0)
    except Timeout as error:
        raise CourseError(f"Another run is training with the checkpoint {path} (in another notebook or "
                          "terminal); let it finish or stop it, or pass another checkpoint path."
                          ) from error
    except OSError as error:
        raise CourseError(f"Could not write the checkpoint {path} ({error.strerror or error}); pass a "
                          "checkpoint path in a folder you can write to.") from error
    return lock


class _CheckpointWriter:
    """Writes each checkpoint in a background thread (a large model takes a fair part of a GPU
    epoch to write), one at a time, while the next epoch trains."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def write(self, state: dict[str, Any]) -> None:
        """Start writing ``state`` (see :func:`_checkpoint_state`) once the previous write is done."""
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(state,))
        self._thread.start()

    def _write(self, state: dict[str, Any]) -> None:
        try:
            _write_checkpoint(self.path, state)
        except Exception as error:  # noqa: BLE001 - torch.save reports a full disk as a RuntimeError
            self._error = error

    def wait(self) -> None:
        """Return once the last checkpoint is on disk; a sentence if it could not be written."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise CourseError(f"Could not write the checkpoint {self.path} ({error}); "
                              "free some disk space or pass another checkpoint path.") from error


def _check_finite(path: Path, *weights: dict[str, torch.Tensor] | None) -> None:
    """A sentence when a saved tensor holds NaN or infinity (the run that saved it diverged)."""
    for tensors in weights:
        for name, tensor in (tensors or {}).items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise CourseError(f"The checkpoint {path} holds weights that are not finite ({name} has NaN "
                                  "or infinity), so the run that saved it diverged; delete it and train "
                                  "again, with a lower learning rate.")


def _load_checkpoint(path: Path, run: _Run) -> History:
    """Restore ``run``, the random states and the train loader's order; the history so far."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if (state["total_steps"] != run.total_steps or len(state["loader"]) != len(run.generators)
                or (state.get("average") is None) != (run.average is None)):
            raise ValueError("another schedule, train loader or weight average")
        saved_groups = state["optimizer"]["param_groups"]
        if [set(g) for g in saved_groups] != [set(g) for g in run.optimizer.param_groups]:
            raise ValueError("another kind of optimizer")  # SGD's state would load into Adam, then fail
        _check_finite(path, state["model"], state.get("average"))
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        if run.scheduler is not None:
            run.scheduler.load_state_dict(state["scheduler"])
        run.scaler.load_state_dict(state["scaler"])
        if run.average is not None:
            run.average.model.load_state_dict(state["average"])
            run.average.updates = state["average_updates"]
        history = History(**state["history"])
        for generator, generator_state in zip(run.generators, state["loader"], strict=True):
            generator.set_state(generator_state)
        _set_rng_states(state["rng"])
    except CourseError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, AttributeError, EOFError,
            pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise CourseError(f"The checkpoint {path} is damaged or does not fit this model, optimizer, schedule "
                          "and loader; delete it or pass another checkpoint path.") from error
    history.interrupted = False
    return history


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
      a tuple in training mode (GoogLeNet's ``(logits, aux1, aux2)``) is trained with
      :func:`auxiliary_loss`; accuracy always comes from the main logits.
    - ``ema_decay``: keep an exponential moving average of the weights and batch-norm statistics,
      updated after every step (:data:`FULL_EMA_DECAY` is full mode's choice and its sources).
      Validation measures the average, and when ``fit`` returns, ``model`` holds the averaged
      weights (the checkpoint keeps both). None trains and returns the weights as they are.
    - ``device`` defaults to :func:`default_device`; the model is moved there.
    - ``precision`` (CUDA only; elsewhere everything runs in float32): "fp32" (IEEE float32), "tf32"
      (float32 tensors, TensorFloat-32 tensor-core math in convolutions and matrix products), "bf16"
      (``torch.autocast`` to bfloat16; float16 with loss scaling on GPUs without bfloat16) or
      "fp16" (autocast to float16 with a ``GradScaler``). :data:`FULL_PRECISION` holds the
      measured fastest choice per course model. Validation runs under the same precision and layout.
    - ``channels_last`` (CUDA only): NHWC memory layout, which tensor-core convolutions prefer.
    - ``checkpoint``: a file written after every epoch (model, optimizer, schedule, history, the
      random states and the train loader's shuffling state). Calling ``fit`` again with the same
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
    _check_optimizer(model, optimizer)
    device = resolve_device(device) if device is not None else default_device()
    numerics = _numerics(precision, device)
    layout = memory_format(channels_last, device)
    model.to(device=device, memory_format=layout)
    total_steps, scheduler = None, None
    if schedule is not None:
        total_steps = epochs * _schedule_steps(train_loader, max_steps_per_epoch)
        scheduler = schedule(optimizer, total_steps)
    run = _Run(model, optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=numerics.scaler),
               loss_fn if loss_fn is not None else nn.CrossEntropyLoss(label_smoothing=label_smoothing),
               device, numerics, layout, _order_generators(train_loader), total_steps,
               _WeightAverage(model, ema_decay) if ema_decay is not None else None)

    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.is_dir():
        raise CourseError(f"checkpoint must be a file name, and {path} is a folder; "
                          f"pass e.g. {path / 'run.pt'}.")
    lock = _lock_checkpoint(path) if path is not None else None  # held until fit returns
    try:
        resuming = path is not None and path.exists()
        history = _load_checkpoint(path, run) if resuming else History()
        if history.epochs > epochs:
            raise CourseError(f"The checkpoint {path} already holds {history.epochs} epochs, more than "
                              f"epochs={epochs}; pass epochs={history.epochs} or more, or another "
                              "checkpoint.")
        history.precision, history.channels_last = precision, channels_last  # how it trains from here on
        _latest = history
        named = f"{label}: " if label else ""
        if resuming:
            print(f"{named}Resuming from {path.name} after epoch {history.epochs} of {epochs}.")
        writer = _CheckpointWriter(path) if path is not None else None
        plot = None
        if live_plot:
            from helper.plotting import LivePlot

            plot = LivePlot(title=label)
            if history.epochs:  # the curves so far, also when the checkpoint already holds every epoch
                plot.update(history)
        epoch_bar = progress_bar(range(history.epochs, epochs), desc=f"{named}epochs", disable=not progress,
                                 initial=history.epochs, total=epochs)
        # one batch bar for the whole run, reset each epoch
        batch_bar = progress_bar(desc="batches", leave=False, disable=not progress)
        try:
            with _tf32(numerics.tf32) if device.type == "cuda" else nullcontext():
                for _ in epoch_bar:
                    start = time.perf_counter()
                    if not _train_epoch(run, train_loader, max_steps_per_epoch, history, batch_bar):
                        raise CourseError(_empty_epoch_message(history.epochs + 1))
                    if valid_loader is not None:
                        result = evaluate(run.evaluated, valid_loader, loss_fn=run.loss_fn, device=device,
                                          precision=precision, channels_last=channels_last)
                        history.valid_loss.append(result.loss)
                        history.valid_accuracy.append(result.accuracy)
                    history.epoch_seconds.append(time.perf_counter() - start)
                    epoch_bar.set_postfix(_postfix(history))
                    if writer is not None:
                        writer.write(_checkpoint_state(run, history))
                    if plot is not None:
                        plot.update(history)
        except KeyboardInterrupt:
            history.interrupted = True
            history.drop_unfinished_epoch()
            message = named + _interrupted_message(history.epochs, epochs, path)
            raise TrainingInterrupted(message, history) from None
        finally:  # before the interrupt goes on: the last checkpoint is on disk
            if writer is not None:
                writer.wait()
            batch_bar.close()
            epoch_bar.close()
            if plot is not None:
                plot.close()
            if run.average is not None:
                model.load_state_dict(run.average.model.state_dict())
    finally:  # also when set-up fails or a second Ctrl-C comes while closing
        if lock is not None:
            lock.release()
    return history


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


def _train_epoch(run: _Run, loader: Iterable, max_steps: int | None, history: History, bar: tqdm) -> int:
    """One pass over ``loader`` (at most ``max_steps`` batches), counted on ``bar``; the number of
    examples seen.

    Appends every step's loss, and when the pass is complete the epoch's mean loss and accuracy, to
    ``history``. Losses and counts stay on the device until the end of the epoch (or the progress
    bar's refresh, every tenth of the epoch), so the steps run without waiting for the GPU.
    """
    run.model.train()
    total = _steps_per_epoch(loader, max_steps)
    refresh_every = max(10, (total or 100) // 10)
    batches = loader if max_steps is None else islice(loader, max_steps)
    bar.reset(total=total)
    step_losses: list[torch.Tensor] = []
    loss_sum = torch.zeros((), device=run.device)
    correct = torch.zeros((), device=run.device, dtype=torch.long)
    seen = 0
    try:
        for step, (inputs, targets) in enumerate(batches, start=1):
            inputs = inputs.to(run.device, non_blocking=True, memory_format=run.memory_format)
            targets = targets.to(run.device, non_blocking=True)
            with _autocast(run.numerics):
                outputs = run.model(inputs)
                if isinstance(outputs, (tuple, list)):
                    loss, logits = auxiliary_loss(outputs, targets, run.loss_fn), outputs[0]
                else:
                    loss, logits = run.loss_fn(outputs, targets), outputs
            run.optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
            if run.scheduler is not None:
                run.scheduler.step()
            if run.average is not None:
                run.average.update()
            batch_loss = loss.detach().float()
            step_losses.append(batch_loss)
            loss_sum += batch_loss * len(targets)
            correct += (logits.detach().argmax(1) == targets).sum()
            seen += len(targets)
            if not bar.disable and step % refresh_every == 0:
                bar.set_postfix(loss=f"{batch_loss.item():.3f}", acc=f"{correct.item() / seen:.3f}",
                                refresh=False)
            bar.update()
    finally:  # the steps of an interrupted epoch did happen
        if step_losses:
            history.iteration_loss += torch.stack(step_losses).tolist()
    if seen:
        history.train_loss.append(loss_sum.item() / seen)
        history.train_accuracy.append(correct.item() / seen)
    return seen


def _postfix(history: History) -> dict[str, str]:
    postfix = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_accuracy[-1]:.3f}"}
    if history.valid_accuracy:
        postfix["val_acc"] = f"{history.valid_accuracy[-1]:.3f}"
    return postfix


def _main_logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    logits = model(inputs)
    return logits[0] if isinstance(logits, (tuple, list)) else logits


def _flip_averaged(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Log of the mean of the class probabilities for ``inputs`` and their mirror images.

    The result is a log-probability, so it works wherever logits do (argmax, cross-entropy). This is
    the test-time augmentation of Simonyan & Zisserman (2015, sec. 3.2), who average the soft-max
    outputs of each test image and its horizontal flip.
    """
    both = torch.stack([_main_logits(model, inputs).float().log_softmax(1),
                        _main_logits(model, inputs.flip(3)).float().log_softmax(1)])
    return torch.logsumexp(both, 0) - torch.log(torch.tensor(2.0, device=inputs.device))


def _eval_batches(model: nn.Module, loader: Iterable, device: torch.device, precision: str,
                  channels_last: bool, flip_tta: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(main logits in float32, targets) on ``device`` for each batch, in eval and inference mode,
    under ``precision`` and ``channels_last`` as :func:`fit` applies them; with ``flip_tta`` the
    logits are :func:`_flip_averaged` log-probabilities.

    The model's train/eval flag is restored when the loop ends.
    """
    numerics = _numerics(precision, device)
    layout = memory_format(channels_last, device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), _tf32(numerics.tf32) if device.type == "cuda" else nullcontext():
            for inputs, targets in loader:
                inputs = inputs.to(device, non_blocking=True, memory_format=layout)
                with _autocast(numerics):
                    logits = _flip_averaged(model, inputs) if flip_tta else _main_logits(model, inputs)
                yield logits.float(), targets.to(device, non_blocking=True)
    finally:
        model.train(was_training)


def _pass(model: nn.Module, loader: Iterable, loss_fn: LossFn | None, device: torch.device | str | None,
          precision: str, channels_last: bool, flip_tta: bool
          ) -> tuple[Evaluation, torch.Tensor, torch.Tensor]:
    """One pass over ``loader``: the :class:`Evaluation` (its loss NaN without ``loss_fn``), then the
    predicted classes and the true targets as CPU tensors."""
    device = resolve_device(device) if device is not None else model_device(model)
    loss_sum = torch.zeros((), device=device)
    predictions, targets = [], []
    for logits, batch_targets in _eval_batches(model, loader, device, precision, channels_last, flip_tta):
        if loss_fn is not None:
            loss_sum += loss_fn(logits, batch_targets).float() * len(batch_targets)
        predictions.append(logits.argmax(1))
        targets.append(batch_targets)
    if not predictions:
        empty = torch.empty(0, dtype=torch.long)
        return Evaluation(float("nan"), float("nan")), empty, empty.clone()
    predicted, truth = torch.cat(predictions), torch.cat(targets)
    seen = len(truth)
    loss = loss_sum.item() / seen if loss_fn is not None else float("nan")
    return Evaluation(loss, (predicted == truth).sum().item() / seen), predicted.cpu(), truth.cpu()


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
    return _pass(model, loader, loss_fn, device, precision, channels_last, flip_tta)


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
    ``channels_last`` mean what they mean for :func:`fit` (pass the same ones). ``flip_tta``
    classifies each image by the mean of its own and its mirror image's class probabilities (only
    meaningful for a model trained with random horizontal flips, such as full mode's CIFAR-10 runs).
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
    _, predicted, truth = _pass(model, loader, None, device, precision, channels_last, flip_tta)
    return predicted, truth


def accuracy_with_batch_statistics(model: nn.Module, loader: Iterable) -> float:
    """Accuracy on ``loader`` when every batch norm normalises with the batch's own mean and
    variance, as in training, instead of its running averages (dropout stays off).

    Runs on a copy, so ``model``'s running averages stay untouched. Notebooks 07 and 09 use it to
    ask whether the running averages hold a short-trained network back.
    """
    probe = copy.deepcopy(model).eval()
    for module in probe.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train()
    device = model_device(probe)
    correct = seen = 0
    with torch.no_grad():
        for inputs, targets in loader:
            correct += (_main_logits(probe, inputs.to(device)).argmax(1).cpu() == targets.cpu()).sum().item()
            seen += len(targets)
    if not seen:
        raise CourseError("The loader is empty: there is nothing to measure the accuracy on.")
    return correct / seen
