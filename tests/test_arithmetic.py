"""helper.arithmetic: worked examples, every bad input, and agreement with real PyTorch layers."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from helper.arithmetic import (
    conv_output_size,
    conv_params,
    field_geometry,
    pool_output_size,
    receptive_field,
    same_padding,
)
from helper.errors import CourseError


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (dict(size=32, kernel_size=3), 30),  # valid padding shrinks by k - 1
        (dict(size=32, kernel_size=3, padding=1), 32),  # same padding
        (dict(size=32, kernel_size=3, stride=2, padding=1), 16),
        (dict(size=224, kernel_size=7, stride=2, padding=3), 112),  # ResNet stem
        (dict(size=227, kernel_size=11, stride=4), 55),  # AlexNet conv1
        (dict(size=32, kernel_size=3, dilation=2), 28),  # effective kernel 5
        (dict(size=5, kernel_size=5), 1),
        (dict(size=1, kernel_size=3, padding=1), 1),
    ],
)
def test_conv_output_size_examples(args, expected):
    assert conv_output_size(**args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (dict(size=32, kernel_size=2), 16),  # stride defaults to the kernel size
        (dict(size=112, kernel_size=3, stride=2, padding=1), 56),  # ResNet max pool
        (dict(size=7, kernel_size=2), 3),
        (dict(size=7, kernel_size=2, ceil_mode=True), 4),  # the partial last window counts
        (dict(size=112, kernel_size=3, stride=2, ceil_mode=True), 56),  # GoogLeNet pools
        # a 4th window would start in the right padding, so it is dropped
        (dict(size=5, kernel_size=2, stride=2, padding=1, ceil_mode=True), 3),
        (dict(size=2, kernel_size=3, stride=2, ceil_mode=True), 1),  # one window hangs over the edge
    ],
)
def test_pool_output_size_examples(args, expected):
    assert pool_output_size(**args) == expected


def test_numpy_integers_are_accepted():
    assert conv_output_size(np.int64(8), np.int32(3)) == 6


@pytest.mark.parametrize(
    ("kernel_size", "dilation", "expected"), [(1, 1, 0), (3, 1, 1), (5, 1, 2), (3, 2, 2), (2, 2, 1)]
)
def test_same_padding(kernel_size, dilation, expected):
    padding = same_padding(kernel_size, dilation)
    assert padding == expected
    assert conv_output_size(17, kernel_size, padding=padding, dilation=dilation) == 17


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conv_output_size(0, 3), "size must be at least 1; got 0."),
        (lambda: conv_output_size(8, 0), "kernel_size must be at least 1; got 0."),
        (lambda: conv_output_size(8, 3, stride=0), "stride must be at least 1; got 0."),
        (lambda: conv_output_size(8, 3, padding=-1), "padding must be at least 0; got -1."),
        (lambda: conv_output_size(8, 3, dilation=0), "dilation must be at least 1; got 0."),
        (lambda: conv_output_size(8.0, 3), "size must be an integer; got 8.0."),
        (lambda: conv_output_size(8, True), "kernel_size must be an integer; got True."),
        (lambda: conv_output_size(8, "3"), "kernel_size must be an integer; got '3'."),
        (
            lambda: conv_output_size(4, 3, dilation=2),
            "The kernel spans 5 pixels (kernel_size 3, dilation 2) but the padded input has only 4, "
            "so use a smaller kernel or more padding.",
        ),
        (lambda: pool_output_size(8, 2, stride=0), "stride must be at least 1; got 0."),
        (lambda: pool_output_size(8, 2, ceil_mode=1), "ceil_mode must be True or False; got 1."),
        (
            lambda: pool_output_size(8, 3, padding=2),
            "Pooling padding must be at most half the kernel size (PyTorch's rule); "
            "got padding 2 for kernel_size 3.",
        ),
        (
            lambda: pool_output_size(2, 3, stride=1),
            "A pooling window spanning 3 pixels does not fit in 2 input pixels with padding 0, "
            "so use a smaller kernel or a larger input.",
        ),
        (
            lambda: same_padding(4),
            "Same padding needs an odd effective kernel size, "
            "but kernel_size 4 with dilation 1 spans 4 pixels, "
            'so pad one side more than the other: nn.Conv2d(padding="same") does that at stride 1.',
        ),
        (lambda: same_padding(3, dilation=1.5), "dilation must be an integer; got 1.5."),
    ],
)
def test_bad_input_raises_one_sentence(call, message):
    with pytest.raises(CourseError) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
    assert str(info.value).count(". ") == 0 and str(info.value).endswith(".")


def _torch_size(layer: nn.Module, size: int) -> int | None:
    """The height PyTorch gives for a 1 x 1 x size x 3 input, or None if PyTorch refuses."""
    try:
        with torch.no_grad():
            return layer(torch.zeros(1, 1, size, 3)).shape[2]
    except RuntimeError:
        return None


def _ours(function, *args, **kwargs) -> int | None:
    try:
        return function(*args, **kwargs)
    except CourseError:
        return None


sizes = st.integers(1, 16)
kernels = st.integers(1, 6)
strides = st.integers(1, 4)
paddings = st.integers(0, 4)
dilations = st.integers(1, 3)


@settings(max_examples=200, deadline=None)
@given(size=sizes, kernel=kernels, stride=strides, padding=paddings, dilation=dilations)
def test_conv_output_size_matches_nn_conv2d(size, kernel, stride, padding, dilation):
    # Only the height varies; the width (3 pixels) gets a kernel of 1 so it is always valid.
    layer = nn.Conv2d(1, 1, (kernel, 1), stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1))
    assert _ours(conv_output_size, size, kernel, stride, padding, dilation) == _torch_size(layer, size)


@settings(max_examples=200, deadline=None)
@given(
    size=sizes, kernel=kernels, stride=strides, padding=paddings, dilation=dilations, ceil_mode=st.booleans()
)
def test_pool_output_size_matches_nn_maxpool2d(size, kernel, stride, padding, dilation, ceil_mode):
    layer = nn.MaxPool2d((kernel, 1), stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1),
                         ceil_mode=ceil_mode)
    ours = _ours(pool_output_size, size, kernel, stride, padding, dilation, ceil_mode)
    assert ours == _torch_size(layer, size)


@pytest.mark.parametrize(("kernel", "c_in", "c_out", "bias"),
                         [(3, 96, 96, True), (1, 192, 64, True), (5, 3, 8, False)])
def test_conv_params_matches_a_real_layer(kernel, c_in, c_out, bias):
    layer = nn.Conv2d(c_in, c_out, kernel, bias=bias)
    assert conv_params(kernel, c_in, c_out, bias=bias) == sum(p.numel() for p in layer.parameters())


def test_conv_params_rejects_zero_channels():
    with pytest.raises(CourseError, match="in_channels"):
        conv_params(3, 0, 8)


VGG16_TO_CONV5_3 = ([(3, 1, 1)] * 2 + [(2, 2, 0)]) * 2 + ([(3, 1, 1)] * 3 + [(2, 2, 0)]) * 2 + [(3, 1, 1)] * 3


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([], (1, 1, 0)),  # no layer: each output is its own input pixel
        ([(3, 1)] * 3, (7, 1, 0)),  # three 3x3 layers see as much as one 7x7
        ([(7, 1)], (7, 1, 0)),
        ([(3, 1, 1)] * 3, (7, 1, -3)),  # same padding: the field is centred on the output's pixel
        ([(7, 2, 3), (3, 2, 1)], (11, 4, -5)),  # ResNet's stem: 7x7 convolution and 3x3 max-pool
        ([(11, 4), (3, 2)], (19, 8, 0)),  # AlexNet's conv1 and pool1
        (VGG16_TO_CONV5_3, (196, 16, -90)),
        ([*VGG16_TO_CONV5_3, (2, 2, 0)], (212, 32, -90)),
    ],
)
def test_field_geometry_examples(layers, expected):
    geometry = field_geometry(layers)
    assert geometry == expected
    assert receptive_field(layers) == expected[0]
    assert geometry.span(0) == (expected[2], expected[2] + expected[0] - 1)


def test_span_moves_by_the_jump():
    geometry = field_geometry([(3, 1, 1), (2, 2), (3, 1, 1)])
    assert geometry.span(0) == (-3, 4)
    assert geometry.span(5) == (7, 14)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: receptive_field(3), "layers must be a list of (kernel_size, stride) tuples; got 3."),
        (lambda: receptive_field("33"), "layers must be a list of (kernel_size, stride) tuples; got '33'."),
        (lambda: receptive_field([(3, 1), 3]),
         "Layer 2 must be a (kernel_size, stride) or (kernel_size, stride, padding) tuple; got 3."),
        (lambda: receptive_field([(3, 1, 1, 1)]),
         "Layer 1 must be a (kernel_size, stride) or (kernel_size, stride, padding) tuple; "
         "got (3, 1, 1, 1)."),
        (lambda: receptive_field([(3, 1), (0, 1)]), "kernel_size of layer 2 must be at least 1; got 0."),
        (lambda: receptive_field([(3, 0)]), "stride of layer 1 must be at least 1; got 0."),
        (lambda: receptive_field([(3, 1, -1)]), "padding of layer 1 must be at least 0; got -1."),
        (lambda: receptive_field([(3.0, 1)]), "kernel_size of layer 1 must be an integer; got 3.0."),
        (lambda: field_geometry([(3, 1)]).span(-1), "index must be at least 0; got -1."),
    ],
)
def test_bad_layers_raise_one_sentence(call, message):
    with pytest.raises(CourseError) as info:
        call()
    assert str(info.value) == message


def _footprints(model: nn.Module, size: int) -> list[tuple[int, int]]:
    """For each output row of ``model`` on a size x 1 input: the first and last input row it has a
    gradient for (all weights 1, so that nothing cancels)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(1.0)
    x = torch.ones(1, 1, size, 1, requires_grad=True)
    out = model(x)[0, 0, :, 0]
    spans = []
    for index in range(out.shape[0]):
        (grad,) = torch.autograd.grad(out[index], x, retain_graph=True)
        rows = grad[0, 0, :, 0].nonzero().flatten()
        spans.append((int(rows.min()), int(rows.max())))
    return spans


