"""What every explorer shares: controls, a line of numbers and a picture that is redrawn on every change.

An explorer is built from ipywidgets' core controls (sliders, drop-downs, check boxes), which both Jupyter
front ends render without any code of ours: JupyterLab 4 and Notebook 7 with ipywidgets 8, and Google Colab
with its preinstalled ipywidgets 7.7. anywidget would need a JavaScript view of our own; with the core
controls every number and picture is computed in Python, by the same functions the notebooks teach with.

Shown in a notebook, an explorer's output carries its current picture as a PNG next to the widget. A page
that cannot run widgets (GitHub, Colab before running, the course website, a notebook opened without a
kernel) shows that picture: ``python -m helper.tools refresh`` commits the default picture and drops the
widget's reference, which only means something while the kernel that made it runs.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from helper.errors import CourseError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PICTURE_DPI = 80


@dataclass(frozen=True)
class Frame:
    """One state of an explorer: its picture, its numbers as a one-line summary and as HTML."""

    figure: Figure
    summary: str  # plain text: what a page without widgets shows under the picture
    details: str = ""  # HTML shown above the picture; each number in it made by value_html
    values: Mapping[str, int] = field(default_factory=dict)  # those numbers, by name


def png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes (the figure is not shown and not kept by pyplot)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PICTURE_DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def value_html(name: str, value: int, text: str | None = None) -> str:
    """A shown number as HTML, marked so that a test can read it: ``data-name`` and ``data-value`` (the
    plain integer); ``text`` is how it reads (default: with thousands separators)."""
    return (f'<b class="explorer-value" data-name="{html.escape(name)}" data-value="{value}">'
            f'{html.escape(text if text is not None else f"{value:,}")}</b>')


def problem(message: str) -> str:
    """HTML for the one sentence that says why a setting is impossible."""
    return f'<p class="explorer-problem" style="color:#b00020">{html.escape(message)}</p>'


# What a change of one control sets in others before the redraw: follow(controls, name, old, new)
Follow = Callable[[dict[str, widgets.ValueWidget], str, Any, Any], None]


class Explorer:
    """Controls, the numbers they give and a picture; ``render`` turns the controls' values into a Frame.

    ``render`` may raise :class:`CourseError` for an impossible setting: the explorer then shows that
    sentence and ``problem_picture(settings)``'s picture instead. ``follow``, if given, is called when a
    control changes, before the redraw, to set other controls to match (a preset's widths, a slider's
    range); what it sets causes no redraw of its own, so the picture is drawn once, consistently.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 render: Callable[[dict[str, Any]], Frame],
                 problem_picture: Callable[[dict[str, Any], str], Figure],
                 follow: Follow | None = None) -> None:
        self.controls = dict(controls)
        self._render = render
        self._problem_picture = problem_picture
        self._follow = follow
        self._following = False
        self.numbers = widgets.HTML()
        self.numbers.add_class("explorer-numbers")
        self.picture = widgets.Image(format="png")
        self.picture.add_class("explorer-picture")
        self.values: dict[str, int] = {}
        self.summary = ""
        for control in self.controls.values():
            control.style = {"description_width": "initial"}
            control.observe(self.redraw, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values()),
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.numbers, self.picture])
        self.widget.add_class("course-explorer")
        self.redraw()

    def settings(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> Explorer:
        """Set controls by name, as a student would move them (each change redraws); returns the explorer."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise CourseError(f"This explorer has no control {', '.join(unknown)}; its controls are "
                              f"{', '.join(self.controls)}.")
        for name, value in values.items():
            self.controls[name].value = value
        return self

    def redraw(self, change: dict[str, Any] | None = None) -> None:
        """Compute the numbers and the picture for the current settings (after ``follow``, for a change)."""
        if self._following:
            return
        if change is not None and self._follow is not None:
            [name] = [key for key, control in self.controls.items() if control is change["owner"]]
            self._following = True
            try:
                self._follow(self.controls, name, change["old"], change["new"])
            finally:
                self._following = False
        settings = self.settings()
        try:
            frame = self._render(settings)
        except CourseError as error:
            frame = Frame(self._problem_picture(settings, str(error)), summary=str(error),
                          details=problem(str(error)))
        self.values = dict(frame.values)
        self.summary = frame.summary
        self.numbers.value = frame.details or html.escape(frame.summary)
        self.picture.value = png(frame.figure)

    @property
    def picture_bytes(self) -> bytes:
        """The current picture as PNG bytes (ipywidgets 8 holds them as a memoryview, 7 as bytes)."""
        return bytes(self.picture.value)

    def mime_bundle(self) -> dict[str, Any]:
        """The live widget, with the current picture and summary for pages that cannot show it."""
        view = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
        return {WIDGET_VIEW: view, "image/png": base64.b64encode(self.picture_bytes).decode("ascii"),
                "text/plain": self.summary}

    def _ipython_display_(self) -> None:
        """Show the explorer (ipywidgets 7 and 8 alike: a raw bundle, as helper.progress shows its bars)."""
        from IPython.display import display

        display(self.mime_bundle(), raw=True)
