"""Interactive explorers for the ideas students find hardest, one per notebook that teaches them.

    from helper import explorers
    explorers.output_size()          # notebook 01: input, padding, kernel positions and the output size
    explorers.receptive_field()      # notebook 07: the input pixels one output of a VGG-16 layer sees
    explorers.inception_budget()     # notebook 13: an Inception module's cost with and without 1x1 reductions

Each returns an :class:`~helper.explorers.base.Explorer`: ipywidgets controls whose numbers and picture
follow every change, and whose default picture a page without widgets shows (see ``base``).
"""

from helper.explorers.base import Explorer, Frame
from helper.explorers.inception_budget import inception_budget
from helper.explorers.output_size import output_size
from helper.explorers.receptive_field import receptive_field

__all__ = ["Explorer", "Frame", "inception_budget", "output_size", "receptive_field"]
