"""What every tool shares: finding the lecture notebooks, picking some, and executing one.

``execute`` is the one way a tool runs a notebook: papermill injects the ``MODE`` parameter, nbclient
runs the cells from the notebook's own folder, and each failure is kept as one sentence.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import metadata
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

from helper.errors import CourseError, one_line
from helper.modes import check_mode
from helper.paths import PROJECT_NAME, checkout_root

if TYPE_CHECKING:  # imported where used, so that `python -m helper.tools data` runs without the tools extra
    import nbformat

# The folder the tools work in: the course checkout, or the current folder when the course is installed.
REPO_ROOT = checkout_root() or Path.cwd()
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOK_PATTERN = re.compile(r"^\d{2}_.+\.ipynb$")
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
DIAGRAM_CELL = re.compile(r'plotting\.show_diagram\("(\w+)"\)')
EXPLORER_CELL = re.compile(r"explorers\.(\w+)\(.*\)", re.DOTALL)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _repository() -> str:
    """The course repository's URL: pyproject.toml's [project.urls], from the checkout or, installed, from
    the package's metadata."""
    if checkout_root() is not None:
        with open(REPO_ROOT / "pyproject.toml", "rb") as f:
            return tomllib.load(f)["project"]["urls"]["Repository"]
    urls = metadata(PROJECT_NAME).get_all("Project-URL") or []
    return dict(url.split(", ", 1) for url in urls)["Repository"]


REPOSITORY = _repository()

# The first code cell of every notebook (tests/test_layout.py checks they are all this one): it runs
# before `import helper`. On Colab it clones the course and installs what Colab lacks; elsewhere it says
# in one sentence what to install instead of raising a traceback. Its #@title line is what Colab shows of
# it; SETUP_METADATA collapses it in JupyterLab and makes it a form in Colab.
SETUP_CELL = """\
#@title Set-up: on Colab this fetches the course; elsewhere it says what to install (README.md, "Set-up")
import importlib.util
import sys

REPOSITORY = "@REPOSITORY@"  # pyproject.toml, [project.urls]


class SetupNeeded(Exception):
    def _render_traceback_(self):  # Jupyter shows this one red line instead of a traceback
        return [f"\\x1b[31m{self}\\x1b[0m"]


def set_up_colab(folder="cnn-course"):
    \"\"\"Clone the course, install only what this runtime lacks, and import `helper` from the clone.\"\"\"
    import json, os, re, subprocess  # noqa: E401, I001
    from importlib.metadata import distributions

    def run(*command):
        return subprocess.run(command, capture_output=True, text=True)

    def names(metadata):
        return {re.sub(r"[-_.]+", "-", m["name"] or "").lower() for m in metadata}

    clone = None if os.path.isdir(folder) else run("git", "clone", "-q", "--depth", "1", REPOSITORY, folder)
    if clone and clone.returncode:
        raise SetupNeeded(f"Could not clone {REPOSITORY} ({clone.stderr.strip()}); check the runtime's "
                          "internet connection and run this cell again.")
    present = names(d.metadata for d in distributions())
    pip = run(sys.executable, "-m", "pip", "install", "--quiet", "--report", "-", "-e", folder)
    if pip.returncode:
        raise SetupNeeded(f"pip could not install the course ({' '.join(pip.stderr.split())[-200:]}); "
                          "run this cell again, or see README.md, \\"Google Colab\\".")
    sys.path.insert(0, os.path.abspath(folder))
    installed = names(item["metadata"] for item in json.loads(pip.stdout)["install"])
    if replaced := sorted(installed & present - {"cnn-course"}):
        raise SetupNeeded(f"The course installed newer {', '.join(replaced)} than this runtime had: restart "
                          "the session (Runtime > Restart session) and run the notebook from the top.")
    print(f"The course is set up in {os.path.abspath(folder)}, from {REPOSITORY}.")


if sys.version_info < (3, 11):  # noqa: UP036 - this cell must also run on an old Python
    raise SetupNeeded(f"This kernel runs Python {sys.version_info[0]}.{sys.version_info[1]}; the course "
                      "needs Python 3.11, 3.12, 3.13 or 3.14.")
if importlib.util.find_spec("helper") is None:
    if "google.colab" not in sys.modules:
        raise SetupNeeded("The course package is not installed for this kernel: run  %pip install -e ..  "
                          "in a cell, then restart the kernel.")
    set_up_colab()""".replace("@REPOSITORY@", REPOSITORY)
