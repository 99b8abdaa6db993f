"""The architectures in helper.models against their papers' tables and torchvision.

Parameter and MAC counts of the large ImageNet models are taken on the ``meta`` device: shapes only,
no memory and no arithmetic, so they cost milliseconds. Real forward and backward passes use small
batches on the CPU.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from conftest import on_meta
from torch import nn

from helper.errors import CourseError
from helper.models import (
    CIFAR_MODELS,
    BasicBlock,
    Bottleneck,
    ZeroPadShortcut,
    all_conv,
    cifar_resnet,
    googlenet,
    nin,
    projection,
    resnet,
    vgg,
)
from helper.models.allconv import BASES, VARIANTS
from helper.models.googlenet import INCEPTION_MODULES, InceptionModule
from helper.profile import count_macs, count_parameters, weight_layers

# --------------------------------------------------------------------------------------------- VGG

# torchvision's published parameter counts (its model documentation).
TORCHVISION_VGG = {
    ("A", False): ("vgg11", 132_863_336),
    ("B", False): ("vgg13", 133_047_848),
    ("D", False): ("vgg16", 138_357_544),
    ("E", False): ("vgg19", 143_667_240),
    ("A", True): ("vgg11_bn", 132_868_840),
    ("B", True): ("vgg13_bn", 133_053_736),
    ("D", True): ("vgg16_bn", 138_365_992),
    ("E", True): ("vgg19_bn", 143_678_248),
}


@pytest.mark.parametrize(("config", "batch_norm"), list(TORCHVISION_VGG))
def test_vgg_parameters_equal_torchvision(config, batch_norm):
    name, published = TORCHVISION_VGG[config, batch_norm]
    ours = on_meta(vgg, config, batch_norm=batch_norm)
    theirs = on_meta(getattr(torchvision.models, name), weights=None)
    assert count_parameters(ours) == count_parameters(theirs) == published
    ours.load_state_dict(theirs.state_dict(), strict=True)  # same names and shapes, layer by layer


def test_vgg_table2_sizes_in_millions():
    millions = {config: round(count_parameters(on_meta(vgg, config)) / 1e6) for config in "ABCDE"}
    assert millions == {"A": 133, "B": 133, "C": 134, "D": 138, "E": 144}  # Simonyan & Zisserman, Table 2


def test_vgg_config_c_has_1x1_convolutions_in_last_three_stages():
    model = on_meta(vgg, "C")
    kernels = [m.kernel_size[0] for m in model.features if isinstance(m, nn.Conv2d)]
    assert kernels == [3, 3, 3, 3, 3, 3, 1, 3, 3, 1, 3, 3, 1]


def test_vgg16_macs_at_224():
    assert count_macs(on_meta(vgg, "D"), (3, 224, 224)) == 15_470_264_320  # ~15.5 G


def test_vgg_cifar_head():
    model = vgg("D", input_size=32, num_classes=10, batch_norm=True)
    linears = [(m.in_features, m.out_features) for m in model.classifier if isinstance(m, nn.Linear)]
    assert linears == [(512, 512), (512, 512), (512, 10)]
    assert sum(isinstance(m, nn.Dropout) for m in model.classifier) == 2


def test_vgg_width_divisor_keeps_depth_and_head():
    narrow = vgg("D", input_size=32, num_classes=10, batch_norm=True, width_divisor=8)
    widths = [m.out_channels for m in narrow.features if isinstance(m, nn.Conv2d)]
    assert widths == [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]  # Table 1, column D, divided by 8
    linears = [(m.in_features, m.out_features) for m in narrow.classifier if isinstance(m, nn.Linear)]
    assert linears == [(64, 512), (512, 512), (512, 10)]  # the hidden layers keep their width
    assert narrow(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    paper = on_meta(vgg, "D", input_size=32, num_classes=10, batch_norm=True, width_divisor=1)
    theirs = on_meta(torchvision.models.vgg16_bn, weights=None)
    assert count_parameters(paper.features) == count_parameters(theirs.features), "1 is the paper's widths"


# ------------------------------------------------------------------------------------------ ResNet

TORCHVISION_RESNET = {
    18: 11_689_512,
    34: 21_797_672,
    50: 25_557_032,
    101: 44_549_160,
    152: 60_192_808,
}
PAPER_BLOCKS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


@pytest.mark.parametrize("depth", list(TORCHVISION_RESNET))
def test_resnet_parameters_equal_torchvision(depth):
    ours = on_meta(resnet, depth)
    theirs = on_meta(getattr(torchvision.models, f"resnet{depth}"), weights=None)
    assert count_parameters(ours) == count_parameters(theirs) == TORCHVISION_RESNET[depth]
    ours.load_state_dict(theirs.state_dict(), strict=True)


@pytest.mark.parametrize("depth", list(PAPER_BLOCKS))
def test_resnet_blocks_per_stage(depth):
    model = on_meta(resnet, depth)
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert [len(stage) for stage in stages] == PAPER_BLOCKS[depth]
    block = BasicBlock if depth < 50 else Bottleneck
    assert all(isinstance(b, block) for stage in stages for b in stage)
    assert weight_layers(model) == depth, "stem, 2 or 3 convolutions per block and fc; shortcuts not counted"


# He et al. Table 1 gives 1.8, 3.6, 3.8, 7.6, 11.3 x 10^9; ours (and torchvision's) put the stride of a
# Bottleneck on its 3x3 convolution ("v1.5"), which costs more at 50 layers and a little more above.
RESNET_MACS = {
    18: (1.8e9, 1_814_073_344),
    34: (3.6e9, 3_663_761_408),
    50: (3.8e9, 4_089_184_256),
    101: (7.6e9, 7_801_405_440),
    152: (11.3e9, 11_513_626_624),
}


@pytest.mark.parametrize("depth", list(RESNET_MACS))
def test_resnet_macs_at_224(depth):
    paper, exact = RESNET_MACS[depth]
    macs = count_macs(on_meta(resnet, depth), (3, 224, 224))
    assert macs == exact
    assert abs(macs / paper - 1) < (0.08 if depth == 50 else 0.03)


def test_resnet18_computes_the_same_function_as_torchvision():
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(weights=None).eval()
    ours = resnet(18).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_resnet_cifar_stem_keeps_resolution():
    model = resnet(18, stem="cifar", num_classes=10)
    assert isinstance(model.maxpool, nn.Identity) and model.conv1.kernel_size == (3, 3)
    features = model.layer4(model.layer3(model.layer2(model.layer1(model.conv1(torch.zeros(1, 3, 32, 32))))))
    assert features.shape == (1, 512, 4, 4)


def test_resnet_width_divisor_keeps_the_layout():
    narrow = resnet(34, stem="cifar", num_classes=10, width_divisor=4)
    stages = (narrow.layer1, narrow.layer2, narrow.layer3, narrow.layer4)
    assert [len(stage) for stage in stages] == PAPER_BLOCKS[34]
    assert [stage[0].conv2.out_channels for stage in stages] == [16, 32, 64, 128]
    assert narrow(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert count_parameters(on_meta(resnet, 34, width_divisor=1)) == TORCHVISION_RESNET[34]


def test_zero_pad_shortcut_is_option_a():
    x = torch.randn(2, 16, 8, 8)
    out = ZeroPadShortcut(16, 32, stride=2)(x)
    assert out.shape == (2, 32, 4, 4) and count_parameters(ZeroPadShortcut(16, 32, 2)) == 0
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2]) and not out[:, 16:].any()


def test_basic_block_shortcuts_and_plain_switch():
    x = torch.randn(2, 16, 8, 8)
    assert BasicBlock(16, 16)(x).shape == (2, 16, 8, 8)
    assert BasicBlock(16, 32, 2, projection(16, 32, 2))(x).shape == (2, 32, 4, 4)
    assert BasicBlock(16, 32, 2, ZeroPadShortcut(16, 32, 2))(x).shape == (2, 32, 4, 4)
    assert BasicBlock(16, 32, 2, residual=False)(x).shape == (2, 32, 4, 4)
    with pytest.raises(CourseError):
        BasicBlock(16, 32, 2, projection(16, 32, 2), residual=False)


def test_zero_initialised_residual_block_is_the_identity_on_relu_outputs():
    block = cifar_resnet(1, zero_init_residual=True).stages[0][0]  # 16 -> 16 channels, identity shortcut
    x = torch.relu(torch.randn(4, 16, 6, 6))
    assert block.downsample is None and torch.equal(block(x), x)
    assert not torch.equal(cifar_resnet(1).stages[0][0](x), x)


def shortcut_kinds(model: nn.Module) -> list[str]:
    """Per block: "none" (plain), "identity", or the class name of its shape-changing shortcut."""
    blocks = [b for b in model.modules() if isinstance(b, BasicBlock)]
    return ["none" if not b.residual else "identity" if b.downsample is None else type(b.downsample).__name__
            for b in blocks]


def test_cifar_resnet_residual_and_plain_twins():
    residual = cifar_resnet(3)
    plain = cifar_resnet(3, residual=False)
    weight_layers = [m for m in residual.modules() if isinstance(m, nn.Linear)] + [
        m for m in residual.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
    ]
    assert len(weight_layers) == 20  # ResNet-20 of He et al. Section 4.2
    assert shortcut_kinds(residual) == ["identity"] * 3 + (["Sequential"] + ["identity"] * 2) * 2
    assert set(shortcut_kinds(plain)) == {"none"}
    # the plain twin lacks exactly the two projection shortcuts (1x1 conv + batch norm each)
    assert count_parameters(residual) - count_parameters(plain) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    grey = cifar_resnet([1, 2], in_channels=1, widths=(8, 16))
    assert grey(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cifar_resnet_option_a_has_the_parameters_of_its_plain_twin():
    option_a = cifar_resnet(9, shortcut_option="A")
    assert shortcut_kinds(option_a) == ["identity"] * 9 + (["ZeroPadShortcut"] + ["identity"] * 8) * 2
    assert count_parameters(option_a) == count_parameters(cifar_resnet(9, residual=False))
    assert option_a(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_the_registered_resnet56_is_he_et_als_cifar_network():
    # He et al. (2016), Table 6: option A shortcuts throughout, 0.85 M parameters for 56 layers.
    model = CIFAR_MODELS["resnet56"]()
    assert shortcut_kinds(model) == shortcut_kinds(cifar_resnet(9, shortcut_option="A"))
    assert round(count_parameters(model) / 1e6, 2) == 0.85


# --------------------------------------------------------------------------------------------- NiN


def test_nin_has_no_linear_layer_and_no_relu_on_the_logits():
    model = nin()
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    last_conv_index = max(i for i, m in enumerate(model.modules()) if isinstance(m, nn.Conv2d))
    after = list(model.modules())[last_conv_index + 1 :]
    assert not any(isinstance(m, nn.ReLU) for m in after)
    assert model.layers.mlpconv3[-1].out_channels == 10
    torch.manual_seed(0)
    logits = model.eval()(torch.randn(8, 3, 32, 32))
    assert (logits < 0).any()


@pytest.mark.parametrize("size", [28, 32, 64])
def test_nin_accepts_other_input_sizes(size):
    assert nin(in_channels=1, num_classes=7)(torch.randn(2, 1, size, size)).shape == (2, 7)


# ---------------------------------------------------------------------------------------- All-conv

# Springenberg et al., Table 3 (approximate, "≈"): parameters of the twelve CIFAR-10 models.
PAPER_ALLCONV_PARAMS = {
    "A": {"base": 0.9e6, "strided": 0.9e6, "convpool": 1.28e6, "all": 1.28e6},
    "B": {"base": 1.0e6, "strided": 1.0e6, "convpool": 1.35e6, "all": 1.35e6},
    "C": {"base": 1.3e6, "strided": 1.3e6, "convpool": 1.4e6, "all": 1.4e6},
}


def conv_params(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


def table_params(base: str, variant: str) -> int:
    """Parameters that follow from the layer lists of Tables 1 and 2, counted by hand."""
    total, channels = 0, 3
    for stage in BASES[base]:
        for k, width in stage:
            total += conv_params(k, channels, width)
            channels = width
        if variant in ("convpool", "all"):
            total += conv_params(3, channels, channels)
    return total + conv_params(3, channels, 192) + conv_params(1, 192, 192) + conv_params(1, 192, 10)


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_all_conv_models(base, variant):
    model = all_conv(base, variant)
    params = count_parameters(model)
    assert params == table_params(base, variant)
    paper = PAPER_ALLCONV_PARAMS[base][variant]
    print(f"{base}/{variant}: {params:,} parameters, paper ≈ {paper:,.0f}")
    if variant in ("convpool", "all"):
        assert abs(params / paper - 1) < 0.05
    else:
        # The paper's counts for these do not follow from its own tables (for C: 0.95 M from the
        # layers of Table 1 against "≈1.3 M" in Table 3), so only the order is checked here.
        assert params < count_parameters(all_conv(base, "all"))
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == (
        2 if variant in ("base", "convpool") else 0
    )
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_all_conv_c_reaches_6x6_class_maps():
    model = all_conv("C", "all").eval()
    maps = model.layers[:-2](torch.randn(1, 3, 32, 32))  # everything before global pooling
    assert maps.shape == (1, 10, 6, 6)
    assert not isinstance(model.layers[-3], nn.ReLU)


# -------------------------------------------------------------------------------------- GoogLeNet

# Szegedy et al., Table 1, parameters per Inception module in thousands.
PAPER_INCEPTION_PARAMS = {
    "3a": 159, "3b": 380, "4a": 364, "4b": 437, "4c": 463, "4d": 580, "4e": 840, "5a": 1072, "5b": 1388,
}  # fmt: skip
INCEPTION_INPUTS = {
    "3a": 192,
    "3b": 256,
    "4a": 480,
    "4b": 512,
    "4c": 512,
    "4d": 512,
    "4e": 528,
    "5a": 832,
    "5b": 832,
}


@pytest.mark.parametrize("name", list(INCEPTION_MODULES))
def test_inception_module_parameters(name):
    c_in = INCEPTION_INPUTS[name]
    ch1, red3, ch3, red5, ch5, proj = INCEPTION_MODULES[name]
    module = on_meta(InceptionModule, c_in, *INCEPTION_MODULES[name])
    expected = (
        conv_params(1, c_in, ch1)
        + conv_params(1, c_in, red3)
        + conv_params(3, red3, ch3)
        + conv_params(1, c_in, red5)
        + conv_params(5, red5, ch5)
        + conv_params(1, c_in, proj)
    )
    assert count_parameters(module) == expected
    # Table 1's own figures are rounded estimates; all are within 5% of what its channel counts give,
    # except 4c, whose listed 463K is 10% below the 510K that its widths imply.
    assert abs(expected / (PAPER_INCEPTION_PARAMS[name] * 1000) - 1) < (0.11 if name == "4c" else 0.05)


def test_googlenet_size_and_cost():
    model = on_meta(googlenet)
    total = count_parameters(model)
    aux = count_parameters(model.aux1) + count_parameters(model.aux2)
    assert total - aux == 6_998_552  # the network used at test time; the paper says "about 6.8 M"
    assert abs((total - aux) / 6.8e6 - 1) < 0.03
    assert total == 13_378_280  # with the two auxiliary classifiers (training only)
    assert count_parameters(on_meta(googlenet, aux_logits=False)) == total - aux
    macs = count_macs(model, (3, 224, 224))  # eval mode: the auxiliary heads do not run
    assert macs == 1_582_671_872  # paper: 1.5 G; true 5x5 branches cost ~0.08 G more than torchvision's 3x3
    assert abs(macs / 1.5e9 - 1) < 0.06


def test_googlenet_outputs_by_mode():
    model = googlenet(num_classes=10)
    x = torch.randn(2, 3, 64, 64)  # small, to keep the test fast: adaptive pooling accepts any size
    outputs = model.train()(x)
    assert isinstance(outputs, tuple) and [o.shape for o in outputs] == [(2, 10)] * 3
    assert model.eval()(x).shape == (2, 10)
    assert googlenet(num_classes=10, aux_logits=False).train()(x).shape == (2, 10)


def test_googlenet_has_true_5x5_branches_and_no_batch_norm():
    model = on_meta(googlenet)
    assert all(
        module.branch3[1][0].kernel_size == (5, 5)
        for module in model.modules()
        if isinstance(module, InceptionModule)
    )
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model.dropout.p == 0.4 and model.aux1.dropout.p == 0.7


# ------------------------------------------------------------------------ forward + backward, errors

IMAGENET_MODELS = {
    "vgg11": lambda: vgg("A"),
    "resnet18": lambda: resnet(18),
    "resnet50": lambda: resnet(50),
    "googlenet": lambda: googlenet(),
}


def train_step(model: nn.Module, size: int, batch: int) -> torch.Tensor:
    """One forward and backward pass in training mode; returns the main logits."""
    model.train()
    outputs = model(torch.randn(batch, 3, size, size))
    heads = outputs if isinstance(outputs, tuple) else (outputs,)
    targets = torch.zeros(batch, dtype=torch.long)
    sum(nn.functional.cross_entropy(head, targets) for head in heads).backward()
    assert all(p.grad is not None for p in model.parameters())
    return heads[0]


@pytest.mark.parametrize("name", list(CIFAR_MODELS))
def test_cifar_models_train_at_32(name):
    assert train_step(CIFAR_MODELS[name](), 32, batch=1).shape == (1, 10)


@pytest.mark.parametrize("name", list(IMAGENET_MODELS))
def test_imagenet_models_train_at_224(name):
    assert train_step(IMAGENET_MODELS[name](), 224, batch=1).shape == (1, 1000)


@pytest.mark.parametrize(
    "build",
    [
        lambda: vgg("F"),
        lambda: vgg("D", input_size=64),
        lambda: resnet(20),
        lambda: resnet(18, stem="tiny"),
        lambda: googlenet(stem="tiny"),
        lambda: all_conv("D"),
        lambda: all_conv("C", "pool"),
        lambda: cifar_resnet([1, 1]),
        lambda: cifar_resnet(3, shortcut_option="C"),
        lambda: vgg("D", width_divisor=3),
        lambda: resnet(34, width_divisor=128),
        lambda: ZeroPadShortcut(32, 16, 2),
    ],
)
def test_bad_arguments_raise_one_sentence(build):
    with pytest.raises(CourseError) as error:
        build()
    message = str(error.value)
    assert message.endswith(".") and "\n" not in message and message.count(". ") == 0


@pytest.mark.parametrize("build", [lambda: nin(), lambda: all_conv("C", "all")])
def test_class_maps_average_to_the_logits(build):
    net = build().eval()
    x = torch.randn(2, 3, 32, 32)
    maps = net.class_maps(x)
    assert maps.shape[:2] == (2, 10) and maps.dim() == 4
    torch.testing.assert_close(maps.mean((2, 3)), net(x))


def test_cifar_resnet_width_divisor_narrows_every_stage_and_keeps_the_depth():
    narrow = cifar_resnet(3, width_divisor=2)
    assert [stage[-1].conv2.out_channels for stage in narrow.stages] == [8, 16, 32]
    assert weight_layers(narrow) == weight_layers(cifar_resnet(3)) == 20
    assert narrow(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(CourseError, match="width_divisor must be a whole number"):
        cifar_resnet(3, width_divisor=3)


def test_builders_pass_every_keyword_on_to_their_class():
    assert nin(dropout=0.2).layers.dropout1.p == 0.2
    assert all_conv("C", "all", dropout=False, width_divisor=2).variant == "all"
    assert googlenet(stem="cifar", aux_logits=False, num_classes=10).aux1 is None
    with pytest.raises(TypeError):
        nin(drop_out=0.2)
