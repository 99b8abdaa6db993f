"""GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842).

Built as published in the paper's Table 1: the "5x5" branch really uses 5x5 convolutions, there is no
batch normalisation, dropout 0.4 precedes the final linear layer, and two auxiliary classifiers sit on
top of modules 4a and 4d. The local response normalisation layers of the stem are left out: they add no
parameters, and later work (including the paper's own successors) found them unnecessary.
``torchvision.models.googlenet`` differs on purpose: it uses a 3x3 convolution in the "5x5" branch and
adds batch norm after every convolution (6,624,904 parameters without its auxiliary heads, 13,004,888
with them).

In training mode with ``aux_logits=True`` the forward pass returns :class:`GoogLeNetOutputs`
``(logits, aux1, aux2)``, as torchvision's does; the paper adds the auxiliary losses with weight 0.3
(``helper.train.auxiliary_loss``, which ``helper.train.fit`` uses for these outputs). In evaluation mode,
or with ``aux_logits=False``, it returns the logits only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from helper.models.common import check_stem, check_width_divisor

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "InceptionAux", "InceptionModule", "INCEPTION_MODULES",
           "conv_relu", "googlenet"]

# Szegedy et al. (2015), Table 1: for every Inception module the number of output channels of
# "#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5" and "pool proj". The paper also lists the
# parameters of each module (in thousands): 3a 159, 3b 380, 4a 364, 4b 437, 4c 463, 4d 580, 4e 840,
# 5a 1072, 5b 1388; about 6.8 million for the whole network and 1.5 billion multiply-adds.
INCEPTION_MODULES: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}



class GoogLeNetOutputs(NamedTuple):
    """What GoogLeNet returns in training mode: the main logits and those of its two auxiliary heads."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


