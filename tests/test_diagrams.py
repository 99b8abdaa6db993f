"""helper.tools.diagrams: the committed figures exist, match what the code draws, and keep text readable."""

from __future__ import annotations

import itertools

import matplotlib.image as mpimg
import numpy as np
import pytest
from PIL import Image

from helper.tools import diagrams

FIGURE_DIR = diagrams.FIGURE_DIR  # helper/figures/, also in an installed wheel
# The notebooks show these names: renaming one breaks a notebook's diagram cell.
EXPECTED = ["padding_stride_grids", "flipped_kernel", "im2col", "vgg16_stages", "residual_block",
            "bottleneck", "inception_module", "googlenet", "mlpconv", "gap_head", "fc_as_conv",
            "allconv_downsampling", "modern_blocks"]
MAX_BYTES = 150_000
MIN_POINTS = 9


def test_every_expected_figure_is_committed_and_small():
    assert list(diagrams.FIGURES) == EXPECTED
    for name in EXPECTED:
        path = FIGURE_DIR / f"{name}.png"
        assert path.is_file(), f"{path} is missing: run python -m helper.tools diagrams"
        assert path.stat().st_size < MAX_BYTES, f"{path.name} has {path.stat().st_size} bytes"


def test_redrawing_gives_the_committed_pixels(tmp_path):
    assert diagrams.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in EXPECTED)
    drawn_with = {Image.open(FIGURE_DIR / f"{name}.png").text.get("Source") for name in EXPECTED}
    if drawn_with != {diagrams.SOURCE}:
        pytest.skip(f"the committed figures were drawn with {drawn_with}, not {diagrams.SOURCE}, and other "
                    "versions render text slightly differently")
    stale = [name for name in EXPECTED if not np.array_equal(mpimg.imread(tmp_path / f"{name}.png"),
                                                             mpimg.imread(FIGURE_DIR / f"{name}.png"))]
    assert not stale, f"helper/figures/ is out of date for {stale}: run python -m helper.tools diagrams"


def test_every_file_carries_its_description():
    for name in EXPECTED:
        description = Image.open(FIGURE_DIR / f"{name}.png").text.get("Description")
        assert description == diagrams.description(name), \
            f"{name}.png does not carry its figure's docstring line: run python -m helper.tools diagrams"
        assert 20 < len(description) < 120 and "\n" not in description, description


def test_a_name_redraws_only_that_figure(tmp_path):
    assert diagrams.main(["residual_block.png", "--out", str(tmp_path / "new")]) == 0
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["residual_block.png"]


def test_an_unknown_name_is_one_sentence(tmp_path, capsys):
    assert diagrams.main(["resnet_block", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error, error
    assert "'resnet_block'" in error and "residual_block" in error
    assert list(tmp_path.iterdir()) == [], "nothing should be drawn when a name is wrong"


@pytest.mark.parametrize("name", EXPECTED)
def test_text_is_readable_and_never_overlaps(name):
    fig = diagrams.draw(name)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text().strip()]
    legend = ax.get_legend()
    labels = texts + (legend.get_texts() if legend else [])
    small = [t.get_text() for t in labels if t.get_fontsize() < MIN_POINTS]
    assert not small, f"{name}: text under {MIN_POINTS} pt: {small}"
    boxes = [(repr(t.get_text()), t.get_window_extent(renderer)) for t in texts]
    if legend:
        boxes.append(("the legend", legend.get_window_extent(renderer)))
    outside = [label for label, box in boxes
               if box.x0 < 0 or box.y0 < 0 or box.x1 > fig.bbox.width or box.y1 > fig.bbox.height]
    assert not outside, f"{name}: cut off at the edge: {outside}"
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
                   if box_a.padded(-1).overlaps(box_b.padded(-1))]
    assert not overlapping, f"{name}: overlapping text: {overlapping}"
