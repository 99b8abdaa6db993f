"""Instructor and CI tools: running the notebooks, homework copies, benchmarks, refreshing outputs.

Notebooks never import this sub-package, and no module of the student-facing library imports
from it (``tests/test_layout.py`` checks both). One command line reaches every tool::

    python -m helper.tools --help        # or the console script: cnn-course --help
"""
