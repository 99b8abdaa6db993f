"""Output sizes of convolution and pooling layers, with PyTorch's rules and readable errors.

Every function works on one spatial dimension (a height or a width); call it twice for H and W.
For an input of ``n`` pixels, kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``::

    out = floor((n + 2p - d(k - 1) - 1) / s) + 1

``d(k - 1) + 1`` is the *effective* kernel size: how many input pixels one window spans.

The receptive field of a stack of layers follows one recursion (notebook 07): each layer with kernel
``k_l`` and stride ``s_l`` widens the field by ``k_l - 1`` times the jump (the distance in input pixels
between neighbouring outputs) of the layer below::

    r_l = r_(l-1) + (k_l - 1) j_(l-1),    j_l = j_(l-1) s_l,    r_0 = j_0 = 1
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from helper.errors import CourseError, is_whole

__all__ = ["FieldGeometry", "conv_output_size", "conv_params", "field_geometry", "pool_output_size",
           "receptive_field", "same_padding"]


def _check(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) of at least ``minimum``."""
    if not is_whole(value):
        raise CourseError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise CourseError(f"{name} must be at least {minimum}; got {value}.")
    return int(value)


def _effective_kernel(kernel_size: int, dilation: int) -> int:
    """Input pixels covered by one window of a dilated kernel."""
    return dilation * (kernel_size - 1) + 1


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of ``nn.Conv2d`` along one dimension of ``size`` input pixels."""
    size = _check("size", size, 1)
    kernel_size = _check("kernel_size", kernel_size, 1)
    stride = _check("stride", stride, 1)
    padding = _check("padding", padding, 0)
    dilation = _check("dilation", dilation, 1)
    span = _effective_kernel(kernel_size, dilation)
    if span > size + 2 * padding:
        raise CourseError(
            f"The kernel spans {span} pixels (kernel_size {kernel_size}, dilation {dilation}) but the padded "
            f"input has only {size + 2 * padding}, so use a smaller kernel or more padding."
        )
    return (size + 2 * padding - span) // stride + 1


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of ``nn.MaxPool2d`` along one dimension of ``size`` input pixels.

    ``stride`` defaults to ``kernel_size`` (non-overlapping windows), as in PyTorch. With
    ``ceil_mode=True`` a partial window at the end counts, unless it would start beyond the
    input and its left padding (PyTorch drops such a window).
    """
    size = _check("size", size, 1)
    kernel_size = _check("kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None else _check("stride", stride, 1)
    padding = _check("padding", padding, 0)
    dilation = _check("dilation", dilation, 1)
    if not isinstance(ceil_mode, bool):
        raise CourseError(f"ceil_mode must be True or False; got {ceil_mode!r}.")
    if padding > kernel_size // 2:
        raise CourseError(
            f"Pooling padding must be at most half the kernel size (PyTorch's rule); "
            f"got padding {padding} for kernel_size {kernel_size}."
        )
    reach = size + 2 * padding - _effective_kernel(kernel_size, dilation)
    if ceil_mode:
        out = -(-reach // stride) + 1  # ceiling division
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = reach // stride + 1
    if out < 1:
        raise CourseError(
            f"A pooling window spanning {_effective_kernel(kernel_size, dilation)} pixels does not fit in "
            f"{size} input pixels with padding {padding}, so use a smaller kernel or a larger input."
        )
    return out


def conv_params(kernel_size: int, in_channels: int, out_channels: int, bias: bool = True) -> int:
    """Parameters of a k x k convolution: k * k * C_in * C_out weights, plus C_out biases."""
    kernel_size = _check("kernel_size", kernel_size, 1)
    in_channels = _check("in_channels", in_channels, 1)
    out_channels = _check("out_channels", out_channels, 1)
    return kernel_size * kernel_size * in_channels * out_channels + (out_channels if bias else 0)


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the size unchanged at stride 1 (an odd effective kernel is needed)."""
    kernel_size = _check("kernel_size", kernel_size, 1)
    dilation = _check("dilation", dilation, 1)
    span = _effective_kernel(kernel_size, dilation)
    if span % 2 == 0:
        raise CourseError(
            f"Same padding needs an odd effective kernel size, but kernel_size {kernel_size} with dilation "
            f"{dilation} spans {span} pixels, so pad one side more than the other: "
            'nn.Conv2d(padding="same") does that at stride 1.'
        )
    return (span - 1) // 2


class FieldGeometry(NamedTuple):
    """Where the outputs of a stack of layers look, along one dimension of its input.

    ``field``: input pixels one output sees; ``jump``: input pixels between neighbouring outputs;
    ``start``: the first input pixel output 0 sees (negative when its field starts in the padding).
    """

    field: int
    jump: int
    start: int

    def span(self, index: int) -> tuple[int, int]:
        """The first and last input pixel that output ``index`` sees (outside ``0 .. n - 1``: padding)."""
        index = _check("index", index, 0)
        first = self.start + index * self.jump
        return first, first + self.field - 1


def _layer(number: int, layer: object) -> tuple[int, int, int]:
    """One layer as (kernel_size, stride, padding), from a (kernel_size, stride[, padding]) tuple."""
    if not isinstance(layer, Sequence) or isinstance(layer, str) or len(layer) not in (2, 3):
        raise CourseError(f"Layer {number} must be a (kernel_size, stride) or (kernel_size, stride, padding) "
                          f"tuple; got {layer!r}.")
    kernel_size, stride, padding = (*layer, 0) if len(layer) == 2 else layer
    return (_check(f"kernel_size of layer {number}", kernel_size, 1),
            _check(f"stride of layer {number}", stride, 1),
            _check(f"padding of layer {number}", padding, 0))


def field_geometry(layers: Iterable[Sequence[int]]) -> FieldGeometry:
    """Field, jump and start of a stack of layers given as (kernel_size, stride[, padding]) tuples, the
    first layer first (padding defaults to 0 and moves only ``start``)."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise CourseError(f"layers must be a list of (kernel_size, stride) tuples; got {layers!r}.")
    field, jump, start = 1, 1, 0
    for number, layer in enumerate(layers, start=1):
        kernel_size, stride, padding = _layer(number, layer)
        field += (kernel_size - 1) * jump
        start -= padding * jump
        jump *= stride
    return FieldGeometry(field, jump, start)


def receptive_field(layers: Iterable[Sequence[int]]) -> int:
    """Input pixels one output of a stack of layers sees, for (kernel_size, stride[, padding]) tuples."""
    return field_geometry(layers).field
