"""Invariants of the models of notebooks 07-13, moved out of the notebooks (they taught nothing there)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helper.models import googlenet


@pytest.mark.parametrize("name, source", [("aux1", "inception4a"), ("aux2", "inception4d")])
def test_googlenet_auxiliary_heads_follow_the_paper(name: str, source: str) -> None:
    """Szegedy et al. 2015, Section 5: pool to 4x4, 1x1 convolution to 128, FC 1024, dropout 0.7, linear."""
    with torch.device("meta"):
        net = googlenet()  # ImageNet stem, the paper's widths, with both auxiliary heads
    head, feeds = getattr(net, name), getattr(net, source)
    reduce = head.conv[0]
    assert reduce.kernel_size == (1, 1), f"{name}: the head should start with a 1x1 convolution"
    assert reduce.in_channels == feeds.out_channels, f"{name}: it should read the output of {source}"
    assert reduce.out_channels == 128, f"{name}: the 1x1 convolution should have 128 channels"
    assert (head.fc1.in_features, head.fc1.out_features) == (128 * 4 * 4, 1024), f"{name}: FC 1024 on 4x4x128"
    assert head.dropout.p == 0.7 and head.fc2.out_features == 1000, f"{name}: dropout 0.7, then 1000 classes"
    assert isinstance(head.avgpool, nn.AdaptiveAvgPool2d), f"{name}: adaptive average pooling"
    assert head.avgpool.output_size == (4, 4), f"{name}: the pooling should give 4x4 maps"
