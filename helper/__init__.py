"""Shared machinery for the "Convolutional networks, part 2" notebooks.

Import the submodules you need, e.g. ``from helper import data, train, plotting``.
Importing the package itself is cheap; inside IPython it also makes :class:`CourseError`
print as one sentence instead of a traceback.
"""

from helper.errors import CourseError, install_notebook_handler

__all__ = ["CourseError"]

install_notebook_handler()
