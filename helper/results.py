"""A notebook's headline result: written by the notebook, read back by ``make run``.

Both halves live here, so the format has one home; this module imports no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat (through jsonschema) is slow for a notebook's kernel to import
    import nbformat

RESULT_MIME = "application/vnd.cnn-course.result+json"


def record_result(headline: str, **facts: Any) -> None:
    """Show ``headline`` and store it with ``facts`` (data set, device, accuracy, ...) in the output.

    It returns nothing, so that a cell ending with it shows the headline alone; :func:`read_result`
    reads the stored dict back from the executed notebook.
    """
    result = {"headline": headline, **facts}
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display({RESULT_MIME: result, "text/plain": headline}, raw=True)
    else:  # plain Python: IPython's display would print the whole bundle
        print(headline)


def read_result(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The dict that :func:`record_result` displayed in the executed ``nb`` (the last one), or ``{}``."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                found = dict(data[RESULT_MIME])
    return found
