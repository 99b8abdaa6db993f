"""Record a notebook's headline result so that ``make run`` can list it."""

from __future__ import annotations

from typing import Any

RESULT_MIME = "application/vnd.cnn-course.result+json"


def record_result(headline: str, **facts: Any) -> dict[str, Any]:
    """Show ``headline`` and store it with ``facts`` (data set, device, accuracy, ...) in the output.

    The runner (``make run``) reads this output from the executed notebook to build its table
    and ``build/results.md``.
    """
    result = {"headline": headline, **facts}
    try:
        from IPython.display import display

        display({RESULT_MIME: result, "text/plain": headline}, raw=True)
    except ImportError:
        print(headline)
    return result
