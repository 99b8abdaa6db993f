"""Reproducible runs: one seed for every random generator, and PyTorch's deterministic mode.

    generator = repro.set_seed(0)          # python, numpy, torch (CPU and CUDA)
    repro.deterministic()                  # same algorithms, same results, every run
    with repro.deterministic():            # ... or only inside a block
        ...
    repro.deterministic(warn_only=True)    # warn, not raise, where an operation has no deterministic kernel
"""

from __future__ import annotations

import os
import random
import warnings

import numpy as np
import torch

from helper.errors import CourseError, is_whole

__all__ = ["deterministic", "set_seed"]

CUBLAS_SETTING = ":4096:8"


def set_seed(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every CUDA device) with ``seed``.

    Returns a fresh ``torch.Generator`` seeded the same way; pass it as ``generator=`` to a
    ``DataLoader`` so that its shuffling order is reproducible too.
    """
    if not is_whole(seed) or not 0 <= seed < 2**32:
        raise CourseError(f"seed must be an integer from 0 to 2**32 - 1; got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


class deterministic:  # lower case: used like a function, as torch.set_grad_enabled is
    """Switch PyTorch's deterministic mode on (``enabled=True``) or back to PyTorch's defaults.

    On: cuDNN uses only deterministic algorithms and stops autotuning (``benchmark`` off),
    ``torch.use_deterministic_algorithms(True)`` makes any operation without a deterministic
    version raise an error instead of silently varying, and ``CUBLAS_WORKSPACE_CONFIG`` is set so
    that cuBLAS matrix products repeat exactly. That variable is read when CUDA starts, so call
    this before the first CUDA operation; otherwise it warns. Call it plainly to change the
    setting for the rest of the session, or use ``with deterministic(): ...`` to restore the
    previous setting afterwards.

    Some operations have no deterministic CUDA kernel at all: the backward pass of
    ``adaptive_avg_pool2d`` is one, so training GoogLeNet with its auxiliary heads
    (``AdaptiveAvgPool2d((4, 4))``) or the ImageNet-head VGG on a GPU raises in this mode.
    ``warn_only=True`` keeps everything else deterministic and lets such an operation run its
    nondeterministic kernel with a warning instead.
    """

    def __init__(self, enabled: bool = True, *, warn_only: bool = False) -> None:
        if not isinstance(enabled, bool):
            raise CourseError(f"enabled must be True or False; got {enabled!r}.")
        if not isinstance(warn_only, bool):
            raise CourseError(f"warn_only must be True or False; got {warn_only!r}.")
        self._previous = (
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        )
        if enabled and "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_SETTING
            if torch.cuda.is_initialized():
                warnings.warn(
                    "CUDA was already in use when deterministic() set CUBLAS_WORKSPACE_CONFIG, so cuBLAS "
                    "may still vary: restart the kernel and call deterministic() before any CUDA operation.",
                    stacklevel=2,
                )
        torch.backends.cudnn.deterministic = enabled
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)

    def __enter__(self) -> deterministic:
        return self

    def __exit__(self, *exc_info: object) -> None:
        cudnn_deterministic, benchmark, algorithms, warn_only, cublas = self._previous
        torch.backends.cudnn.deterministic = cudnn_deterministic
        torch.backends.cudnn.benchmark = benchmark
        torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
        if cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas
