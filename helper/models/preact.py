"""Pre-activation residual networks: He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks",
ECCV 2016 (arXiv:1603.05027).

The block of :mod:`helper.models.resnet` ends with a ReLU after the addition, so even with its residual
branch switched off it returns ``relu(x)``, not ``x``. The pre-activation block moves batch norm and
ReLU in front of each convolution and adds nothing after the sum: ``x + F(x)``, an exact identity path
from any block to any later one (the paper's Figure 4e).

* :class:`PreActBlock`: ``x + conv2(relu(bn2(conv1(relu(bn1(x))))))``.
* :class:`PreActResNet` and :func:`preact_resnet`: the CIFAR-10 layout of Section 4.2 of He et al.
  (CVPR 2016) with pre-activation blocks, and the one batch norm and ReLU its last block needs before
  the pooling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from helper.errors import CourseError
from helper.models.resnet import cifar_stages, init_conv_and_bn, shortcut_of

__all__ = ["PreActBlock", "PreActResNet", "preact_resnet"]


class PreActBlock(nn.Module):
    """The pre-activation block (He et al., ECCV 2016, Figure 1b): ``shortcut(x) + F(x)``, no ReLU after it.

    ``F(x) = conv2(relu(bn2(conv1(relu(bn1(x))))))``; ``conv1`` carries the stride. The shortcut is
    ``x`` itself when ``downsample`` is None, else ``downsample(x)`` (a zero-padding or projection
    shortcut where the shape changes).
    """

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return out + identity


class PreActResNet(nn.Module):
    """A CIFAR-10 residual network of ``6n + 2`` layers built from :class:`PreActBlock`.

    A 3x3 convolution to ``widths[0]`` channels (no batch norm or ReLU: the first block starts with
    them), one stage per width whose first block (after the first stage) halves the resolution, then
    batch norm and ReLU on the last block's sum, global average pooling and a linear layer.
    ``shortcut_option`` "A" gives the parameter-free zero-padding shortcuts of the paper's CIFAR-10
    networks, "B" projections.
    """

    def __init__(self, blocks_per_stage: Sequence[int], *, shortcut_option: str = "B", in_channels: int = 3,
                 num_classes: int = 10, widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        shortcut = shortcut_of(shortcut_option)
        if len(blocks_per_stage) != len(widths) or min(blocks_per_stage) < 1:
            raise CourseError(f"blocks_per_stage needs one positive count per width in {tuple(widths)}; "
                              f"got {tuple(blocks_per_stage)}.")
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)

        def block(channels: int, width: int, stride: int) -> PreActBlock:
            changes_shape = stride != 1 or channels != width
            downsample = shortcut(channels, width, stride) if changes_shape else None
            return PreActBlock(channels, width, stride, downsample)

        self.stages = cifar_stages(blocks_per_stage, widths, block)
        self.bn = nn.BatchNorm2d(widths[-1])
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)
        init_conv_and_bn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, shape ``(batch, num_classes)``."""
        x = self.stem(x)  # N x 16 x 32 x 32 for the paper's widths
        x = self.stages(x)  # N x 64 x 8 x 8
        x = self.bn(x)
        x = self.relu(x)  # the last block's sum, activated once
        x = self.avgpool(x)  # N x 64 x 1 x 1
        x = torch.flatten(x, 1)  # N x 64
        return self.fc(x)  # N x num_classes


def preact_resnet(num_blocks_per_stage: int, **kwargs) -> PreActResNet:
    """A pre-activation ResNet-(6n+2) with ``n = num_blocks_per_stage`` blocks in each of its three stages.

    ``preact_resnet(9, shortcut_option="A")`` is the pre-activation twin of notebook 08's ResNet-56;
    ``kwargs`` go to :class:`PreActResNet`.
    """
    widths = kwargs.get("widths", (16, 32, 64))
    return PreActResNet([num_blocks_per_stage] * len(widths), **kwargs)
