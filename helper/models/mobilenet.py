"""Depthwise-separable convolutions and MobileNetV2: Howard et al., "MobileNets: Efficient Convolutional
Neural Networks for Mobile Vision Applications", 2017 (arXiv:1704.04861), and Sandler, Howard, Zhu,
Zhmoginov & Chen, "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018 (arXiv:1801.04381).

* :func:`conv_bn_act`: convolution (without bias), batch norm and an activation, torchvision's
  ``Conv2dNormActivation`` as a plain ``nn.Sequential`` (children ``0``, ``1``, ``2``).
* :func:`depthwise_separable`: MobileNet's block, a 3x3 depthwise convolution (``groups`` = channels)
  followed by a 1x1 pointwise one, each with batch norm and ReLU.
* :class:`InvertedResidual` and :class:`MobileNetV2`: MobileNetV2's block (1x1 expansion, 3x3
  depthwise, linear 1x1 projection, identity shortcut where the shape allows) and the network of its
  Table 2.

The attribute names (``features``, ``conv``, ``classifier``) follow ``torchvision.models.mobilenetv2``,
so parameter counts match exactly and state dicts load either way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "INVERTED_RESIDUAL_SETTINGS",
    "InvertedResidual",
    "MobileNetV2",
    "conv_bn_act",
    "depthwise_separable",
    "mobilenet_v2",
]

# Sandler et al. (2018), Table 2: expansion factor t, output channels c, repeats n, first stride s.
INVERTED_RESIDUAL_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def conv_bn_act(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                activation: Callable[[], nn.Module] = nn.ReLU6) -> nn.Sequential:
    """A convolution with padding ``kernel_size // 2`` and no bias, batch norm, then ``activation()``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups=groups,
                  bias=False),
        nn.BatchNorm2d(out_channels),
        activation(),
    )


def depthwise_separable(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """MobileNet's block (Howard et al., Figure 3): 3x3 depthwise conv-BN-ReLU, 1x1 pointwise conv-BN-ReLU.

    The depthwise convolution filters each channel on its own (``groups=in_channels``); the pointwise
    one mixes the channels.
    """
    return nn.Sequential(
        conv_bn_act(in_channels, in_channels, 3, stride, groups=in_channels, activation=nn.ReLU),
        conv_bn_act(in_channels, out_channels, 1, activation=nn.ReLU),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2's block (Table 1): 1x1 expansion by ``expand_ratio``, 3x3 depthwise, linear 1x1 projection.

    The block widens a thin input, filters it depthwise and projects it back without an activation (the
    "linear bottleneck"); the shortcut adds the input where ``stride`` is 1 and the width is unchanged.
    ``expand_ratio=1`` leaves out the expansion, as the network's first block does.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_shortcut else out


class MobileNetV2(nn.Module):
    """MobileNetV2 (Table 2): a stride-2 3x3 convolution to 32 channels, the inverted residuals of
    :data:`INVERTED_RESIDUAL_SETTINGS`, a 1x1 convolution to 1280, global average pooling, dropout
    and a linear layer."""

    def __init__(self, *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        channels = 32
        layers: list[nn.Module] = [conv_bn_act(in_channels, channels, 3, stride=2)]
        for expand_ratio, out_channels, repeats, first_stride in INVERTED_RESIDUAL_SETTINGS:
            for index in range(repeats):
                stride = first_stride if index == 0 else 1
                layers.append(InvertedResidual(channels, out_channels, stride, expand_ratio))
                channels = out_channels
        layers.append(conv_bn_act(channels, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, shape ``(batch, num_classes)``."""
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(**kwargs) -> MobileNetV2:
    """MobileNetV2 at width 1.0 (torchvision's ``mobilenet_v2``); ``kwargs`` go to :class:`MobileNetV2`."""
    return MobileNetV2(**kwargs)
