"""The architectures of the lecture, one module per family, each written after its paper's tables.

=================  ==================================================================
module             paper
=================  ==================================================================
``vgg``            Simonyan & Zisserman 2015, "Very Deep Convolutional Networks ..."
``resnet``         He, Zhang, Ren & Sun 2016, "Deep Residual Learning ..."
``nin``            Lin, Chen & Yan 2014, "Network In Network"
``allconv``        Springenberg et al. 2015, "Striving for Simplicity: The All Convolutional Net"
``googlenet``      Szegedy et al. 2015, "Going Deeper with Convolutions"
``preact``         He et al. 2016, "Identity Mappings in Deep Residual Networks"
``densenet``       Huang et al. 2017, "Densely Connected Convolutional Networks"
``resnext``        Xie et al. 2017, "Aggregated Residual Transformations ..."
``mobilenet``      Howard et al. 2017, "MobileNets ..."; Sandler et al. 2018, "MobileNetV2 ..."
=================  ==================================================================

Every model returns logits (no softmax); GoogLeNet in training mode also returns its auxiliary logits.
Each module's ``__all__`` is what it exports here (as in torchvision), so a new family is one import
line below plus its :class:`TrainedModel` entry in :data:`CIFAR_MODELS`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from torch import nn

from helper.errors import CourseError
from helper.models.allconv import *
from helper.models.common import *
from helper.models.densenet import *
from helper.models.googlenet import *
from helper.models.mobilenet import *
from helper.models.nin import *
from helper.models.preact import *
from helper.models.resnet import *
from helper.models.resnext import *
from helper.models.vgg import *


@dataclass(frozen=True)
class TrainedModel:
    """A configuration a notebook trains on CIFAR-10 (3x32x32 in, 10 logits out), and how full mode
    trains it: ``precision`` is the fastest one that ``python -m helper.tools bench --grid`` measured
    for it, always with channels-last (README, "Measured results"). Calling it builds the model;
    keywords replace the entry's own (``CIFAR_MODELS["nin"](width_divisor=2)``)."""

    build: Callable[..., nn.Module]
    precision: str

    def __call__(self, **overrides: Any) -> nn.Module:
        return self.build(**overrides)


# The one registry of trained configurations: `make bench`, the model tests and full mode's recipe
# (helper.train.full_recipe) read it. A new architecture is one entry here.
CIFAR_MODELS: dict[str, TrainedModel] = {
    "vgg16_bn": TrainedModel(partial(vgg16, batch_norm=True, input_size=32, num_classes=10), "tf32"),  # noqa: F405
    # shortcut option A, as He et al. and notebook 08; not measured yet, so it follows ResNet-34
    "resnet56": TrainedModel(partial(cifar_resnet, 9, shortcut_option="A"), "tf32"),  # noqa: F405
    "resnet34": TrainedModel(partial(resnet34, stem="cifar", num_classes=10), "tf32"),  # noqa: F405
    "nin": TrainedModel(partial(nin, num_classes=10), "tf32"),  # noqa: F405
    "all_conv": TrainedModel(partial(all_conv, "C", "all", num_classes=10), "tf32"),  # noqa: F405
    "googlenet": TrainedModel(partial(googlenet, stem="cifar", num_classes=10), "bf16"),  # noqa: F405
    # DenseNet-BC (L=100, k=12), notebook 14; not measured yet, so it follows ResNet-56
    "densenet_bc100": TrainedModel(partial(densenet_bc, 100, 12), "tf32"),  # noqa: F405
}


def registered(name: str) -> TrainedModel:
    """The entry ``name`` of :data:`CIFAR_MODELS`; a sentence that names the entries when there is none."""
    if name not in CIFAR_MODELS:
        raise CourseError(f"Unknown model {name!r}; the registry helper.models.CIFAR_MODELS holds "
                          f"{', '.join(map(repr, CIFAR_MODELS))}.")
    return CIFAR_MODELS[name]
