"""Turn a notebook's ``MODE`` parameter into the settings for that mode (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from helper.errors import CourseError

MODES = ("lecture", "full", "smoke")


def check_mode(mode: str) -> None:
    """Raise :class:`CourseError` in one sentence unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise CourseError(f"MODE must be one of {', '.join(map(repr, MODES))}; got {mode!r}.")


@dataclass(frozen=True)
class Recipe:
    """What full mode adds to a training notebook, the same for every one (``helper.train.full_recipe``
    builds it for a registered model): random crops and flips (``augment``), flip test-time
    augmentation (``flip_tta``), and ``fit``'s ``precision``, ``channels_last``, weight average
    (``ema_decay``) and a checkpoint per run in ``checkpoint_dir``."""

    precision: str
    channels_last: bool
    ema_decay: float | None
    checkpoint_dir: Path
    augment: bool = True
    flip_tta: bool = True


class FitOptions:
    """``cfg.fit``: called with a run's name, the keywords full mode adds to ``train.fit`` for it
    (none in lecture and smoke mode), as in ``train.fit(..., **cfg.fit("07_vgg16"))``."""

    def __init__(self, recipe: Recipe | None) -> None:
        self.recipe = recipe

    def __call__(self, run: str, model: str | None = None) -> dict[str, Any]:
        """``model``, a key of :data:`helper.models.CIFAR_MODELS`, takes that entry's precision instead
        of the recipe's, for a notebook that trains several registered models (notebook 14)."""
        if self.recipe is None:
            return {}
        precision = self.recipe.precision
        if model is not None:
            from helper.models import registered  # only here: the settings need no torch

            precision = registered(model).precision
        return dict(precision=precision, channels_last=self.recipe.channels_last,
                    ema_decay=self.recipe.ema_decay, checkpoint=self.recipe.checkpoint_dir / f"{run}.pt")

    def __repr__(self) -> str:
        return f"FitOptions({self.recipe!r})"


RECIPE_KEYS = ("augment", "flip_tta", "fit")


def pick(
    mode: str,
    *,
    lecture: dict[str, Any],
    full: dict[str, Any],
    smoke: dict[str, Any] | None = None,
    recipe: Recipe | None = None,
) -> SimpleNamespace:
    """Return the settings for ``mode`` as attributes.

    ``lecture`` fits a laptop CPU in under a minute, ``full`` is sized for a GPU, and ``smoke``
    (used by CI) is ``lecture`` with the entries of ``smoke`` replaced, to be smaller still. With a
    full-mode ``recipe`` the settings also hold ``augment``, ``flip_tta`` and ``fit`` (see
    :class:`FitOptions`): the recipe's in full mode, plain training otherwise.
    """
    check_mode(mode)
    named = sorted(set(RECIPE_KEYS) & (set(lecture) | set(full)))
    if recipe is not None and named:
        raise CourseError(f"The recipe sets {', '.join(named)}; leave {'them' if len(named) > 1 else 'it'} "
                          "out of the lecture and full settings.")
    if set(full) != set(lecture):
        raise CourseError("The lecture and full settings must name the same keys.")
    unknown = sorted(set(smoke or {}) - set(lecture))
    if unknown:
        raise CourseError(f"The smoke settings may only replace lecture settings; {', '.join(unknown)} "
                          "is not one (a typo?).")
    if "mode" in lecture:
        raise CourseError("A setting cannot be called 'mode': cfg.mode already holds MODE.")
    chosen = {"lecture": lecture, "full": full, "smoke": {**lecture, **(smoke or {})}}[mode]
    if recipe is not None:
        used = recipe if mode == "full" else None
        chosen = {**chosen, "augment": used is not None and used.augment,
                  "flip_tta": used is not None and used.flip_tta, "fit": FitOptions(used)}
    return SimpleNamespace(mode=mode, **chosen)
