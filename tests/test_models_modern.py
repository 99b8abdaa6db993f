"""The architectures of notebook 14 against torchvision and the papers' cost formulas: pre-activation ResNet,
DenseNet, ResNeXt (grouped convolutions) and MobileNetV2 (depthwise-separable convolutions).

Counts of the ImageNet networks are taken on the ``meta`` device (shapes only); outputs are compared on
small CPU inputs after copying torchvision's weights into ours.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torchvision
from torch import nn

from helper.errors import CourseError
from helper.models import (
    CIFAR_MODELS,
    BasicBlock,
    DenseBlock,
    InvertedResidual,
    PreActBlock,
    ZeroPadShortcut,
    densenet,
    densenet121,
    densenet_bc,
    depthwise_separable,
    mobilenet_v2,
    preact_resnet,
    resnext,
    resnext50_32x4d,
)
from helper.profile import count_macs, count_parameters, weight_layers

META = torch.device("meta")

# torchvision's published parameter counts (its model documentation).
TORCHVISION_COUNTS = {
    "densenet121": (densenet121, 7_978_856),
    "resnext50_32x4d": (resnext50_32x4d, 25_028_904),
    "mobilenet_v2": (mobilenet_v2, 3_504_872),
}


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model with shape-only tensors (fast, no memory)."""
    with META:
        return build(*args, **kwargs)


@pytest.mark.parametrize("name", list(TORCHVISION_COUNTS))
def test_parameters_and_names_equal_torchvision(name):
    build, published = TORCHVISION_COUNTS[name]
    ours = on_meta(build)
    theirs = on_meta(getattr(torchvision.models, name), weights=None)
    assert count_parameters(ours) == count_parameters(theirs) == published
    ours.load_state_dict(theirs.state_dict(), strict=True)  # same names and shapes, layer by layer


@pytest.mark.parametrize("name", list(TORCHVISION_COUNTS))
def test_outputs_equal_torchvision_with_its_weights(name):
    build, _ = TORCHVISION_COUNTS[name]
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None).eval()
    ours = build().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-5)


def test_macs_at_224_equal_torchvision():
    for name, (build, _) in TORCHVISION_COUNTS.items():
        theirs = on_meta(getattr(torchvision.models, name), weights=None)
        assert count_macs(on_meta(build), (3, 224, 224)) == count_macs(theirs, (3, 224, 224)), name


def test_densenet121_layers_and_channels():
    model = on_meta(densenet121)
    # Huang et al. Table 1: the stem, 2 per dense layer (6 + 12 + 24 + 16), 3 transitions, the classifier
    assert weight_layers(model) == 1 + 2 * (6 + 12 + 24 + 16) + 3 + 1 == 121
    assert model.classifier.in_features == 1024  # 512 after transition 3, plus 16 x 32 new channels
    assert isinstance(model.features.denseblock3, DenseBlock) and len(model.features.denseblock3) == 24


def test_densenet_bc100_is_the_papers_cifar_network():
    model = on_meta(CIFAR_MODELS["densenet_bc100"])
    assert weight_layers(model) == 100
    assert [len(getattr(model.features, f"denseblock{i}")) for i in (1, 2, 3)] == [16, 16, 16]
    assert round(count_parameters(model) / 1e6, 1) == 0.8  # Huang et al. Table 2: 0.8 M
    assert count_parameters(model) == 769_162


def test_dense_block_concatenates_its_input_and_every_layer():
    block = DenseBlock(4, 8, growth_rate=5).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        out = block(x)
    assert out.shape == (2, 8 + 4 * 5, 6, 6)
    assert torch.equal(out[:, :8], x), "the block's input passes through unchanged"
    assert [layer.norm1.num_features for layer in block.values()] == [8, 13, 18, 23]


def test_resnext50_has_grouped_3x3_convolutions():
    model = on_meta(resnext50_32x4d)
    grouped = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(grouped) == 16 and all(m.groups == 32 and m.kernel_size == (3, 3) for m in grouped)
    stages = (model.layer1, model.layer2, model.layer3, model.layer4)
    assert [stage[0].conv2.in_channels for stage in stages] == [128, 256, 512, 1024]
    assert count_parameters(on_meta(resnext, 101, 32, 8)) == 88_791_336  # torchvision's resnext101_32x8d


