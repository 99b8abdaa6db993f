"""Count the parameters and multiply-accumulates (MACs) of a model, in total or layer by layer.

MACs come from PyTorch's own ``torch.utils.flop_counter.FlopCounterMode``: it intercepts the
operators that really run in a forward pass (``aten.convolution``, ``aten.mm``, ``aten.addmm``,
``aten.bmm``, attention, ...) and counts their floating-point operations from the actual tensor
shapes. That is more trustworthy than counting by hand from the layer definitions, which silently
misses a ``torch.matmul`` written in a ``forward`` method, a layer that is called twice, or a branch
that only runs in training mode. One MAC is one multiplication plus one addition, so MACs = FLOPs / 2.
Only these matrix products and convolutions are counted; element-wise work (ReLU, batch norm,
pooling, additions) is cheap in comparison and is not included, as in the papers' tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from helper.errors import CourseError, is_whole

__all__ = ["LayerRow", "LayerTable", "count_macs", "count_parameters", "layer_table", "weight_layers"]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def weight_layers(model: nn.Module) -> int:
    """The depth in a network's name: convolutions and linear layers on the main path.

    Layers inside a ``downsample`` module (ResNet's 1x1 projection shortcuts, named as in torchvision)
    are not counted, as He et al. (2016) do not count them.
    """
    return sum(isinstance(module, (nn.Conv2d, nn.Linear)) for name, module in model.named_modules()
               if "downsample" not in name.split("."))


def _input_shape(input_size: Sequence[int]) -> tuple[int, ...]:
    """Turn ``(C, H, W)`` or ``(N, C, H, W)`` into a batch shape, checking it on the way."""
    shape = tuple(input_size)
    valid = len(shape) in (3, 4) and all(is_whole(n) and n >= 1 for n in shape)
    if not valid:
        raise CourseError(
            f"input_size must be (C, H, W) or (N, C, H, W) with positive integers; got {input_size!r}."
        )
    return shape if len(shape) == 4 else (1, *shape)


def _example_input(model: nn.Module, input_size: Sequence[int]) -> torch.Tensor:
    """A random input of the requested size on the model's device, in the model's floating dtype."""
    shape = _input_shape(input_size)
    tensors = [*model.parameters(), *model.buffers()]
    device = tensors[0].device if tensors else torch.device("cpu")
    floats = [t.dtype for t in tensors if t.is_floating_point()]
    dtype = floats[0] if floats else torch.get_default_dtype()
    return torch.randn(shape, device=device, dtype=dtype)


def _counted_forward(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """Run ``model(x)`` in eval mode without gradients; return FLOPs per module-tracker name.

    The training flag of every submodule is restored afterwards.
    """
    flags = {m: m.training for m in model.modules()}
    counter = FlopCounterMode(display=False)
    try:
        model.eval()
        with torch.no_grad(), counter:
            model(x)
    finally:
        for module, flag in flags.items():
            module.training = flag
    return {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}


def count_macs(model: nn.Module, input_size: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass on an input of ``input_size``.

    ``input_size`` is ``(C, H, W)`` (a batch of one is made) or ``(N, C, H, W)``. The model runs
    once in eval mode under ``torch.no_grad()`` on its own device, and its training flag is
    restored. See the module docstring for what is counted and why we let PyTorch count.
    """
    flops = _counted_forward(model, _example_input(model, input_size))
    return flops.get("Global", 0) // 2


@dataclass(frozen=True)
class LayerRow:
    """One line of a :class:`LayerTable`."""

    name: str
    type: str
    output_shape: str
    params: int
    macs: int


@dataclass(frozen=True)
class LayerTable:
    """Per-layer parameters and MACs; ``print`` it, show it in a notebook, or call :meth:`to_dataframe`."""

    model: str
    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    def to_dataframe(self) -> Any:
        """The rows plus a ``total`` row as a pandas DataFrame (sort it with ``.sort_values("macs")``)."""
        import pandas as pd

        records = [vars(row) for row in self.rows]
        records.append(dict(name="total", type="", output_shape="", params=self.total_params,
                            macs=self.total_macs))
        return pd.DataFrame.from_records(records, columns=["name", "type", "output_shape", "params", "macs"])

    def _repr_html_(self) -> str:
        return self.to_dataframe().to_html(index=False, formatters={"params": "{:,}".format,
                                                                     "macs": "{:,}".format})

    def __str__(self) -> str:
        header = ("layer", "type", "output shape", "params", "MACs")
        lines = [(row.name, row.type, row.output_shape, f"{row.params:,}", f"{row.macs:,}")
                 for row in self.rows]
        total = ("total", "", "", f"{self.total_params:,}", f"{self.total_macs:,}")
        widths = [max(len(line[i]) for line in [header, *lines, total]) for i in range(len(header))]

        def fmt(line: tuple[str, ...]) -> str:
            left = [text.ljust(width) for text, width in zip(line[:3], widths[:3], strict=True)]
            right = [text.rjust(width) for text, width in zip(line[3:], widths[3:], strict=True)]
            return "  ".join(left + right).rstrip()

        rule = "-" * len(fmt(tuple("-" * w for w in widths)))
        title = f"{self.model} on input {tuple(self.input_shape)}"
        return "\n".join([title, fmt(header), rule, *map(fmt, lines), rule, fmt(total)])


def _describe_output(output: Any) -> str:
    """The shape of a module's output; tuples and lists list the shape of each tensor inside."""
    if isinstance(output, torch.Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_describe_output(item) for item in output) + "]"
    return type(output).__name__


def layer_table(model: nn.Module, input_size: Sequence[int], depth: int | None = None) -> LayerTable:
    """One row per leaf module with its output shape, parameters and MACs, plus a total.

    With ``depth=1`` each top-level child becomes one row that sums everything inside it
    (``depth=2`` goes one level further, and so on); ``None`` lists every leaf. A module that owns
    parameters or does counted work itself, besides calling its children, gets an extra row
    ``"<name> (own)"``, so the totals always equal :func:`count_parameters` and :func:`count_macs`.
    A module that did not run (for example an auxiliary head in eval mode) shows ``-`` as its shape.
    """
    if depth is not None and (not is_whole(depth) or depth < 1):
        raise CourseError(f"depth must be a positive integer or None; got {depth!r}.")
    x = _example_input(model, input_size)
    shapes: dict[nn.Module, str] = {}

    def remember(module: nn.Module, _inputs: Any, output: Any) -> None:
        shapes[module] = _describe_output(output)

    handles = [module.register_forward_hook(remember) for module in model.modules()]
    try:
        flops = _counted_forward(model, x)
    finally:
        for handle in handles:
            handle.remove()

    root = type(model).__name__

    def macs(name: str) -> int:
        # FlopCounterMode names a module by the root's class name followed by its attribute path.
        return flops.get(f"{root}.{name}" if name else root, 0) // 2

    rows: list[LayerRow] = []

    def visit(name: str, module: nn.Module, level: int) -> None:
        children = list(module.named_children())
        shape = shapes.get(module, "-")
        label = name or root
        if not children or level == depth:
            rows.append(LayerRow(label, type(module).__name__, shape, count_parameters(module), macs(name)))
            return
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        child_names = [f"{name}.{child}" if name else child for child, _ in children]
        own_macs = macs(name) - sum(macs(child) for child in child_names)
        if own_params or own_macs:
            rows.append(LayerRow(f"{label} (own)", type(module).__name__, shape, own_params, own_macs))
        for child_name, (_, child) in zip(child_names, children, strict=True):
            visit(child_name, child, level + 1)

    visit("", model, 0)
    return LayerTable(model=root, input_shape=tuple(x.shape), rows=rows)