# The set-up cell's metadata besides its tag: collapsed in JupyterLab, a form (only its title shows) in Colab.
SETUP_METADATA = {"jupyter": {"source_hidden": True}, "cellView": "form"}


# The "Open in Colab" line under each notebook's title (a homework copy drops it: it opens the original).
COLAB_LINE = re.compile(r"^\[Open in Colab\]\(\S+?\).*\n+", re.MULTILINE)


def colab_url(notebook: str) -> str:
    """The address that opens the course notebook ``notebook`` (its file name) from GitHub in Google Colab."""
    github = REPOSITORY.replace("https://github.com/", "https://colab.research.google.com/github/", 1)
    return f"{github}/blob/main/notebooks/{notebook}"


# What nbformat raises for a file that is not a notebook (not JSON, not nbformat's schema, unreadable).
UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)


class NotebookFailed(Exception):
    """A notebook raised while it ran, or its kernel died; the message is one sentence."""


@dataclass
class Executed:
    """An executed notebook and ``{cell index: (exception name, message)}`` for the cells that raised."""

    nb: nbformat.NotebookNode
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)


def lecture_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks ``NN_name.ipynb`` in ``folder``, in lecture order."""
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))


def select(requested: list[str], available: list[Path]) -> list[Path]:
    """Pick notebooks by number (``7``, ``07``), name prefix (``07_vgg``) or path to an ``.ipynb`` file.

    All of ``available`` when nothing is requested.
    """
    if not requested:
        return available
    chosen: list[Path] = []
    for wanted in requested:
        key = Path(wanted).name.removesuffix(".ipynb")
        if wanted.endswith(".ipynb") or os.sep in wanted or "/" in wanted:  # a path, never a name
            path = Path(wanted).expanduser()
            if not path.is_file():
                raise CourseError(f"There is no notebook at {path}; check the path, or give a number or "
                                  "name prefix of a course notebook.")
            matches = [path.resolve()]
        elif key.isdigit():
            matches = [p for p in available if int(p.name[:2]) == int(key)]
        else:
            matches = [p for p in available if p.stem.startswith(key)]
        if not matches:
            names = ", ".join(p.stem for p in available) or "none here"
            raise CourseError(f"No notebook matches {wanted!r}; give a path to an .ipynb file or a number or "
                              f"prefix of: {names}.")
        chosen.extend(p for p in matches if p not in chosen)
    return sorted(chosen, key=lambda p: p.name)


def _unreadable(path: Path, error: Exception, remedy: str = "restore it from git") -> str:
    return f"{path} is not a readable Jupyter notebook ({one_line(str(error), 120)}); {remedy}."


def _parse(read: Callable[[], nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """The notebook ``read()`` returns, checked against nbformat's schema (its reader only warns); a
    schema error, in the reading or the check, becomes a ValueError."""
    import nbformat

    try:
        nb = read()
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise ValueError(error.message) from error
    return nb


def read_notebook(path: Path, remedy: str = "restore it from git") -> nbformat.NotebookNode:
    """The notebook at ``path``; :class:`CourseError` in one sentence, ending in ``remedy``, when it
    cannot be read as one."""
    import nbformat

    try:
        nb = _parse(lambda: nbformat.read(path, as_version=4))
    except UNREADABLE as error:
        raise CourseError(_unreadable(path, error, remedy)) from error
    return nb


def refuse_to_overwrite(out: Path, notebooks: list[Path]) -> None:
    """A sentence when writing ``out / name`` for one of ``notebooks`` would replace that notebook itself."""
    for notebook in notebooks:
        if (out / notebook.name).resolve() == notebook.resolve():
            raise CourseError(f"--out {out} is where {notebook.name} itself lives, and writing there would "
                              "write over it; choose another folder.")


def is_check_cell(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell whose outputs nbval compares (it starts with ``# NBVAL_CHECK_OUTPUT``)."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARKER)


def diagram_of(cell: nbformat.NotebookNode) -> str | None:
    """The diagram a code cell shows when its whole source is ``plotting.show_diagram("NAME")``, else None.

    Such a cell keeps its output in git (and in homework copies), so the diagram shows before the
    notebook runs.
    """
    shown = DIAGRAM_CELL.fullmatch(cell.source.strip()) if cell.cell_type == "code" else None
    return shown.group(1) if shown else None


def explorer_of(cell: nbformat.NotebookNode) -> str | None:
    """The explorer a code cell shows when its whole source is one call ``explorers.NAME(...)``, else None.

    Such a cell keeps the picture of its default state in git (and in homework copies), so the picture
    shows before the notebook runs; see :func:`static_outputs`.
    """
    shown = EXPLORER_CELL.fullmatch(cell.source.strip()) if cell.cell_type == "code" else None
    return shown.group(1) if shown else None


def keeps_picture(cell: nbformat.NotebookNode) -> bool:
    """Whether a code cell's outputs are a picture that shows before the notebook runs (a diagram or an
    explorer's default state)."""
    return diagram_of(cell) is not None or explorer_of(cell) is not None


