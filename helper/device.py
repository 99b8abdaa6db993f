"""Where and in what number format tensors compute: the device, the memory layout, and the precision.

``precision`` is one of :data:`PRECISIONS` and only matters on CUDA; elsewhere everything runs in
IEEE float32, and :func:`precision_scope` and :func:`autocast` do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, NamedTuple

import torch
from torch import nn

from helper.errors import CourseError

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


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


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s parameters (the default device for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else default_device()


def memory_format(channels_last: bool, device: torch.device) -> torch.memory_format:
    """The memory format of ``fit``'s model and batches: channels-last (NHWC) only on CUDA, where
    tensor-core convolutions prefer it; elsewhere the tensors keep theirs."""
    return torch.channels_last if channels_last and device.type == "cuda" else torch.preserve_format


class Numerics(NamedTuple):
    """How a precision runs on one device: autocast dtype (or None), TF32 math, loss scaling."""

    autocast: torch.dtype | None
    tf32: bool
    scaler: bool


def numerics(precision: str, device: torch.device) -> Numerics:
    """The settings for ``precision`` on ``device``; off CUDA every precision is plain float32, and on a
    GPU without bfloat16 "bf16" becomes float16 with loss scaling."""
    if precision not in PRECISIONS:
        raise CourseError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {precision!r}.")
    if device.type != "cuda":
        return Numerics(None, False, False)
    if precision == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
        precision = "fp16"
    return {
        "fp32": Numerics(None, False, False),
        "tf32": Numerics(None, True, False),
        "bf16": Numerics(torch.bfloat16, False, False),
        "fp16": Numerics(torch.float16, False, True),
    }[precision]


def _tf32_switches() -> list[tuple[Any, str, Any, Any]]:
    """(object, attribute, TF32 value, IEEE float32 value) for cuDNN convolutions and CUDA matmuls."""
    if hasattr(torch.backends.cudnn, "conv"):  # the fp32_precision settings of newer torch
        return [(torch.backends.cudnn.conv, "fp32_precision", "tf32", "ieee"),
                (torch.backends.cuda.matmul, "fp32_precision", "tf32", "ieee")]
    return [(torch.backends.cudnn, "allow_tf32", True, False),
            (torch.backends.cuda.matmul, "allow_tf32", True, False)]


@contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    switches = _tf32_switches()
    previous = [getattr(owner, name) for owner, name, _, _ in switches]
    for owner, name, on, off in switches:
        setattr(owner, name, on if enabled else off)
    try:
        yield
    finally:
        for (owner, name, _, _), value in zip(switches, previous, strict=True):
            setattr(owner, name, value)


def precision_scope(settings: Numerics, device: torch.device) -> AbstractContextManager:
    """A scope whose float32 convolutions and matrix products use TF32 (``settings.tf32``) or IEEE
    float32 on CUDA, restored afterwards; nothing off CUDA."""
    return _tf32(settings.tf32) if device.type == "cuda" else nullcontext()


def autocast(settings: Numerics) -> AbstractContextManager:
    """A fresh context for one forward pass: ``torch.autocast`` for bf16/fp16, else nothing."""
    if settings.autocast is None:
        return nullcontext()
    return torch.autocast("cuda", dtype=settings.autocast)
