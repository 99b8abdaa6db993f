"""helper.repro: set_seed repeats all generators; deterministic (strict or warn-only) sets, restores flags."""

import os
import random
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from helper import repro
from helper.errors import CourseError


@pytest.fixture(autouse=True)
def restore_torch_flags(monkeypatch):
    """Leave PyTorch's global flags and the environment as each test found them."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[:2]
    torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])


def draws() -> tuple:
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_set_seed_repeats_every_generator():
    repro.set_seed(7)
    first = draws()
    repro.set_seed(7)
    assert draws() == first
    repro.set_seed(8)
    assert draws() != first


def test_set_seed_returns_a_seeded_generator_for_dataloaders():
    data = TensorDataset(torch.arange(20))

    def order(seed: int) -> list[int]:
        loader = DataLoader(data, batch_size=5, shuffle=True, generator=repro.set_seed(seed))
        return torch.cat([batch for (batch,) in loader]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert sorted(order(3)) == list(range(20))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0, True, "0"])
def test_bad_seed_raises_course_error(seed):
    with pytest.raises(CourseError, match="seed must be an integer from 0 to 2\\*\\*32 - 1"):
        repro.set_seed(seed)


def test_deterministic_sets_flags_and_environment():
    torch.backends.cudnn.benchmark = True
    repro.deterministic()
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    repro.deterministic(False)
    assert torch.backends.cudnn.deterministic is False
    assert not torch.are_deterministic_algorithms_enabled()


def test_deterministic_keeps_an_existing_cublas_setting(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    repro.deterministic()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_deterministic_as_context_manager_restores_everything():
    torch.backends.cudnn.benchmark = True
    torch.use_deterministic_algorithms(False)
    with repro.deterministic():
        assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark
        assert "CUBLAS_WORKSPACE_CONFIG" in os.environ
    assert torch.backends.cudnn.benchmark is True
    assert torch.backends.cudnn.deterministic is False
    assert not torch.are_deterministic_algorithms_enabled()
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_deterministic_warns_when_cuda_already_started(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.warns(UserWarning, match="restart the kernel and call deterministic\\(\\) before any CUDA"):
        repro.deterministic()


def test_deterministic_does_not_warn_when_cuda_is_fresh_or_variable_is_set(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repro.deterministic()  # CUDA not started yet
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
        repro.deterministic()  # the variable is already set


def test_deterministic_rejects_non_bool():
    with pytest.raises(CourseError, match="enabled must be True or False; got 'yes'."):
        repro.deterministic("yes")


def unpool_once() -> torch.Tensor:
    """MaxUnpool2d, an operation without a deterministic implementation (on the CPU too)."""
    pooled, indices = torch.nn.MaxPool2d(2, return_indices=True)(torch.arange(16.0).view(1, 1, 4, 4))
    return torch.nn.MaxUnpool2d(2)(pooled, indices)


def test_deterministic_raises_where_no_deterministic_kernel_exists():
    with repro.deterministic(), pytest.raises(RuntimeError, match="does not have a deterministic"):
        unpool_once()


def test_deterministic_warn_only_warns_instead_and_keeps_the_rest():
    torch.backends.cudnn.benchmark = True
    with repro.deterministic(warn_only=True):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False
        with pytest.warns(UserWarning, match="does not have a deterministic implementation"):
            unpool_once()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.benchmark is True


def test_deterministic_rejects_non_bool_warn_only():
    with pytest.raises(CourseError, match="warn_only must be True or False; got 1."):
        repro.deterministic(warn_only=1)