def static_outputs(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """``outputs`` without the widget view: a reference to a widget of the kernel that ran the notebook,
    which a page without that kernel would show as "Error displaying widget: model not found", where the
    picture and the text beside it read well."""
    for output in outputs:
        output.get("data", {}).pop(WIDGET_VIEW, None)
    return outputs


def error_sentence(ename: str, evalue: str) -> str:
    """One sentence for a cell's error."""
    return one_line(f"{ename}: {evalue}" if evalue else ename)


class _Interrupted(Exception):
    """Ctrl-C came while a notebook ran: no further cell is started."""


@cache
def _client_class() -> type:
    """nbclient's ``NotebookClient``, with Ctrl-C passed on to the kernel instead of killing it.

    nbclient's own SIGINT handler shuts the kernel down under the running cell, which then fails with
    an unrelated error. Here the first Ctrl-C interrupts the kernel (a cell in ``fit`` stops after
    saving its checkpoint) and no further cell starts; a second one shuts the kernel down at once.
    """
    from nbclient import NotebookClient
    from nbclient.util import ensure_async

    class InterruptibleClient(NotebookClient):
        interrupted = False

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            # nbclient installed its handler just before this; this one replaces it for this run
            with suppress(NotImplementedError, RuntimeError):  # Windows, or not the main thread
                asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)
            await super().async_start_new_kernel(**kwargs)

        def _on_sigint(self) -> None:
            again, self.interrupted = self.interrupted, True
            if self.km is not None:
                stop = self.km.shutdown_kernel(now=True) if again else self.km.interrupt_kernel()
                self._stopping = asyncio.ensure_future(ensure_async(stop))

        async def async_execute_cell(self, *args: Any, **kwargs: Any) -> Any:
            if self.interrupted:
                raise _Interrupted
            return await super().async_execute_cell(*args, **kwargs)

    return InterruptibleClient


def _write_output(nb: nbformat.NotebookNode, output: Path) -> str | None:
    """Write the executed notebook to ``output``; None, or a sentence when it cannot be written."""
    import nbformat

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, output)
    except OSError as error:
        return (f"Could not write {output} ({error.strerror or error}); free some disk space or choose "
                "another output folder.")
    return None


