"""helper.profile: parameter and MAC counts checked against numbers worked out by hand."""

import pandas as pd
import pytest
import torch
from torch import nn

from helper.errors import CourseError
from helper.profile import count_macs, count_parameters, layer_table, weight_layers


def small_cnn() -> nn.Sequential:
    # 3x10x10 -> conv 3x3 -> 8x8x8 -> flatten 512 -> 10 classes
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))


class TwoStage(nn.Module):
    """A block used twice, a parameter used directly in forward, and a head that never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.mix = nn.Parameter(torch.eye(4))
        self.head = nn.Linear(4, 2)
        self.unused = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.block(x.flatten(1)))
        return self.head(x @ self.mix)


def test_conv_macs_are_output_positions_times_kernel_volume():
    conv = nn.Conv2d(3, 8, 3)
    assert count_macs(conv, (3, 10, 10)) == 8 * 8 * 8 * 3 * 3 * 3


def test_conv_macs_with_stride_padding_and_groups():
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)
    # output 6 x 5 x 5; each output value reads 2 input channels x 3 x 3
    assert count_macs(conv, (4, 10, 10)) == 6 * 5 * 5 * 2 * 3 * 3


def test_linear_macs_and_batch_size():
    linear = nn.Linear(20, 7)
    assert count_macs(linear, (1, 1, 20)) == 20 * 7
    assert count_macs(nn.Sequential(nn.Flatten(), linear), (5, 1, 4, 5)) == 5 * 20 * 7


def test_whole_small_cnn():
    model = small_cnn()
    assert count_macs(model, (3, 10, 10)) == 8 * 8 * 8 * 27 + 512 * 10
    assert count_parameters(model) == (8 * 27 + 8) + (512 * 10 + 10)


def test_trainable_only_skips_frozen_parameters():
    model = small_cnn()
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == 224 + 5130
    assert count_parameters(model, trainable_only=True) == 5130


@pytest.mark.parametrize("training", [True, False])
def test_training_flags_are_restored(training):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5), nn.BatchNorm2d(2))
    model.train(training)
    model[1].train(not training)  # a mixed state must survive too
    before = [m.training for m in model.modules()]
    count_macs(model, (1, 6, 6))
    layer_table(model, (1, 6, 6))
    assert [m.training for m in model.modules()] == before


def test_runs_without_gradients_and_leaves_no_hooks():
    model = small_cnn()
    count_macs(model, (3, 10, 10))
    layer_table(model, (3, 10, 10))
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_layer_table_rows_and_totals():
    model = small_cnn()
    table = layer_table(model, (3, 10, 10))
    assert [row.name for row in table.rows] == ["0", "1", "2", "3"]
    assert [row.output_shape for row in table.rows] == ["(1, 8, 8, 8)", "(1, 8, 8, 8)", "(1, 512)", "(1, 10)"]
    assert [row.macs for row in table.rows] == [13824, 0, 0, 5120]
    assert table.total_macs == count_macs(model, (3, 10, 10))
    assert table.total_params == count_parameters(model)


def test_layer_table_counts_own_work_repeated_calls_and_idle_modules():
    model = TwoStage()
    size = (4, 1, 1)
    table = layer_table(model, size)
    by_name = {row.name: row for row in table.rows}
    assert by_name["block.0"].macs == 2 * 16  # called twice
    assert by_name["TwoStage (own)"].macs == 16 and by_name["TwoStage (own)"].params == 16
    assert by_name["unused"].output_shape == "-" and by_name["unused"].macs == 0
    assert table.total_macs == count_macs(model, size) == 16 + 16 + 16 + 8
    assert table.total_params == count_parameters(model)


def test_layer_table_depth_groups_children():
    model = nn.Sequential(small_cnn(), nn.Sequential(nn.ReLU(), nn.Linear(10, 3)))
    table = layer_table(model, (3, 10, 10), depth=1)
    assert [(row.name, row.type) for row in table.rows] == [("0", "Sequential"), ("1", "Sequential")]
    assert [row.macs for row in table.rows] == [13824 + 5120, 30]
    assert table.total_macs == count_macs(model, (3, 10, 10))
    assert table.total_params == count_parameters(model)


def test_layer_table_prints_and_converts():
    table = layer_table(small_cnn(), (3, 10, 10))
    text = str(table)
    assert text.splitlines()[-1].split() == ["total", "5,354", "18,944"]
    assert len({len(line) for line in text.splitlines()[1:3]}) == 1  # header as wide as the rule
    frame = table.to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert frame["macs"].iloc[-1] == frame["macs"].iloc[:-1].sum() == 18944
    assert "<table" in table._repr_html_()


@pytest.mark.parametrize("size", [(10, 10), (0, 3, 10, 10), (3, 10.0, 10), (True, 3, 3), "3x10x10"])
def test_bad_input_size_raises_course_error(size):
    with pytest.raises(CourseError, match="input_size must be"):
        count_macs(small_cnn(), size)


@pytest.mark.parametrize("depth", [0, -1, 1.5, True])
def test_bad_depth_raises_course_error(depth):
    with pytest.raises(CourseError, match="depth must be"):
        layer_table(small_cnn(), (3, 10, 10), depth=depth)


@pytest.mark.parametrize("depth", [20, 56])
def test_weight_layers_of_cifar_resnets_are_6n_plus_2_with_or_without_shortcuts(depth):
    from helper.models import cifar_resnet

    blocks = (depth - 2) // 6
    assert weight_layers(cifar_resnet(blocks)) == weight_layers(cifar_resnet(blocks, residual=False)) == depth


@pytest.mark.parametrize("depth", [18, 34, 50, 152])
def test_weight_layers_is_the_depth_in_a_resnets_name(depth):
    from helper.models import resnet

    assert weight_layers(resnet(depth)) == depth
