"""VGG networks: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (arXiv:1409.1556).

The five configurations "A" to "E" of the paper's Table 1 are written out below in the paper's own
notation ("conv3-64" is a 3x3 convolution with 64 output channels, "conv1-256" a 1x1 convolution,
"maxpool" a 2x2 max-pooling with stride 2). Every convolution has stride 1 and keeps the spatial
size (padding 1 for 3x3), so only the five max-pools shrink the image: 224 -> 7, or 32 -> 1.

The module layout (``features``, ``avgpool``, ``classifier`` and the order of layers inside them)
matches ``torchvision.models.vgg*``, so the ImageNet configurations have exactly torchvision's
parameter counts and can load its state dicts.
"""

from __future__ import annotations

import torch
from torch import nn

from helper.errors import CourseError
from helper.models.common import check_width_divisor

__all__ = ["VGG", "CONFIGS", "vgg", "vgg11", "vgg13", "vgg16", "vgg19"]

# Simonyan & Zisserman (2015), Table 1: the convolutional part of configurations A-E (A-LRN is A with
# local response normalisation after the first layer, which the paper found useless; it is omitted).
# Table 2 gives their sizes: 133, 133, 134, 138 and 144 million parameters with the ImageNet head.
CONFIGS: dict[str, list[str]] = {
    "A": [
        "conv3-64", "maxpool",
        "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ],
    "B": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ],
    "C": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv1-256", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
    ],
    "D": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "maxpool",
    ],
    "E": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
    ],
}  # fmt: skip

# The classifier depends on the input size the network is built for.
INPUT_SIZES = (224, 32)
VGG_WIDTHS = (64, 128, 256, 512)  # the widths of Table 1


def make_features(
    config: list[str], in_channels: int, batch_norm: bool, width_divisor: int = 1
) -> nn.Sequential:
    """Build the convolutional part from one column of Table 1 (conv [+ batch norm] + ReLU, max-pools).

    ``width_divisor`` divides every width of the table (1: the paper's widths).
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for entry in config:
        if entry == "maxpool":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        kernel, width = entry.removeprefix("conv").split("-")
        kernel_size, out_channels = int(kernel), int(width) // width_divisor
        layers.append(nn.Conv2d(channels, out_channels, kernel_size, padding=kernel_size // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network: ``features`` (Table 1), ``avgpool``, then the fully connected ``classifier``.

    ``input_size=224`` gives the paper's ImageNet head: 7*7*512 -> 4096 -> 4096 -> classes, each hidden
    layer followed by ReLU and dropout 0.5 (Section 3.1). ``input_size=32`` (CIFAR) gives the same
    three-layer head scaled down to the 1x1x512 map that five max-pools leave of a 32x32 image:
    512 -> 512 -> 512 -> classes, again with ReLU and dropout 0.5. ``avgpool`` is an adaptive average
    pooling to 7x7 (ImageNet) or 1x1 (CIFAR); at the intended input size it changes nothing and has no
    parameters, and it lets slightly different input sizes through. ``width_divisor`` tells the head
    that the convolutions end with ``512 // width_divisor`` channels; its hidden layers keep their width,
    because with dropout 0.5 a narrow hidden layer (64 units) learned far more slowly in short runs.
    """

    def __init__(
        self,
        features: nn.Sequential,
        *,
        num_classes: int = 1000,
        input_size: int = 224,
        dropout: float = 0.5,
        width_divisor: int = 1,
    ) -> None:
        super().__init__()
        if input_size not in INPUT_SIZES:
            raise CourseError(f"VGG is built for input_size 224 (ImageNet) or 32 (CIFAR); got {input_size}.")
        side, hidden = (7, 4096) if input_size == 224 else (1, 512)
        channels = 512 // width_divisor
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.classifier = nn.Sequential(
            nn.Linear(channels * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        """Kaiming-normal convolutions, Glorot-uniform linear layers, zero biases.

        Simonyan & Zisserman (Section 3.1) note that Glorot & Bengio's (2010) initialisation trains the
        deep configurations without pre-training. torchvision draws the linear layers from N(0, 0.01)
        instead, which shrinks the signal through the head by about 4x per 512-unit layer; in the
        lecture's short runs that version learned far more slowly.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits; shapes for a 224-pixel image and the paper's widths (a 32-pixel one: 1 x 1)."""
        x = self.features(x)  # N x 512 x 7 x 7
        x = self.avgpool(x)  # N x 512 x 7 x 7
        x = torch.flatten(x, 1)  # N x 25088
        return self.classifier(x)  # N x num_classes


def vgg(
    config: str,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    batch_norm: bool = False,
    input_size: int = 224,
    width_divisor: int = 1,
) -> VGG:
    """Build VGG configuration ``config`` ("A" to "E", Simonyan & Zisserman Table 1).

    ``batch_norm=True`` adds batch normalisation after every convolution (not in the paper, which
    predates it; torchvision calls these ``vgg*_bn``). ``input_size`` is 224 (ImageNet head) or 32
    (CIFAR head), see :class:`VGG`. ``width_divisor`` (1, 2, 4, 8 ...) keeps the depth and the layer
    pattern and divides every convolution's width by it, e.g. 8 gives stages of 8, 16, 32, 64, 64
    channels instead of 64 ... 512 (lecture mode on a CPU); the fully connected head keeps its width.
    1 is the paper's network.
    """
    if config not in CONFIGS:
        raise CourseError(f"VGG config must be one of {', '.join(CONFIGS)} (paper Table 1); got {config!r}.")
    check_width_divisor(width_divisor, VGG_WIDTHS)
    features = make_features(CONFIGS[config], in_channels, batch_norm, width_divisor)
    return VGG(features, num_classes=num_classes, input_size=input_size, width_divisor=width_divisor)


def vgg11(**kwargs) -> VGG:
    """VGG-11: configuration A."""
    return vgg("A", **kwargs)


def vgg13(**kwargs) -> VGG:
    """VGG-13: configuration B."""
    return vgg("B", **kwargs)


def vgg16(**kwargs) -> VGG:
    """VGG-16: configuration D."""
    return vgg("D", **kwargs)


def vgg19(**kwargs) -> VGG:
    """VGG-19: configuration E."""
    return vgg("E", **kwargs)
