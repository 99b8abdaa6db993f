"""Progress bars (tqdm) that leave their last line as text in a saved notebook.

In a notebook tqdm draws a widget, and a saved notebook keeps only a reference to that widget, whose
state lived in the kernel: opened again, each bar reads "Error displaying widget: model not found".
So :func:`progress_bar`'s widget, once closed, is replaced in the same output by its final line as
plain text (a bar made with ``leave=False`` disappears, unless it stopped short, e.g. on Ctrl-C).
Outside a notebook it is tqdm's text bar.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm as _auto_tqdm  # the widget bar inside Jupyter, else the text bar
from tqdm.notebook import tqdm as _widget_tqdm
from tqdm.std import tqdm


class _NotebookBar(_widget_tqdm):
    """tqdm's notebook widget, shown under a display id so that ``close`` can replace it with text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, display=False, **kwargs)
        self._output = None
        if not self.disable:
            from IPython.display import display

            self._output = display(self.container, display_id=True)

    def close(self) -> None:
        super().close()
        if self._output is None:
            return
        stopped_short = bool(self.total) and self.n < self.total
        text = self.format_meter(**self.format_dict) if self.leave or stopped_short else ""
        self._output.update({"text/plain": text}, raw=True)
        self._output = None


def progress_bar(iterable: Any = None, **options: Any) -> tqdm:
    """``tqdm(iterable, **options)``; in a notebook, a widget that turns into its last line when closed."""
    if issubclass(_auto_tqdm, _widget_tqdm):
        return _NotebookBar(iterable, **options)
    return _auto_tqdm(iterable, **options)
