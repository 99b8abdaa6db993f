"""What an exercise's check compares an answer with when the value itself must stay hidden: its digest.

A check cell shows its code to the student, so ``assert answer == "relu(x)"`` would give the answer away.
Instead it compares digests: ``assert exercises.digest(answer) == "5c0e...", "answer is not ..."``. An
instructor computes the string once, from the solution, with ``digest(the_answer)``.
"""

from __future__ import annotations

import hashlib
from numbers import Integral, Real

from helper.errors import CourseError

DIGITS = 6  # a real number is compared to this many significant digits


def normal_form(value: object, digits: int = DIGITS) -> str:
    """How ``value`` is written before it is hashed: a string stripped, its spaces collapsed, in lower case; a
    whole number as itself; any other real number to ``digits`` significant digits."""
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise CourseError(f"An answer here is a string or a number, not {value!r}.")
    if isinstance(value, Integral):
        return str(int(value))
    return f"{float(value):.{digits}g}"


def digest(value: object, digits: int = DIGITS) -> str:
    """A short fingerprint of ``value`` (16 hex digits of the SHA-256 of its :func:`normal_form`)."""
    return hashlib.sha256(normal_form(value, digits).encode()).hexdigest()[:16]
