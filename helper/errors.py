"""One error type for mistakes a student can fix, shown as one sentence in a notebook."""

from __future__ import annotations

from numbers import Integral, Real


class CourseError(ValueError):
    """A bad parameter or missing file; the message says what is wrong and what to do."""


def is_whole(value: object) -> bool:
    """Whether ``value`` is an integer, Python's or NumPy's, and not a bool (``True`` is no batch size)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number, Python's or NumPy's, and not a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def install_notebook_handler() -> None:
    """Inside IPython, print a :class:`CourseError` as one red line instead of a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: normal tracebacks
        return
    shell = get_ipython()
    if shell is None:
        return

    def _one_line(shell, etype, value, tb, tb_offset=None):  # noqa: ANN001 - IPython's signature
        print(f"\x1b[31m{etype.__name__}: {value}\x1b[0m")
        return None

    shell.set_custom_exc((CourseError,), _one_line)
