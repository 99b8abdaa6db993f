"""NiN, All-CNN and GoogLeNet: the narrower copies (``width_divisor``) and the start of the class maps."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import on_meta
from torch import nn

from helper.errors import CourseError
from helper.models import CIFAR_MODELS, MLPConv, all_conv, googlenet, nin
from helper.models.googlenet import INCEPTION_MODULES
from helper.profile import count_parameters

# The CIFAR-10 models at the papers' widths (tests/test_models.py checks these counts against the papers).
PAPER_PARAMS = {"nin": 966_986, "all_conv": 1_369_738, "googlenet": 10_214_990}


def conv_widths(model: nn.Module) -> list[int]:
    return [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("name", list(PAPER_PARAMS))
def test_registry_still_builds_the_papers_widths(name):
    assert count_parameters(on_meta(CIFAR_MODELS[name])) == PAPER_PARAMS[name]


@pytest.mark.parametrize(
    "build",
    [
        lambda divisor: nin(width_divisor=divisor),
        lambda divisor: all_conv("C", "all", width_divisor=divisor),
        lambda divisor: all_conv("B", "convpool", width_divisor=divisor),
        lambda divisor: googlenet(num_classes=10, stem="cifar", width_divisor=divisor),
        lambda divisor: googlenet(width_divisor=divisor),
    ],
)
@pytest.mark.parametrize("divisor", [2, 4])
def test_width_divisor_divides_every_width_but_the_classes(build, divisor):
    paper, narrow = on_meta(build, 1), on_meta(build, divisor)
    classes = {10, 1000}
    for wide, thin in zip(conv_widths(paper), conv_widths(narrow), strict=True):
        assert thin == (wide if wide in classes else wide // divisor)
    assert len(list(paper.modules())) == len(list(narrow.modules())), "same layers, narrower"


def test_narrow_googlenet_keeps_its_modules_and_heads():
    model = googlenet(num_classes=10, stem="cifar", width_divisor=4)
    assert model.inception3a.out_channels == sum(INCEPTION_MODULES["3a"][i] for i in (0, 2, 4, 5)) // 4
    assert model.aux1.fc1.out_features == 1024 // 4 and model.fc.in_features == 1024 // 4
    outputs = model.train()(torch.randn(2, 3, 8, 8))
    assert [o.shape for o in outputs] == [torch.Size([2, 10])] * 3
    assert model.eval()(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_narrow_class_map_nets_run_on_small_digits():
    assert nin(width_divisor=2)(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert all_conv("C", "base", width_divisor=2)(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert MLPConv(3, (8, 8, 4), kernel_size=3)(torch.randn(1, 3, 5, 5)).shape == (1, 4, 5, 5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: nin(width_divisor=3),
        lambda: nin(width_divisor=0),
        lambda: all_conv("C", "all", width_divisor=5),
        lambda: all_conv("C", "all", width_divisor=2.0),
        lambda: googlenet(width_divisor=16),
        lambda: googlenet(width_divisor=True),
    ],
)
def test_bad_width_divisor_raises_one_sentence(build):
    with pytest.raises(CourseError, match="width_divisor") as error:
        build()
    message = str(error.value)
    assert message.endswith(".") and "\n" not in message and message.count(". ") == 0


CLASS_MAP_NETS = [nin, lambda: all_conv("C", "all"), lambda: all_conv("C", "base"), lambda: all_conv("A")]


@pytest.mark.parametrize("build", CLASS_MAP_NETS)
def test_class_maps_start_small_and_the_rest_he_normal(build):
    torch.manual_seed(0)
    model = build()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs[-1].weight.std().item() == pytest.approx(0.01, rel=0.1)
    for conv in convs[:-1]:
        fan_in = conv.weight[0].numel()
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.15)
    assert all(torch.count_nonzero(conv.bias) == 0 for conv in convs)


@pytest.mark.parametrize("build", CLASS_MAP_NETS)
def test_first_loss_is_about_ln_classes(build):
    torch.manual_seed(0)
    model = build().eval()
    with torch.no_grad():
        logits = model(torch.randn(32, 3, 32, 32))
    loss = nn.functional.cross_entropy(logits, torch.randint(0, 10, (32,)))
    assert abs(loss.item() - math.log(10)) < 0.15
    assert (logits < 0).any() and (logits > 0).any(), "no ReLU on the class maps: logits take both signs"
