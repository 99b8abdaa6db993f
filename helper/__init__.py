"""Shared machinery for the "Convolutional networks, part 2" notebooks.

Import the submodules you need, e.g. ``from helper import data, train, plotting``.
Importing the package itself is cheap. Inside IPython a :class:`CourseError` shows as one sentence
instead of a traceback.
"""

from helper.errors import CourseError

__all__ = ["CourseError"]
