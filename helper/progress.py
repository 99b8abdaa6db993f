"""Progress bars (tqdm) that leave their last line as text in a saved notebook.

In a notebook tqdm draws a widget, and a saved notebook keeps only a reference to that widget, whose
state lived in the kernel: opened again, each bar reads "Error displaying widget: model not found".
So :func:`progress_bar`'s widget, once closed, is replaced in the same output by its final line as
plain text (a bar made with ``leave=False`` disappears, unless it stopped short, e.g. on Ctrl-C).
Outside a notebook it is tqdm's text bar.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from tqdm.auto import tqdm as _auto_tqdm  # the widget bar inside Jupyter, else the text bar
from tqdm.std import tqdm


@cache
def _notebook_bar() -> type[tqdm]:
    """tqdm's notebook widget, shown under a display id so that ``close`` can replace it with text
    (imported here, so that outside a notebook ipywidgets is not)."""
    from tqdm.notebook import tqdm as widget_tqdm

    class NotebookBar(widget_tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, display=False, **kwargs)
            self._output = None
            if not self.disable:
                from IPython.display import display

                # the widget's view as raw data: ipywidgets 7 (Colab's) displays a widget itself and
                # would ignore the display id, which close() needs
                view = {"version_major": 2, "version_minor": 0, "model_id": self.container.model_id}
                bundle = {"application/vnd.jupyter.widget-view+json": view, "text/plain": str(self)}
                self._output = display(bundle, raw=True, display_id=True)

        def close(self) -> None:
            super().close()
            if self._output is None:
                return
            stopped_short = bool(self.total) and self.n < self.total
            text = self.format_meter(**self.format_dict) if self.leave or stopped_short else ""
            self._output.update({"text/plain": text}, raw=True)
            self._output = None

    return NotebookBar


def progress_bar(iterable: Any = None, **options: Any) -> tqdm:
    """``tqdm(iterable, **options)``; in a notebook, a widget that turns into its last line when closed."""
    widgets = sys.modules.get("tqdm.notebook")  # tqdm.auto imports it only inside Jupyter
    if widgets is not None and issubclass(_auto_tqdm, widgets.tqdm):
        return _notebook_bar()(iterable, **options)
    return _auto_tqdm(iterable, **options)
