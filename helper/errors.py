"""One error type for mistakes a student can fix, shown as one sentence in a notebook."""

from __future__ import annotations

import re
from numbers import Integral, Real
from typing import TypeGuard

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class CourseError(ValueError):
    """A bad parameter or missing file; the message says what is wrong and what to do."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback (in Jupyter, and in papermill's and nbclient's
        reports of a failed cell): one red line."""
        return [f"\x1b[31m{type(self).__name__}: {self}\x1b[0m"]


def one_line(text: str, limit: int | None = 200) -> str:
    """Collapse ``text`` to a single line without colour codes, shortened to ``limit`` characters (None:
    not shortened)."""
    flat = " ".join(ANSI_ESCAPE.sub("", text).split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


def is_whole(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an integer, Python's or NumPy's, and not a bool (``True`` is no batch size)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a real number, Python's or NumPy's, and not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)
