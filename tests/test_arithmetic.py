"""helper.arithmetic: worked examples, every bad input, and agreement with real PyTorch layers."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helper.arithmetic import conv_output_size, conv_params, pool_output_size, same_padding
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
