"""The all-convolutional networks of Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for
Simplicity: The All Convolutional Net", ICLR 2015 workshop (arXiv:1412.6806).

Table 1 of the paper defines three base networks A, B and C for 32x32 CIFAR images; Table 2 derives
three variants from each, which differ only in how the two max-pooling layers are handled:

========== ================================================================================
variant    what replaces each "3x3 max-pooling, stride 2"
========== ================================================================================
"base"     nothing: the max-pooling stays (Model A, B, C)
"strided"  the pooling is removed and the convolution before it gets stride 2 (Strided-CNN)
"convpool" a 3x3 convolution (stride 1, same width) is added before the pooling (ConvPool-CNN)
"all"      the pooling is replaced by a 3x3 convolution with stride 2 (All-CNN)
========== ================================================================================

"ConvPool" has exactly the parameters of "all": it checks that All-CNN does not win merely by being
larger. All twelve networks end in the same top: a 3x3 convolution with 192 channels and no padding
(8x8 -> 6x6), a 1x1 convolution with 192 channels, a 1x1 convolution with one channel per class, and
global average pooling over the 6x6 class maps.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from helper.errors import CourseError
from helper.models.common import ClassMapNet, check_width_divisor

__all__ = ["AllConvNet", "BASES", "VARIANTS", "all_conv"]

# Springenberg et al. (2015), Table 1: the layers of base models A, B and C in front of each of the two
# 3x3 max-poolings, as (kernel size, channels). The part after the second pooling is the same for all
# three (TOP below).
BASES: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {
    "A": ([(5, 96)], [(5, 192)]),
    "B": ([(5, 96), (1, 96)], [(5, 192), (1, 192)]),
    "C": ([(3, 96), (3, 96)], [(3, 192), (3, 192)]),
}
# Table 1, shared top: 3x3 conv 192 (unpadded), 1x1 conv 192, 1x1 conv to the classes.
TOP_WIDTH = 192

# Table 2 (shown for C; "the derived models for base models A and B are built analogously").
VARIANTS = ("base", "strided", "convpool", "all")

# Section 3.2.1: dropout 20% on the input image and 50% after each pooling layer (or its replacement).
INPUT_DROPOUT = 0.2
POOL_DROPOUT = 0.5


class AllConvNet(ClassMapNet):
    """One of the twelve networks; ``layers`` is a named :class:`torch.nn.Sequential`.

    Every convolution but the last is followed by ReLU. The paper's Table 1 also lists a ReLU after the
    final 1x1 convolution; it is left out here so that the logits can be negative. Convolutions keep
    the spatial size (padding ``k // 2``) except the first layer of the top, so a 32x32 input becomes
    16x16, then 8x8, then 6x6 class maps. Other input sizes of at least 9x9 work as well (16x16: 2x2 maps).
    ``width_divisor`` divides every width but the class maps (2: 48 and 96 instead of 96 and 192
    channels, the same layers); 1 is the paper's network.
    """

    def __init__(
        self,
        base: str = "C",
        variant: str = "all",
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        dropout: bool = True,
        width_divisor: int = 1,
    ) -> None:
        if base not in BASES:
            names = ", ".join(map(repr, BASES))
            raise CourseError(f"base must be one of {names} (paper Table 1); got {base!r}.")
        if variant not in VARIANTS:
            raise CourseError(f"variant must be one of {', '.join(map(repr, VARIANTS))}; got {variant!r}.")
        widths = [width for stage in BASES[base] for _, width in stage]
        check_width_divisor(width_divisor, [*widths, TOP_WIDTH])
        layers: dict[str, nn.Module] = {}
        channels = in_channels

        def conv(kernel_size: int, width: int, stride: int = 1, padding: int | None = None) -> None:
            nonlocal channels
            number = sum(isinstance(layer, nn.Conv2d) for layer in layers.values()) + 1
            pad = kernel_size // 2 if padding is None else padding
            layers[f"conv{number}"] = nn.Conv2d(channels, width, kernel_size, stride=stride, padding=pad)
            layers[f"relu{number}"] = nn.ReLU(inplace=True)
            channels = width

        if dropout:
            layers["dropout_input"] = nn.Dropout(INPUT_DROPOUT)
        for stage, stage_layers in enumerate(BASES[base], start=1):
            for index, (kernel_size, width) in enumerate(stage_layers):
                last_before_pool = index == len(stage_layers) - 1
                stride = 2 if variant == "strided" and last_before_pool else 1
                conv(kernel_size, width // width_divisor, stride)
            if variant == "convpool":
                conv(3, channels)
            if variant in ("base", "convpool"):
                layers[f"pool{stage}"] = nn.MaxPool2d(3, stride=2, padding=1)
            elif variant == "all":
                conv(3, channels, stride=2)
            if dropout:
                layers[f"dropout{stage}"] = nn.Dropout(POOL_DROPOUT)
        conv(3, TOP_WIDTH // width_divisor, padding=0)
        conv(1, TOP_WIDTH // width_divisor)
        conv(1, num_classes)
        layers.popitem()  # no ReLU on the class maps
        super().__init__(layers)
        self.base, self.variant = base, variant


def all_conv(base: str = "C", variant: str = "all", **kwargs: Any) -> AllConvNet:
    """Build base model ``base`` ("A", "B", "C") in ``variant`` ("base", "strided", "convpool", "all").

    ``all_conv("C", "all")`` is All-CNN-C, the paper's best CIFAR-10 model (9.08% error without
    augmentation, about 1.4 M parameters). ``dropout=False`` drops the paper's input and pooling
    dropout, which helps when training for only a few epochs; ``width_divisor`` narrows every layer
    (the keywords are :class:`AllConvNet`'s).
    """
    return AllConvNet(base, variant, **kwargs)