@pytest.mark.parametrize("groups", [1, 2, 4, 8, 16, 32])
def test_grouped_convolution_divides_parameters_and_macs(groups):
    full = nn.Conv2d(64, 128, 3, padding=1, bias=False)
    grouped = nn.Conv2d(64, 128, 3, padding=1, groups=groups, bias=False)
    assert count_parameters(grouped) * groups == count_parameters(full) == 9 * 64 * 128
    assert count_macs(grouped, (64, 14, 14)) * groups == count_macs(full, (64, 14, 14)) == 9 * 64 * 128 * 196


@pytest.mark.parametrize(("c_in", "c_out", "k"), [(32, 64, 3), (128, 128, 3), (64, 256, 5), (16, 48, 7)])
def test_depthwise_separable_cost_ratio(c_in, c_out, k):
    full = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    separable = nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False),
                              nn.Conv2d(c_in, c_out, 1, bias=False))
    ratio = Fraction(count_macs(separable, (c_in, 14, 14)), count_macs(full, (c_in, 14, 14)))
    assert ratio == Fraction(1, c_out) + Fraction(1, k * k)
    assert Fraction(count_parameters(separable), count_parameters(full)) == ratio


def test_library_depthwise_separable_block():
    block = depthwise_separable(32, 64, stride=2)
    depthwise, pointwise = block[0][0], block[1][0]
    assert depthwise.groups == 32 and depthwise.kernel_size == (3, 3) and depthwise.stride == (2, 2)
    assert pointwise.kernel_size == (1, 1) and pointwise.out_channels == 64
    assert block(torch.randn(1, 32, 8, 8)).shape == (1, 64, 4, 4)


@pytest.mark.parametrize(("c_in", "c_out", "stride", "t", "shortcut"), [
    (16, 16, 1, 6, True), (16, 24, 2, 6, False), (32, 32, 1, 1, True), (24, 32, 1, 6, False)])
def test_inverted_residual_equals_torchvision(c_in, c_out, stride, t, shortcut):
    torch.manual_seed(0)
    theirs = torchvision.models.mobilenetv2.InvertedResidual(c_in, c_out, stride, t).eval()
    ours = InvertedResidual(c_in, c_out, stride, t).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, c_in, 8, 8)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
    assert ours.use_shortcut is shortcut


def test_preact_block_is_the_exact_identity_when_its_branch_is_zero():
    block = PreActBlock(16, 16).eval()
    nn.init.zeros_(block.conv2.weight)
    post = BasicBlock(16, 16).eval()
    nn.init.zeros_(post.bn2.weight)
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        assert torch.equal(block(x), x)
        assert torch.equal(post(x), torch.relu(x)) and not torch.equal(post(x), x)


def test_preact_resnet56_has_the_parameters_of_resnet56():
    preact = preact_resnet(9, shortcut_option="A")
    post = CIFAR_MODELS["resnet56"]()
    assert weight_layers(preact) == weight_layers(post) == 56
    # The batch norms move: the stem's (16 channels) goes, one on the last sum (64) comes, and the first
    # block of stages 2 and 3 normalises its 16 or 32 input channels instead of its 32 or 64 outputs:
    # 2 x (64 - 16 - 16 - 32) = 0 parameters more.
    assert count_parameters(preact) == count_parameters(post)
    zero_pad = [m for m in preact.modules() if isinstance(m, ZeroPadShortcut)]
    assert len(zero_pad) == 2
    assert preact(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize(
    "build",
    [
        lambda: densenet(122),
        lambda: densenet_bc(101),
        lambda: densenet121(stem="tiny"),
        lambda: densenet121(compression=0),
        lambda: resnext(34),
        lambda: resnext(50, 0, 4),
        lambda: preact_resnet(9, shortcut_option="C"),
        lambda: preact_resnet(0),
    ],
)
def test_bad_arguments_raise_one_sentence(build):
    with pytest.raises(CourseError) as error:
        build()
    message = str(error.value)
    assert message.endswith(".") and "\n" not in message and message.count(". ") == 0
