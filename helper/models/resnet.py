"""Residual networks: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385).

Three things live here:

* :class:`BasicBlock` and :class:`Bottleneck`: the two building blocks of the paper's Figure 5, and
  the two kinds of shortcut where the shape changes: :func:`projection` (the paper's option B) and
  :class:`ZeroPadShortcut` (option A).
* :class:`CifarResNet` and :func:`cifar_resnet`: the CIFAR-10 networks of Section 4.2 (ResNet-20 to
  -110), built from :class:`BasicBlock`, with a switch that removes the shortcuts to get the "plain"
  network the paper compares against (its Figures 4 and 6).
* :class:`ResNet` and :func:`resnet`: the ImageNet networks of Table 1 (18 to 152 layers).

The attribute names (``conv1``, ``bn1``, ``layer1`` ... ``layer4``, ``fc``, ``downsample``) follow
``torchvision.models.resnet`` so that parameter counts match exactly and state dicts load either way.
The paper calls the stem ``conv1`` and the four stages ``conv2_x`` to ``conv5_x``; ``layer1`` is
``conv2_x``, and so on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from helper.errors import CourseError
from helper.models.common import check_stem, check_width_divisor

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "ResNet",
    "ZeroPadShortcut",
    "BLOCKS_PER_STAGE",
    "projection",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "cifar_resnet",
]


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (the batch norm after it has one)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


# ---------------------------------------------------------------------------------------------------
# The blocks of Figure 5 and the two kinds of shortcut
# ---------------------------------------------------------------------------------------------------


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """The projection shortcut of option B (Section 3.3): a strided 1x1 convolution and batch norm."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class ZeroPadShortcut(nn.Module):
    """The parameter-free shortcut of option A (Section 3.3), the one of the paper's CIFAR-10 networks.

    Where a block halves the resolution and widens from ``in_channels`` to ``out_channels``, the
    shortcut keeps every ``stride``-th pixel of its input and appends ``out_channels - in_channels``
    channels of zeros: an identity on the input's channels, with no weights at all.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise CourseError(
                f"a zero-padding shortcut can only widen; got {in_channels} -> {out_channels} channels."
            )
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))  # zeros after the last channel


class BasicBlock(nn.Module):
    """The two-layer block of Figure 5 (left): ResNet-18 and -34, and the CIFAR-10 networks.

    ``relu(F(x) + identity)`` with ``F(x) = bn2(conv2(relu(bn1(conv1(x)))))``; ``conv1`` carries the
    stride, ``expansion = 1``. ``identity`` is ``x`` when ``downsample`` is None, else ``downsample(x)``:
    a :func:`projection` or a :class:`ZeroPadShortcut` where the shape changes. ``residual=False``
    drops the addition: the block is then the plain two-layer stack ``relu(F(x))`` of the paper's plain
    networks, with the same layers.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if not residual and downsample is not None:
            raise CourseError("a plain block (residual=False) has no shortcut, so it takes no downsample.")
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """The three-layer block of Figure 5 (right), used from ResNet-50 on: 1x1, 3x3, 1x1, ``expansion = 4``.

    The 1x1 layers first reduce the width to ``planes`` and then restore it to ``4 * planes``. Where
    the block halves the resolution, the stride sits on the 3x3 convolution, as in torchvision
    ("ResNet v1.5"); the paper puts it on the first 1x1 convolution. Both have the same parameters;
    v1.5 costs a little more computation and is slightly more accurate.
    """

    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def init_conv_and_bn(model: nn.Module) -> None:
    """Kaiming-normal convolutions (He et al. 2015, fan-out form, as torchvision); batch norm 1 and 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def _zero_init_last_bn(model: nn.Module) -> None:
    """Set the last batch norm scale of every block to zero, so each block starts as ``relu(identity)``."""
    for module in model.modules():
        if isinstance(module, Bottleneck):
            nn.init.zeros_(module.bn3.weight)
        elif isinstance(module, BasicBlock):
            nn.init.zeros_(module.bn2.weight)


# ---------------------------------------------------------------------------------------------------
# The CIFAR-10 networks of Section 4.2 and their plain twins
# ---------------------------------------------------------------------------------------------------

SHORTCUT_OPTIONS = ("A", "B")


def shortcut_of(option: str) -> Callable[[int, int, int], nn.Module]:
    """The shortcut a shape-changing block gets, ``(in_channels, out_channels, stride) -> module``:
    option "A" a :class:`ZeroPadShortcut` (no parameters), "B" a :func:`projection`."""
    if option not in SHORTCUT_OPTIONS:
        raise CourseError(f"shortcut_option must be 'A' (zero padding) or 'B' (projection); got {option!r}.")
    return ZeroPadShortcut if option == "A" else projection


def cifar_stages(blocks_per_stage: Sequence[int], widths: Sequence[int],
                 block: Callable[[int, int, int], nn.Module]) -> nn.Sequential:
    """The stages of a CIFAR-10 residual network (He et al. 2016, Section 4.2): one per width, with
    ``blocks_per_stage`` blocks built by ``block(in_channels, width, stride)``; the first block of every
    stage but the first halves the resolution (stride 2). The input has ``widths[0]`` channels."""
    stages = []
    channels = widths[0]
    for index, (num_blocks, width) in enumerate(zip(blocks_per_stage, widths, strict=True)):
        blocks = []
        for block_index in range(num_blocks):
            blocks.append(block(channels, width, 2 if index > 0 and block_index == 0 else 1))
            channels = width
        stages.append(nn.Sequential(*blocks))
    return nn.Sequential(*stages)


class CifarResNet(nn.Module):
    """The CIFAR-10 networks of Section 4.2 (ResNet-20 ... -110), built from :class:`BasicBlock`.

    A 3x3 convolution to ``widths[0]`` channels (+ batch norm + ReLU), then one stage per entry of
    ``widths``; the first block of every stage but the first halves the resolution (stride 2) and
    changes the width, all other blocks keep the shape and get an identity shortcut. Global average
    pooling and one linear layer give the logits. With ``n`` blocks per stage and widths (16, 32, 64)
    this is the paper's ResNet-(6n+2). ``shortcut_option`` says what the shape-changing blocks add:
    "A" (the paper's choice for CIFAR-10) a :class:`ZeroPadShortcut`, so that residual and plain
    networks have exactly the same parameters; "B" a :func:`projection`. ``residual=False`` removes
    every shortcut and gives the matching plain network. ``width_divisor`` divides every width and
    keeps the depth; 1 is the paper's network.
    """

    def __init__(
        self,
        blocks_per_stage: Sequence[int],
        *,
        residual: bool = True,
        shortcut_option: str = "B",
        in_channels: int = 3,
        num_classes: int = 10,
        widths: Sequence[int] = (16, 32, 64),
        zero_init_residual: bool = False,
        width_divisor: int = 1,
    ) -> None:
        super().__init__()
        check_width_divisor(width_divisor, widths)
        widths = [width // width_divisor for width in widths]
        shortcut = shortcut_of(shortcut_option)
        self.stem = nn.Sequential(
            conv3x3(in_channels, widths[0]), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )

        def block(channels: int, width: int, stride: int) -> BasicBlock:
            changes_shape = stride != 1 or channels != width
            downsample = shortcut(channels, width, stride) if residual and changes_shape else None
            return BasicBlock(channels, width, stride, downsample, residual=residual)

        self.stages = cifar_stages(blocks_per_stage, widths, block)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)
        init_conv_and_bn(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, shape ``(batch, num_classes)``; shapes below for the paper's widths."""
        x = self.stem(x)  # N x 16 x 32 x 32
        x = self.stages(x)  # N x 64 x 8 x 8
        x = self.avgpool(x)  # N x 64 x 1 x 1
        x = torch.flatten(x, 1)  # N x 64
        return self.fc(x)  # N x num_classes


def cifar_resnet(num_blocks_per_stage: int | Sequence[int], **kwargs: Any) -> CifarResNet:
    """Build a :class:`CifarResNet` (the keywords are its own); ``residual=False`` builds its plain twin.

    ``num_blocks_per_stage`` is one number for every stage or one number per entry of ``widths``.
    ``cifar_resnet(3)`` has 6*3 + 2 = 20 weight layers: the paper's ResNet-20 layout, with projection
    shortcuts where the shape changes; ``shortcut_option="A"`` gives the paper's own zero-padding ones.
    ``cifar_resnet(1, in_channels=1)`` is a quick 8-layer network for 28x28 grey images.
    """
    widths = kwargs.get("widths", (16, 32, 64))
    if isinstance(num_blocks_per_stage, int):
        num_blocks_per_stage = [num_blocks_per_stage] * len(widths)
    if len(num_blocks_per_stage) != len(widths) or min(num_blocks_per_stage) < 1:
        raise CourseError(
            f"num_blocks_per_stage needs one positive count per width in {tuple(widths)}; "
            f"got {tuple(num_blocks_per_stage)}."
        )
    return CifarResNet(num_blocks_per_stage, **kwargs)


# ---------------------------------------------------------------------------------------------------
# The ImageNet networks of Table 1
# ---------------------------------------------------------------------------------------------------

# He et al. (2016), Table 1: the block type and the number of blocks in conv2_x, conv3_x, conv4_x, conv5_x.
BLOCKS_PER_STAGE: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

STAGE_PLANES = (64, 128, 256, 512)  # the widths of conv2_x ... conv5_x in Table 1


class ResNet(nn.Module):
    """A residual network of Table 1: stem, four stages of 64/128/256/512 ``planes``, average pool, FC.

    ``stem="imagenet"`` is the paper's 7x7 stride-2 convolution with 64 channels followed by a 3x3
    stride-2 max-pool (224 -> 56). ``stem="cifar"`` replaces both by one 3x3 stride-1 convolution and
    no max-pool, so a 32x32 image still has 32x32 pixels when it enters ``layer1`` (instead of 8x8)
    and 4x4 when it leaves ``layer4``. Projection shortcuts are used where the shape changes
    (the paper's option B). ``width_divisor`` divides every width (stem and stages) and keeps the
    depth and the layer pattern; 1 is the paper's network.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        stem: str = "imagenet",
        zero_init_residual: bool = False,
        width_divisor: int = 1,
    ) -> None:
        super().__init__()
        check_stem(stem)
        check_width_divisor(width_divisor, STAGE_PLANES)
        planes = [p // width_divisor for p in STAGE_PLANES]
        self.in_planes = planes[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, planes[0], kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv3x3(in_channels, planes[0])
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_stage(block, planes[0], layers[0], stride=1)
        self.layer2 = self._make_stage(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_stage(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_stage(block, planes[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(planes[3] * block.expansion, num_classes)
        init_conv_and_bn(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def _make_stage(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, num_blocks: int, stride: int
    ) -> nn.Sequential:
        """One stage: the first block may change resolution and width, the rest keep the shape."""
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self.in_planes != out_channels:
            downsample = projection(self.in_planes, out_channels, stride)
        blocks = [block(self.in_planes, planes, stride, downsample)]
        self.in_planes = out_channels
        blocks += [block(self.in_planes, planes) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits, shape ``(batch, num_classes)``; shapes below for a 224-pixel image, the
        ImageNet stem and the paper's widths (with BasicBlock; Bottleneck's stages are 4x as wide)."""
        x = self.conv1(x)  # N x 64 x 112 x 112 (the CIFAR stem: N x 64 x 32 x 32)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)  # N x 64 x 56 x 56 (the CIFAR stem: unchanged)
        x = self.layer1(x)  # N x 64 x 56 x 56
        x = self.layer2(x)  # N x 128 x 28 x 28
        x = self.layer3(x)  # N x 256 x 14 x 14
        x = self.layer4(x)  # N x 512 x 7 x 7
        x = self.avgpool(x)  # N x 512 x 1 x 1
        x = torch.flatten(x, 1)  # N x 512
        return self.fc(x)  # N x num_classes


def resnet(depth: int, **kwargs: Any) -> ResNet:
    """Build the ``depth``-layer ResNet of Table 1 (18, 34, 50, 101 or 152); the keywords are
    :class:`ResNet`'s."""
    if depth not in BLOCKS_PER_STAGE:
        depths = ", ".join(map(str, BLOCKS_PER_STAGE))
        raise CourseError(f"ResNet depth must be one of {depths} (paper Table 1); got {depth}.")
    block, layers = BLOCKS_PER_STAGE[depth]
    return ResNet(block, layers, **kwargs)


def resnet18(**kwargs) -> ResNet:
    """ResNet-18 (BasicBlock, [2, 2, 2, 2])."""
    return resnet(18, **kwargs)


def resnet34(**kwargs) -> ResNet:
    """ResNet-34 (BasicBlock, [3, 4, 6, 3])."""
    return resnet(34, **kwargs)


def resnet50(**kwargs) -> ResNet:
    """ResNet-50 (Bottleneck, [3, 4, 6, 3])."""
    return resnet(50, **kwargs)


def resnet101(**kwargs) -> ResNet:
    """ResNet-101 (Bottleneck, [3, 4, 23, 3])."""
    return resnet(101, **kwargs)


def resnet152(**kwargs) -> ResNet:
    """ResNet-152 (Bottleneck, [3, 8, 36, 3])."""
    return resnet(152, **kwargs)
