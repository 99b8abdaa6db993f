"""helper.tools.bench on the CPU with tiny settings: every table prints, bad options are one sentence."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from helper import models
from helper.errors import CourseError
from helper.tools import bench

TINY = ["--models", "tiny", "--batch-size", "4", "--steps", "2", "--warmup", "1", "--repeats", "1",
        "--epoch-images", "8"]


def tiny_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 10))


@pytest.fixture
def tiny_registered(monkeypatch):
    """A tiny CIFAR-shaped model in the registry, with a full-mode precision, so the tables take seconds."""
    monkeypatch.setitem(models.CIFAR_MODELS, "tiny", models.TrainedModel(tiny_cnn, "bf16"))


def test_every_table_prints(tiny_registered, capsys):
    assert bench.main([*TINY, "--grid"]) == 0
    out = capsys.readouterr().out
    for title in ("Bare training step by precision and layout", "helper.train.fit vs a bare loop",
                  "Full-mode epoch of 8 synthetic CIFAR-10 images"):
        assert title in out
    assert out.count("\ntiny ") == 3  # one row per table
    for title in ("Bare training step by precision and layout", "helper.train.fit vs a bare loop"):
        header, row = table(out, title)
        assert len(row) == len(header) and row[0] == "tiny", f"{title}: one value per column"
        assert "bf16 CL" in row, f"{title}: full mode's setting comes from the registry entry"
    grid_header, grid_row = table(out, "Bare training step by precision and layout")
    measured = [cell for name, cell in zip(grid_header, grid_row, strict=True) if name in ("fp32", "bf16 CL")]
    assert all(float(cell) > 0 for cell in measured), "each setting is measured in images/s"
    assert "trains in float32, NCHW" in out  # the CPU ignores precision and layout, and says so


def table(out: str, title: str) -> tuple[list[str], list[str]]:
    """The header and the first row of the table printed under ``title``, cells split at 2+ spaces."""
    lines = out.split(title, 1)[1].splitlines()
    return re.split(r"\s{2,}", lines[1].strip()), re.split(r"\s{2,}", lines[3].strip())


def test_the_grid_is_off_by_default_on_the_cpu(tiny_registered, capsys):
    assert bench.main(TINY) == 0
    out = capsys.readouterr().out
    assert "precision and layout" not in out and "fit vs a bare loop" in out


def test_profile_counts_operators_per_step(tiny_registered, capsys):
    assert bench.main([*TINY, "--profile", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "tiny, fit (bf16 CL, batch 4, 2 steps), per step:" in out
    assert "tiny, bare loop (bf16 CL, batch 4, 2 steps), per step:" in out
    assert "operators" in out and "synchronisations" in out and "Self CPU" in out


def test_torchvision_table(capsys):
    settings = bench.Settings(torch.device("cpu"), batch_size=2, steps=1, warmup=0, repeats=1, image_size=32,
                              epoch_images=1)
    bench.torchvision_table(["resnet34", "nin"], settings)
    out = capsys.readouterr().out
    assert "ours/tv" in out and "\nresnet34 " in out and "\nnin " not in out


def test_fit_and_the_bare_loop_take_the_same_steps():
    batches = bench.make_batches(3, 4, 32, 10, torch.device("cpu"))
    trained = []
    for loop in (bench.bare_loop, bench.helper_loop):
        torch.manual_seed(0)
        model = tiny_cnn()
        loop(model, batches, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        trained.append(model.state_dict())
    for bare, helper in zip(*(state.values() for state in trained), strict=True):
        assert torch.equal(bare, helper)


@pytest.mark.parametrize(("option", "message"), [
    (["--models", "alexnet"], "Unknown model 'alexnet'"),
    (["--profile", "alexnet"], "Unknown model 'alexnet'"),
    (["--steps", "0"], "must be positive"),
    (["--epoch-images", "0"], "must be positive"),
    (["--warmup", "-1"], "--warmup >= 0"),
])
def test_bad_options_raise_one_sentence(option, message):
    with pytest.raises(CourseError, match=message) as error:
        bench.main(option)
    text = str(error.value)
    assert "\n" not in text and text.endswith(".")