@contextmanager
def _kernel_sockets() -> Iterator[Any]:
    """The kernel's transport: on Linux and macOS, Unix sockets in a folder of its own (removed afterwards).

    Over TCP, jupyter_client picks free ports and the kernel binds them a moment later; a kernel or server
    started meanwhile by another process (parallel tests, a lab) can take one, and the kernel then dies
    with "Address already in use". A socket file cannot be taken that way. Windows has no such sockets, so
    there the kernel keeps TCP.
    """
    from traitlets.config import Config

    if os.name == "nt":
        yield Config()
        return
    with TemporaryDirectory(prefix="course-kernel-") as folder:
        yield Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "kernel")}})


# The error a cell that ran past its ``cell_timeout`` gets (the kernel is interrupted and the run goes on).
TIMED_OUT = "CellTimeout"


def execute(path: Path, mode: str | None = None, *, output: Path | None = None, allow_errors: bool = False,
            timeout: int = 1200, cell_timeout: Callable[[nbformat.NotebookNode], int] | None = None,
            on_cell_done: Callable[[Executed, int], None] | None = None) -> Executed:
    """Run the notebook at ``path`` top to bottom, from its folder, with ``MODE=mode`` (None: its default).

    With ``allow_errors`` every cell runs and the errors are returned; otherwise the first error stops
    the run and raises :class:`NotebookFailed` in one sentence. ``output``, when given, receives the
    executed notebook either way. ``cell_timeout(cell)``, when given, is each cell's limit in seconds
    instead of ``timeout``; a cell past it is interrupted, gets the error :data:`TIMED_OUT`, and the run
    goes on. ``on_cell_done(executed, index)`` is called after each code cell, its error already recorded.
    Ctrl-C stops the notebook and raises ``KeyboardInterrupt``.
    """
    from nbclient.exceptions import CellExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    try:
        nb = _parse(lambda: load_notebook_node(str(path)))  # nbformat's reader, plus papermill's metadata
    except UNREADABLE as error:
        raise NotebookFailed(_unreadable(path, error)) from error
    if mode is not None:
        check_mode(mode)
        nb = parameterize_notebook(nb, {"MODE": mode}, kernel_name="python3", language="python")
    executed = Executed(nb)

    def remember(cell: Any, cell_index: int, execute_reply: dict[str, Any] | None) -> None:
        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error":
            executed.errors[cell_index] = (content.get("ename", "Error"), content.get("evalue", ""))
        if on_cell_done is not None:
            on_cell_done(executed, cell_index)

    limits: dict[str, Any] = {}
    if cell_timeout is not None:
        limits = dict(timeout_func=cell_timeout, interrupt_on_timeout=True,
                      error_on_timeout={"ename": TIMED_OUT, "evalue": "", "traceback": []})
    failure: Exception | None = None
    with _kernel_sockets() as sockets:
        client = _client_class()(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                                 **limits, record_timing=False, on_cell_executed=remember,
                                 shutdown_kernel="immediate", config=sockets,
                                 # the kernel's own log lines (transport warnings, interrupts) are noise
                                 extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                                 resources={"metadata": {"path": str(Path(path).resolve().parent)}})
        try:
            client.execute()
        except Exception as raised:  # noqa: BLE001 - a failed cell, a dead kernel or a timeout: one sentence
            failure = raised
        finally:  # also when Ctrl-C comes on Windows, where nbclient cannot handle it
            unwritten = _write_output(nb, output) if output is not None else None
    if client.interrupted:
        raise KeyboardInterrupt
    if isinstance(failure, CellExecutionError) and executed.errors:
        index = max(executed.errors)
        raise NotebookFailed(error_sentence(*executed.errors[index]))
    if failure is not None:  # a cell that ran past the timeout, or a kernel that died
        raise NotebookFailed(one_line(f"{type(failure).__name__}: {failure}"))
    if unwritten is not None:
        raise NotebookFailed(unwritten)
    return executed