def conv_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """A convolution (with bias, padding ``k // 2``) followed by ReLU, as every layer of the paper."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2),
        nn.ReLU(inplace=True),
    )


class InceptionModule(nn.Module):
    """An Inception module (the paper's Figure 2b): four parallel branches, concatenated.

    1. a 1x1 convolution (``ch1x1``);
    2. a 1x1 reduction (``ch3x3red``) then a 3x3 convolution (``ch3x3``);
    3. a 1x1 reduction (``ch5x5red``) then a 5x5 convolution (``ch5x5``);
    4. a 3x3 max-pooling with stride 1 then a 1x1 projection (``pool_proj``).

    All branches keep the spatial size; the output has ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1 = conv_relu(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(conv_relu(in_channels, ch3x3red, 1), conv_relu(ch3x3red, ch3x3, 3))
        self.branch3 = nn.Sequential(conv_relu(in_channels, ch5x5red, 1), conv_relu(ch5x5red, ch5x5, 5))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), conv_relu(in_channels, pool_proj, 1)
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier (Section 5): average pool to 4x4, 1x1 conv 128, FC 1024, dropout 0.7, FC.

    The paper pools 14x14 maps with a 5x5 window and stride 3; an adaptive average pooling to 4x4
    gives the same 4x4 output (with slightly different windows) and also works for smaller inputs.
    ``width_divisor`` divides the 128 and the 1024.
    """

    def __init__(self, in_channels: int, num_classes: int, width_divisor: int = 1) -> None:
        super().__init__()
        conv_channels, hidden = 128 // width_divisor, 1024 // width_divisor
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = conv_relu(in_channels, conv_channels, 1)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.conv(self.avgpool(x)), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """GoogLeNet as in Table 1; attribute names follow the table (``inception3a`` ... ``inception5b``).

    ``stem="imagenet"``: 7x7/2 conv 64, 3x3/2 max-pool, 1x1 conv 64, 3x3 conv 192, 3x3/2 max-pool
    (224 -> 28 before module 3a). ``stem="cifar"``: a single 3x3 stride-1 convolution with 192
    channels and no max-pool, so a 32x32 image reaches module 3a at 32x32, module 4a at 16x16 and
    module 5a at 8x8 (the ImageNet stem would leave 4x4, 2x2 and 1x1). The final pooling is an
    adaptive average pooling, so any input size works. ``width_divisor`` (1, 2, 4 or 8) divides every
    width of the stem, the modules and the auxiliary heads (4: a quarter of the channels, the same 22
    layers); 1 is the paper's network.
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        stem: str = "imagenet",
        width_divisor: int = 1,
    ) -> None:
        super().__init__()
        check_stem(stem)
        module_widths = [c for widths in INCEPTION_MODULES.values() for c in widths]
        check_width_divisor(width_divisor, [64, 192, 128, 1024, *module_widths])
        c64, c192 = 64 // width_divisor, 192 // width_divisor
        if stem == "imagenet":
            self.stem = nn.Sequential(
                conv_relu(in_channels, c64, 7, stride=2),
                nn.MaxPool2d(3, stride=2, ceil_mode=True),
                conv_relu(c64, c64, 1),
                conv_relu(c64, c192, 3),
                nn.MaxPool2d(3, stride=2, ceil_mode=True),
            )
        else:
            self.stem = conv_relu(in_channels, c192, 3)
        m = {name: tuple(c // width_divisor for c in widths) for name, widths in INCEPTION_MODULES.items()}
        self.inception3a = InceptionModule(c192, *m["3a"])
        self.inception3b = InceptionModule(self.inception3a.out_channels, *m["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = InceptionModule(self.inception3b.out_channels, *m["4a"])
        self.inception4b = InceptionModule(self.inception4a.out_channels, *m["4b"])
        self.inception4c = InceptionModule(self.inception4b.out_channels, *m["4c"])
        self.inception4d = InceptionModule(self.inception4c.out_channels, *m["4d"])
        self.inception4e = InceptionModule(self.inception4d.out_channels, *m["4e"])
        self.maxpool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception5a = InceptionModule(self.inception4e.out_channels, *m["5a"])
        self.inception5b = InceptionModule(self.inception5a.out_channels, *m["5b"])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(self.inception5b.out_channels, num_classes)
        self.aux_logits = aux_logits
        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes, width_divisor)
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes, width_divisor)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        """Return the logits, or :class:`GoogLeNetOutputs` in training mode with auxiliary heads.

        The shapes are those of a 224-pixel image through the ImageNet stem at the paper's widths; the
        CIFAR stem keeps a 32-pixel image at 32 x 32 up to ``maxpool3`` (then 16 x 16, then 8 x 8).
        """
        x = self.stem(x)  # N x 192 x 28 x 28
        x = self.inception3a(x)  # N x 256 x 28 x 28
        x = self.inception3b(x)  # N x 480 x 28 x 28
        x = self.maxpool3(x)  # N x 480 x 14 x 14
        x = self.inception4a(x)  # N x 512 x 14 x 14
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None  # N x num_classes
        x = self.inception4b(x)  # N x 512 x 14 x 14
        x = self.inception4c(x)  # N x 512 x 14 x 14
        x = self.inception4d(x)  # N x 528 x 14 x 14
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None  # N x num_classes
        x = self.inception4e(x)  # N x 832 x 14 x 14
        x = self.maxpool4(x)  # N x 832 x 7 x 7
        x = self.inception5a(x)  # N x 832 x 7 x 7
        x = self.inception5b(x)  # N x 1024 x 7 x 7
        x = self.avgpool(x)  # N x 1024 x 1 x 1
        x = torch.flatten(x, 1)  # N x 1024
        x = self.dropout(x)
        logits = self.fc(x)  # N x num_classes
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux1, aux2)
        return logits


def googlenet(**kwargs: Any) -> GoogLeNet:
    """Build GoogLeNet (Szegedy et al. 2015, Table 1); the keywords are :class:`GoogLeNet`'s (its two
    stems, ``aux_logits``, ``width_divisor``)."""
    return GoogLeNet(**kwargs)
