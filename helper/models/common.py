"""What Network in Network and the All-Convolutional Net share: class maps averaged into logits."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["ClassMapNet"]


class ClassMapNet(nn.Module):
    """A named stack of layers whose last convolution outputs one map per class.

    Global average pooling turns each class map into that class's logit (Lin et al. 2014), so
    there is no fully connected layer and any input size that survives the stack works.
    Convolutions start from He (Kaiming) normal weights and zero biases.
    """

    def __init__(self, layers: dict[str, nn.Module]) -> None:
        super().__init__()
        head = {"global_pool": nn.AdaptiveAvgPool2d(1), "flatten": nn.Flatten()}
        self.layers = nn.Sequential(OrderedDict({**layers, **head}))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The maps before global average pooling, one per class: ``(batch, num_classes, h, w)``."""
        return self.layers[:-2](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits (the averaged class maps), shape ``(batch, num_classes)``."""
        return self.layers(x)
