"""Network in Network: Lin, Chen & Yan, "Network In Network", ICLR 2014 (arXiv:1312.4400).

An "mlpconv" layer is an ordinary convolution followed by 1x1 convolutions: a small multilayer
perceptron slid over every position of the image. The CIFAR-10 network stacks three of them and
replaces the fully connected classifier by global average pooling: the last 1x1 convolution outputs
one feature map per class, and the average of each map is that class's logit.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from helper.models.common import ClassMapNet, check_width_divisor

__all__ = ["MLPConv", "NiN", "nin"]

# Lin et al. (2014), Section 4.2 and their published CIFAR-10 model: for each mlpconv block the kernel
# size of its spatial convolution and the widths of its three layers ("classes" = number of classes).
MLPCONV_BLOCKS: dict[str, tuple[int, tuple[int | str, ...]]] = {
    "mlpconv1": (5, (192, 160, 96)),
    "mlpconv2": (5, (192, 192, 192)),
    "mlpconv3": (3, (192, 192, "classes")),
}


class MLPConv(nn.Sequential):
    """One mlpconv block: a ``kernel_size`` convolution then two 1x1 convolutions, each with ReLU.

    With ``final_relu=False`` the last 1x1 convolution has no ReLU (used for the class maps, so that
    logits can be negative). Padding keeps the spatial size.
    """

    def __init__(
        self, in_channels: int, widths: tuple[int, ...], kernel_size: int, *, final_relu: bool = True
    ) -> None:
        first, second, third = widths
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, first, kernel_size, padding=kernel_size // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(first, second, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(second, third, 1),
        ]
        if final_relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class NiN(ClassMapNet):
    """The CIFAR-10 Network in Network: three mlpconv blocks and global average pooling.

    Between blocks: 3x3 max-pooling with stride 2 (``ceil_mode`` as in the original Caffe model, so
    32 -> 16 -> 8) and dropout 0.5. There is no fully connected layer and no ReLU on the class maps
    (the authors' cuda-convnet configuration has one, ``cccp6`` with ``neuron=relu``; it is left out so
    that a class whose map turns negative everywhere still gets a gradient).
    Global average pooling makes the network accept any input size of at least 4x4.
    ``width_divisor`` divides every width but the class maps (2: 96, 80, 48 ... channels, about a
    quarter of the parameters and MACs, the same depth and layer pattern); 1 is the paper's network.
    """

    def __init__(
        self, *, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5, width_divisor: int = 1
    ) -> None:
        paper_widths = [int(w) for _, widths in MLPCONV_BLOCKS.values() for w in widths if w != "classes"]
        check_width_divisor(width_divisor, paper_widths)
        layers: dict[str, nn.Module] = {}
        channels = in_channels
        for index, (name, (kernel_size, widths)) in enumerate(MLPCONV_BLOCKS.items(), start=1):
            last = index == len(MLPCONV_BLOCKS)
            sizes = tuple(num_classes if width == "classes" else int(width) // width_divisor
                          for width in widths)
            layers[name] = MLPConv(channels, sizes, kernel_size, final_relu=not last)
            if not last:
                layers[f"pool{index}"] = nn.MaxPool2d(3, stride=2, ceil_mode=True)
                layers[f"dropout{index}"] = nn.Dropout(dropout)
            channels = sizes[-1]
        super().__init__(layers)


def nin(**kwargs: Any) -> NiN:
    """Build the Network in Network of Lin et al.; the keywords are :class:`NiN`'s (``num_classes``,
    ``in_channels``, ``dropout``, ``width_divisor``)."""
    return NiN(**kwargs)
