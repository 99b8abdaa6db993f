"""Grouped convolutions in residual networks: Xie, Girshick, Dollár, Tu & He, "Aggregated Residual
Transformations for Deep Neural Networks" (ResNeXt), CVPR 2017 (arXiv:1611.05431).

A ResNeXt block is ResNet's bottleneck whose 3x3 convolution is split into ``cardinality`` groups:
each group sees only its own ``width / cardinality`` input channels, so the layer has ``1 / cardinality``
of the weights and multiply-accumulates of an ungrouped one of the same width (the paper's Figure 3c).
The networks reuse :class:`helper.models.resnet.ResNet` (stem, stages, head) with this block, so the
attribute names follow ``torchvision.models.resnet`` and state dicts load either way.
"""

from __future__ import annotations

from torch import nn

from helper.errors import CourseError
from helper.models.resnet import BLOCKS_PER_STAGE, Bottleneck, ResNet

__all__ = ["ResNeXtBottleneck", "grouped_bottleneck", "resnext", "resnext50_32x4d"]


class ResNeXtBottleneck(Bottleneck):
    """The ResNeXt bottleneck (Figure 3c): 1x1 to ``width``, grouped 3x3, 1x1 to ``4 * planes``.

    ``width = planes * base_width / 64 * cardinality``: with 32 groups of 4 channels ("32x4d") a stage
    of ``planes = 64`` has a 128-channel grouped 3x3 convolution. Subclasses made by
    :func:`grouped_bottleneck` set other ``cardinality`` and ``base_width`` values.
    """

    cardinality = 32
    base_width = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        nn.Module.__init__(self)  # Bottleneck's layers, widened and grouped; its forward runs them
        width = planes * self.base_width // 64 * self.cardinality
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=self.cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample


def grouped_bottleneck(cardinality: int, base_width: int) -> type[ResNeXtBottleneck]:
    """:class:`ResNeXtBottleneck` with ``cardinality`` groups of ``base_width`` channels (at 64 planes)."""
    if cardinality < 1 or base_width < 1:
        raise CourseError(f"cardinality and base_width must be positive; got {cardinality} and {base_width}.")
    return type(f"ResNeXtBottleneck{cardinality}x{base_width}d", (ResNeXtBottleneck,),
                {"cardinality": cardinality, "base_width": base_width})


def resnext(depth: int = 50, cardinality: int = 32, base_width: int = 4, **kwargs) -> ResNet:
    """The ResNeXt of ``depth`` layers (50, 101 or 152): ResNet's stages with grouped bottlenecks.

    ``kwargs`` go to :class:`helper.models.resnet.ResNet` (``num_classes``, ``stem``, ...).
    """
    if depth not in (50, 101, 152):
        raise CourseError(f"ResNeXt depth must be 50, 101 or 152 (bottleneck networks); got {depth}.")
    return ResNet(grouped_bottleneck(cardinality, base_width), BLOCKS_PER_STAGE[depth][1], **kwargs)


def resnext50_32x4d(**kwargs) -> ResNet:
    """ResNeXt-50 (32x4d), torchvision's ``resnext50_32x4d``."""
    return resnext(50, 32, 4, **kwargs)
