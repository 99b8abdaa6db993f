"""helper.exercises.digest: what a check compares a value answer with, so that it shows no answer."""

from __future__ import annotations

import numpy as np
import pytest

from helper.errors import CourseError
from helper.exercises import digest, normal_form


def test_equal_answers_written_differently_have_one_digest():
    assert digest(" ReLU(x) ") == digest("relu(x)") == digest("relu(x)\n")
    assert digest(196) == digest(np.int64(196))
    assert digest(49 / 27) == digest(np.float32(49 / 27)) == digest(1.8148148)


def test_different_answers_have_different_digests():
    assert digest("x") != digest("relu(x)")
    assert digest(195) != digest(196)
    assert digest(0.8936) != digest(0.8936 * 1.001), "a real number is compared to six significant digits"


def test_a_digest_shows_nothing_of_the_answer():
    assert len(digest(196)) == 16 and "196" not in digest(196)
    assert normal_form(0.0079916969) == "0.0079917"


@pytest.mark.parametrize("answer", [True, None, [1, 2], object()])
def test_what_is_neither_a_string_nor_a_number_is_one_sentence(answer):
    with pytest.raises(CourseError, match="a string or a number"):
        digest(answer)
