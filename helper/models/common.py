"""What the architectures share: the stems, narrower copies, and class maps averaged into logits."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable

import torch
from torch import nn

from helper.errors import CourseError, is_whole

__all__ = ["STEMS", "ClassMapNet"]

# The two stems of the networks that come in ImageNet and CIFAR-10 versions (ResNet, GoogLeNet): the
# paper's, which shrinks a 224-pixel image early, and one 3x3 stride-1 convolution that keeps 32 pixels.
STEMS = ("imagenet", "cifar")

CLASS_MAP_INIT_STD = 0.01


def check_stem(stem: str) -> None:
    """Raise :class:`CourseError` unless ``stem`` is one of :data:`STEMS`."""
    if stem not in STEMS:
        raise CourseError(f"stem must be one of {', '.join(map(repr, STEMS))}; got {stem!r}.")


def check_width_divisor(width_divisor: int, widths: Iterable[int]) -> None:
    """Raise :class:`CourseError` unless ``width_divisor`` is a whole number dividing all of ``widths``.

    ``widths`` are the channel counts of the paper's network; a narrower copy divides each of them.
    """
    common = math.gcd(*widths)
    if not is_whole(width_divisor) or width_divisor < 1 or common % width_divisor:
        choices = ", ".join(str(d) for d in range(1, common + 1) if common % d == 0)
        raise CourseError(f"width_divisor must be a whole number that divides every width of the paper's "
                          f"network ({choices}); got {width_divisor!r}.")


class ClassMapNet(nn.Module):
    """A named stack of layers whose last convolution outputs one map per class.

    Global average pooling turns each class map into that class's logit (Lin et al. 2014), so
    there is no fully connected layer and any input size that survives the stack works.
    Convolutions start from He (Kaiming) normal weights and zero biases, except the last one (the
    class maps): its weights start small (normal, std 0.01), so that every logit starts near 0 and
    the first loss is about ln(classes), as for GoogLeNet's linear classifier. With He weights there
    the logits start spread out and the first loss starts above ln(classes) (notebook 12 measures
    both starts).
    """

    def __init__(self, layers: dict[str, nn.Module]) -> None:
        super().__init__()
        head = {"global_pool": nn.AdaptiveAvgPool2d(1), "flatten": nn.Flatten()}
        self.layers = nn.Sequential(OrderedDict({**layers, **head}))
        convolutions = [module for module in self.modules() if isinstance(module, nn.Conv2d)]
        for conv in convolutions:
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
        nn.init.normal_(convolutions[-1].weight, 0.0, CLASS_MAP_INIT_STD)

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The maps before global average pooling, one per class: ``(batch, num_classes, h, w)``."""
        return self.layers[:-2](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits (the averaged class maps), shape ``(batch, num_classes)``."""
        return self.layers(x)
