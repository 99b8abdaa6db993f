"""helper.errors: the one test of "is this a whole number / a real number" that every check uses."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from helper.errors import is_real, is_whole


@pytest.mark.parametrize("value", [0, 7, -3, np.int64(5), np.uint8(2), 2**40])
def test_integers_are_whole(value):
    assert is_whole(value) and is_real(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, "3", None, torch.tensor(3), (3,)])
def test_bools_floats_strings_and_tensors_are_not_whole(value):
    assert not is_whole(value)


@pytest.mark.parametrize("value", [0.5, np.float32(0.25), Fraction(1, 3), float("inf")])
def test_floats_are_real_not_whole(value):
    assert is_real(value) and not is_whole(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, 1j, torch.tensor(0.5)])
def test_bools_strings_complex_and_tensors_are_not_real(value):
    assert not is_real(value)


def test_a_course_error_shows_as_one_sentence_in_ipython(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown = []  # what a kernel publishes as the cell's error, which Jupyter and papermill show
    monkeypatch.setattr(shell, "_showtraceback", lambda etype, value, stb: shown.append(stb))
    shell.run_cell("from helper.errors import CourseError\nraise CourseError('Pick a real data set.')")
    assert shown == [["\x1b[31mCourseError: Pick a real data set.\x1b[0m"]]
