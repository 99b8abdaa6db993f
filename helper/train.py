"""The one training loop of the course: ``fit``, plus ``evaluate`` and ``predict``.

Accuracies are fractions in [0, 1]; losses are means per example.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from helper.errors import CourseError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def default_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class History:
    """What ``fit`` measured: one loss per training step, and per-epoch losses and accuracies.

    ``valid_loss``/``valid_accuracy`` stay empty when there is no validation loader.
    ``interrupted`` is True when training was stopped with Ctrl-C (Kernel > Interrupt).
    """

    iteration_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)


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


def _amp_settings(amp: bool, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler). bf16 when the GPU has it, otherwise fp16 + scaler."""
    if not amp or device.type != "cuda":
        return None, False
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, False
    return torch.float16, True


def _save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, scaler,
                     history: History) -> None:
    """Write the checkpoint to a temporary file first, then rename it, so a crash never leaves half a file."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict(),
        "history": asdict(history),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def _load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, scaler,
                     device: torch.device) -> History:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history = History(**state["history"])
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError) as error:
        raise CourseError(f"The checkpoint {path} does not fit this model and optimizer; "
                          "delete it or pass another checkpoint path.") from error
    history.interrupted = False
    return history


def fit(
    model: nn.Module,
    train_loader: Iterable,
    valid_loader: Iterable | None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn | None = None,
    scheduler=None,
    device: torch.device | str | None = None,
    amp: bool = False,
    channels_last: bool = False,
    checkpoint: str | Path | None = None,
    max_steps_per_epoch: int | None = None,
    live_plot: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    - ``loss_fn`` defaults to cross-entropy. A model that returns a tuple in training mode
      (GoogLeNet's ``(logits, aux1, aux2)``) is trained with :func:`auxiliary_loss`; accuracy
      always comes from the main logits.
    - ``scheduler`` is stepped after every batch, so build it per step, e.g.
      ``OneCycleLR(optimizer, max_lr, epochs=epochs, steps_per_epoch=len(train_loader))``.
    - ``device`` defaults to :func:`default_device`; the model is moved there.
    - ``amp`` (CUDA only, ignored elsewhere): mixed precision with ``torch.autocast``; bfloat16
      where the GPU supports it (same range as float32, so no loss scaling is needed), otherwise
      float16 with a ``GradScaler`` that keeps small gradients from underflowing.
    - ``channels_last`` (CUDA only): NHWC memory layout, which tensor-core convolutions prefer.
    - ``checkpoint``: a file written after every epoch (model, optimizer, scheduler, history);
      calling ``fit`` again with the same file resumes after the last finished epoch (the data
      order of the resumed epochs differs from an uninterrupted run).
    - ``max_steps_per_epoch``: stop each epoch after that many batches (quick demos).
    - ``live_plot``: redraw the training curves after every epoch in a notebook.
    - Ctrl-C (Kernel > Interrupt) stops cleanly and returns the history so far.
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    device = torch.device(device) if device is not None else default_device()
    autocast_dtype, use_scaler = _amp_settings(amp, device)
    memory_format = torch.channels_last if channels_last and device.type == "cuda" else torch.preserve_format
    model.to(device=device, memory_format=memory_format)
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    autocast = (lambda: torch.autocast("cuda", dtype=autocast_dtype)) if autocast_dtype else nullcontext

    history = History()
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        history = _load_checkpoint(path, model, optimizer, scheduler, scaler, device)
        print(f"Resuming from {path.name} after epoch {history.epochs} of {epochs}.")
    plot = None
    if live_plot:
        from helper.plotting import LivePlot

        plot = LivePlot()

    epoch_bar = tqdm(range(history.epochs, epochs), desc="epochs", disable=not progress,
                     initial=history.epochs, total=epochs)
    step_losses: list[torch.Tensor] = []  # this epoch's losses, still on the device
    try:
        for _ in epoch_bar:
            start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            seen = 0
            try:
                total = len(train_loader)  # type: ignore[arg-type]
            except TypeError:
                total = None
            if max_steps_per_epoch is not None:
                total = min(total, max_steps_per_epoch) if total is not None else max_steps_per_epoch
            refresh_every = max(10, (total or 100) // 10)  # postfix updates need a device sync
            steps = max_steps_per_epoch
            batches = train_loader if steps is None else islice(train_loader, steps)
            batch_bar = tqdm(batches, total=total, desc="batches", leave=False, disable=not progress)
            for step, (inputs, targets) in enumerate(batch_bar):
                inputs = inputs.to(device, non_blocking=True, memory_format=memory_format)
                targets = targets.to(device, non_blocking=True)
                with autocast():
                    outputs = model(inputs)
                    if isinstance(outputs, (tuple, list)):
                        loss = auxiliary_loss(outputs, targets, loss_fn)
                        logits = outputs[0]
                    else:
                        loss = loss_fn(outputs, targets)
                        logits = outputs
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None:
                    scheduler.step()
                # Accumulate on the device; one synchronisation per epoch (and per progress refresh).
                batch_loss = loss.detach().float()
                step_losses.append(batch_loss)
                loss_sum += batch_loss * len(targets)
                correct += (logits.detach().argmax(1) == targets).sum()
                seen += len(targets)
                if progress and (step + 1) % refresh_every == 0:
                    batch_bar.set_postfix(loss=f"{batch_loss.item():.3f}", acc=f"{correct.item() / seen:.3f}",
                                          refresh=False)
            batch_bar.close()
            if seen == 0:
                break  # an empty epoch means the loader is exhausted
            history.iteration_loss += torch.stack(step_losses).tolist()
            step_losses = []
            history.train_loss.append(loss_sum.item() / seen)
            history.train_accuracy.append(correct.item() / seen)
            if valid_loader is not None:
                result = evaluate(model, valid_loader, loss_fn=loss_fn, device=device)
                history.valid_loss.append(result.loss)
                history.valid_accuracy.append(result.accuracy)
            history.epoch_seconds.append(time.perf_counter() - start)
            epoch_bar.set_postfix(_postfix(history))
            if path is not None:
                _save_checkpoint(path, model, optimizer, scheduler, scaler, history)
            if plot is not None:
                plot.update(history)
    except KeyboardInterrupt:
        if step_losses:  # the steps of the unfinished epoch did happen
            history.iteration_loss += torch.stack(step_losses).tolist()
        history.interrupted = True
        print(f"Training interrupted after {history.epochs} finished epoch(s); returning the history so far.")
    finally:
        epoch_bar.close()
        if plot is not None:
            plot.close()
    return history


def _postfix(history: History) -> dict[str, str]:
    postfix = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_accuracy[-1]:.3f}"}
    if history.valid_accuracy:
        postfix["val_acc"] = f"{history.valid_accuracy[-1]:.3f}"
    return postfix


def _eval_batches(model: nn.Module, loader: Iterable, device: torch.device
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(main logits, targets) on ``device`` for each batch, in eval and inference mode.

    The model's train/eval flag is restored when the loop ends.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for inputs, targets in loader:
                logits = model(inputs.to(device, non_blocking=True))
                if isinstance(logits, (tuple, list)):
                    logits = logits[0]
                yield logits, targets.to(device, non_blocking=True)
    finally:
        model.train(was_training)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> Evaluation:
    """Mean loss and accuracy of ``model`` on ``loader`` in eval mode (the train/eval flag is restored).

    ``device`` defaults to the device the model's parameters are on.
    """
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    device = torch.device(device) if device is not None else model_device(model)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for logits, targets in _eval_batches(model, loader, device):
        loss_sum += loss_fn(logits, targets).float() * len(targets)
        correct += (logits.argmax(1) == targets).sum()
        seen += len(targets)
    if seen == 0:
        return Evaluation(float("nan"), float("nan"))
    return Evaluation(loss_sum.item() / seen, correct.item() / seen)


def predict(model: nn.Module, loader: Iterable, *, device: torch.device | str | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and true targets for every item of ``loader``, as CPU tensors.

    ``device`` defaults to the device the model's parameters are on; the train/eval flag is restored.
    """
    device = torch.device(device) if device is not None else model_device(model)
    predictions, targets = [], []
    for logits, batch_targets in _eval_batches(model, loader, device):
        predictions.append(logits.argmax(1).cpu())
        targets.append(batch_targets.cpu())
    if not predictions:
        return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    return torch.cat(predictions), torch.cat(targets)