@st.composite
def stacks(draw) -> list[tuple[str, int, int, int]]:
    """1-4 convolutions or average pools (the geometry of a max-pool) with kernel >= stride (no gaps)."""
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "pool"]))
        kernel = draw(st.integers(1, 5))
        stride = draw(st.integers(1, kernel))
        padding = draw(st.integers(0, kernel - 1 if kind == "conv" else kernel // 2))
        layers.append((kind, kernel, stride, padding))
    return layers


@settings(max_examples=40, deadline=None)
@given(layers=stacks(), outputs=st.integers(1, 6))
def test_spans_match_the_gradient_footprint(layers, outputs):
    # The input size that gives ``outputs`` outputs with no input row left unread at the end (PyTorch drops
    # a last partial window, and an output's span may reach into rows that only such a window would read).
    size = outputs
    for _, kernel, stride, padding in reversed(layers):
        size = (size - 1) * stride + kernel - 2 * padding
        assume(size >= 1)
    modules = [nn.Conv2d(1, 1, (kernel, 1), stride=(stride, 1), padding=(padding, 0)) if kind == "conv" else
               nn.AvgPool2d((kernel, 1), stride=(stride, 1), padding=(padding, 0))
               for kind, kernel, stride, padding in layers]
    geometry = field_geometry([(kernel, stride, padding) for _, kernel, stride, padding in layers])
    footprints = _footprints(nn.Sequential(*modules), size)
    assert len(footprints) == outputs
    for index, (first, last) in enumerate(footprints):
        low, high = geometry.span(index)
        assert (first, last) == (max(low, 0), min(high, size - 1)), f"output {index} of {layers}"
    if all(padding == 0 for *_, padding in layers):
        assert footprints[0] == (0, geometry.field - 1)  # no padding: output 0 sees the whole field
