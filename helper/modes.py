"""Turn a notebook's ``MODE`` parameter into the settings for that mode."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from helper.errors import CourseError

MODES = ("lecture", "full", "smoke")


def check_mode(mode: str) -> None:
    """Raise :class:`CourseError` in one sentence unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise CourseError(f"MODE must be one of {', '.join(map(repr, MODES))}; got {mode!r}.")


def pick(
    mode: str,
    *,
    lecture: dict[str, Any],
    full: dict[str, Any],
    smoke: dict[str, Any] | None = None,
) -> SimpleNamespace:
    """Return the settings for ``mode`` as attributes.

    ``lecture`` fits a laptop CPU in under a minute, ``full`` is sized for a GPU, and ``smoke``
    (used by CI) is ``lecture`` with the entries of ``smoke`` replaced, to be smaller still.
    """
    check_mode(mode)
    if set(full) != set(lecture):
        raise CourseError("The lecture and full settings must name the same keys.")
    unknown = sorted(set(smoke or {}) - set(lecture))
    if unknown:
        raise CourseError(f"The smoke settings may only replace lecture settings; {', '.join(unknown)} "
                          "is not one (a typo?).")
    if "mode" in lecture:
        raise CourseError("A setting cannot be called 'mode': cfg.mode already holds MODE.")
    chosen = {"lecture": lecture, "full": full, "smoke": {**lecture, **(smoke or {})}}[mode]
    return SimpleNamespace(mode=mode, **chosen)
