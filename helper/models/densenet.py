"""Densely connected networks: Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017 (arXiv:1608.06993).

Inside a dense block every layer receives the concatenation of the block's input and of all earlier
layers' outputs, and adds ``growth_rate`` channels of its own. Between blocks a :class:`Transition`
(batch norm, ReLU, 1x1 convolution, 2x2 average pooling) halves the resolution and, in DenseNet-BC,
multiplies the channels by ``compression``.

* :class:`DenseLayer`: BN-ReLU-conv 1x1 to ``bn_size * growth_rate`` channels (the "B" of BC), then
  BN-ReLU-conv 3x3 to ``growth_rate`` channels.
* :class:`DenseBlock`, :class:`Transition`, :class:`DenseNet` and :func:`densenet`: the ImageNet networks
  of Table 1 (121, 169, 201, 264 layers) and the CIFAR networks of Section 4 (``stem="cifar"``).

The attribute names (``features``, ``denseblock1``, ``denselayer1``, ``norm1``, ``conv1``,
``transition1``, ``norm5``, ``classifier``) follow ``torchvision.models.densenet``, so parameter counts
match exactly and state dicts load either way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from helper.errors import CourseError, is_real

__all__ = [
    "DENSENET_BLOCKS",
    "DenseBlock",
    "DenseLayer",
    "DenseNet",
    "Transition",
    "densenet",
    "densenet121",
    "densenet_bc",
]

# Huang et al. (2017), Table 1: dense layers per block of the ImageNet DenseNet-BC networks (growth rate 32).
DENSENET_BLOCKS: dict[int, tuple[int, int, int, int]] = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
    264: (6, 12, 64, 48),
}

STEMS = ("imagenet", "cifar")


class DenseLayer(nn.Module):
    """One layer of a dense block: ``conv2(relu2(norm2(conv1(relu1(norm1(cat(inputs)))))))``.

    ``inputs`` is the list of every earlier feature map of the block (the block's input first); the
    layer concatenates them along the channels and returns only its ``growth_rate`` new channels. The
    1x1 convolution to ``bn_size * growth_rate`` channels is DenseNet-B's bottleneck.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        bottleneck = self.conv1(self.relu1(self.norm1(torch.cat(inputs, dim=1))))
        return self.conv2(self.relu2(self.norm2(bottleneck)))


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers (``denselayer1`` ...); outputs the input and every new map, concatenated.

    The output has ``in_channels + num_layers * growth_rate`` channels.
    """

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4) -> None:
        super().__init__()
        for index in range(num_layers):
            layer = DenseLayer(in_channels + index * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{index + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """Between two dense blocks: batch norm, ReLU, 1x1 convolution to ``out_channels``, 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(OrderedDict(
            norm=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(inplace=True),
            conv=nn.Conv2d(in_channels, out_channels, 1, bias=False),
            pool=nn.AvgPool2d(2, stride=2),
        ))


class DenseNet(nn.Module):
    """Dense blocks joined by transitions, then batch norm, ReLU, global average pooling and a linear layer.

    ``stem="imagenet"`` is the paper's 7x7 stride-2 convolution to ``num_init_features`` channels,
    batch norm, ReLU and a 3x3 stride-2 max-pool (224 -> 56); ``stem="cifar"`` is one 3x3 convolution
    and nothing else, as in the paper's CIFAR networks (Section 3, "Implementation Details").
    ``compression`` (theta, 0 < theta <= 1) sets each transition's output to ``floor(theta * channels)``;
    0.5 is DenseNet-BC, 1 plain DenseNet-B.
    """

    def __init__(
        self,
        block_config: Sequence[int],
        *,
        growth_rate: int = 32,
        num_init_features: int = 64,
        bn_size: int = 4,
        compression: float = 0.5,
        stem: str = "imagenet",
        in_channels: int = 3,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        if stem not in STEMS:
            raise CourseError(f"stem must be one of {', '.join(map(repr, STEMS))}; got {stem!r}.")
        if not is_real(compression) or not 0 < compression <= 1:
            raise CourseError(f"compression must be a fraction, 0 < compression <= 1; got {compression!r}.")
        if stem == "imagenet":
            layers: OrderedDict[str, nn.Module] = OrderedDict(
                conv0=nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(num_init_features),
                relu0=nn.ReLU(inplace=True),
                pool0=nn.MaxPool2d(3, stride=2, padding=1),
            )
        else:
            layers = OrderedDict(conv0=nn.Conv2d(in_channels, num_init_features, 3, padding=1, bias=False))
        channels = num_init_features
        for index, num_layers in enumerate(block_config, start=1):
            layers[f"denseblock{index}"] = DenseBlock(num_layers, channels, growth_rate, bn_size)
            channels += num_layers * growth_rate
            if index < len(block_config):
                out_channels = int(compression * channels)
                layers[f"transition{index}"] = Transition(channels, out_channels)
                channels = out_channels
        layers["norm5"] = nn.BatchNorm2d(channels)  # torchvision's name, whatever the number of blocks
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, shape ``(batch, num_classes)``."""
        x = torch.relu(self.features(x))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def densenet(depth: int, **kwargs) -> DenseNet:
    """The ImageNet DenseNet-BC of Table 1 with ``depth`` layers (121, 169, 201 or 264), growth rate 32.

    ``kwargs`` go to :class:`DenseNet` (``num_classes``, ``in_channels``, ...).
    """
    if depth not in DENSENET_BLOCKS:
        depths = ", ".join(map(str, DENSENET_BLOCKS))
        raise CourseError(f"DenseNet depth must be one of {depths} (paper Table 1); got {depth}.")
    return DenseNet(DENSENET_BLOCKS[depth], **kwargs)


def densenet121(**kwargs) -> DenseNet:
    """DenseNet-121: blocks of 6, 12, 24 and 16 layers, growth rate 32 (torchvision's ``densenet121``)."""
    return densenet(121, **kwargs)


def densenet_bc(depth: int = 100, growth_rate: int = 12, *, num_blocks: int = 3, **kwargs) -> DenseNet:
    """The CIFAR DenseNet-BC of Section 4: ``num_blocks`` equal blocks, a 3x3 stem of ``2 * growth_rate``.

    ``depth`` counts the stem, two convolutions per dense layer, one per transition and the
    classifier, so each block holds ``(depth - num_blocks - 1) / (2 * num_blocks)`` layers: the
    paper's DenseNet-BC (L=100, k=12) has three blocks of 16. ``kwargs`` go to :class:`DenseNet`.
    """
    layers, remainder = divmod(depth - num_blocks - 1, 2 * num_blocks)
    if remainder or layers < 1:
        raise CourseError(f"a DenseNet-BC with {num_blocks} blocks needs depth = {2 * num_blocks}n + "
                          f"{num_blocks + 1} for a whole number n >= 1 of layers per block; got {depth}.")
    settings = dict(growth_rate=growth_rate, num_init_features=2 * growth_rate, stem="cifar", num_classes=10)
    return DenseNet([layers] * num_blocks, **{**settings, **kwargs})
