"""Execute the lecture notebooks in order and summarise their headline results.

    python -m helper.runner --mode lecture --out build            # every notebooks/NN_*.ipynb
    python -m helper.runner --mode smoke --out build 03 07_resnet  # only those numbers / name prefixes

Each notebook is executed with papermill (parameter ``MODE``) into ``OUT/NN_name.ipynb`` and rendered
to ``OUT/NN_name.html``. The runner prints one line per notebook (status, seconds, headline) and writes
``OUT/results.md``, a table for the instructor's slide. A failing notebook is reported in one sentence
and the run goes on; the exit status is 1 when any notebook failed and 2 for a bad request.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from helper.errors import CourseError
from helper.modes import check_mode
from helper.report import RESULT_MIME

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOK_PATTERN = re.compile(r"^\d{2}_.+\.ipynb$")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class NotebookFailed(Exception):
    """A notebook raised while it ran; the message is one sentence naming the error."""


@dataclass
class Outcome:
    """What happened when the runner executed one notebook."""

    name: str
    ok: bool
    seconds: float
    message: str
    result: dict[str, Any]


def lecture_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks ``NN_name.ipynb`` in ``folder``, in lecture order."""
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))


def select(requested: list[str], available: list[Path]) -> list[Path]:
    """Pick notebooks by number (``7``, ``07``) or name prefix (``07_res``); all when none requested."""
    if not requested:
        return available
    chosen: list[Path] = []
    for wanted in requested:
        key = Path(wanted).name.removesuffix(".ipynb")
        if key.isdigit():
            matches = [p for p in available if int(p.name[:2]) == int(key)]
        else:
            matches = [p for p in available if p.stem.startswith(key)]
        if not matches:
            names = ", ".join(p.stem for p in available) or "none yet"
            raise CourseError(f"No notebook matches {wanted!r}; choose a number or prefix of: {names}.")
        chosen.extend(p for p in matches if p not in chosen)
    return sorted(chosen)


def one_line(text: str, limit: int = 200) -> str:
    """Collapse ``text`` to a single line without colour codes, shortened to ``limit`` characters."""
    flat = " ".join(ANSI_ESCAPE.sub("", text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _failure_sentence(error: Exception, output: Path) -> str:
    """One sentence for a failed run: the exception's name and message, never a traceback."""
    ename = getattr(error, "ename", None)
    if ename is None:
        return one_line(f"{type(error).__name__}: {error}")
    evalue = getattr(error, "evalue", "")
    if not evalue and output.exists():
        # A CourseError is printed by helper's handler as one line instead of an error output.
        cells = nbformat.read(output, as_version=4).cells
        failed = [c for c in cells if c.metadata.get("papermill", {}).get("exception")]
        outputs = failed[0].get("outputs", []) if failed else []
        printed = [o.get("text", "") for o in outputs if o.output_type == "stream"]
        lines = [line for line in "".join(printed).splitlines() if line.strip()]
        return one_line(lines[-1]) if lines else one_line(ename)
    return one_line(f"{ename}: {evalue}")


def execute(notebook: Path, output: Path, mode: str, timeout: int = 1200) -> nbformat.NotebookNode:
    """Execute ``notebook`` with papermill and ``MODE=mode`` into ``output`` (cwd: the notebook's folder).

    Raises :class:`NotebookFailed` with one sentence when a cell raises or the kernel dies.
    """
    import papermill

    check_mode(mode)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        return papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters={"MODE": mode},
            kernel_name="python3",
            cwd=str(notebook.parent),
            progress_bar=False,
            execution_timeout=timeout,
            # the kernel's own log lines (transport warnings, interrupts) are noise in the table
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except Exception as error:  # noqa: BLE001 - every failure becomes one sentence for the table
        raise NotebookFailed(_failure_sentence(error, output)) from error


def recorded_result(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The dict that ``helper.report.record_result`` displayed in ``nb`` (the last one), or ``{}``."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                found = dict(data[RESULT_MIME])
    return found


def render_html(notebook: Path) -> Path:
    """Write ``notebook`` next to itself as HTML and return the HTML path."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def run_one(notebook: Path, out: Path, mode: str) -> Outcome:
    """Execute and render one notebook; a failure becomes an :class:`Outcome` instead of an exception."""
    target = out / notebook.name
    start = time.monotonic()
    try:
        nb = execute(notebook, target, mode)
    except NotebookFailed as failure:
        seconds = time.monotonic() - start
        if target.exists():
            render_html(target)
        return Outcome(notebook.stem, False, seconds, str(failure), {})
    seconds = time.monotonic() - start
    render_html(target)
    result = recorded_result(nb)
    headline = result.get("headline", "(no result recorded)")
    return Outcome(notebook.stem, True, seconds, one_line(str(headline)), result)


def _dataset(result: dict[str, Any]) -> str:
    name = str(result.get("dataset", "-"))
    return f"{name} (offline fallback)" if result.get("fell_back") else name


def _accuracy(value: Any) -> str:
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if value <= 1 else f"{value:.1f}%"
    return "-" if value is None else str(value)


def results_markdown(outcomes: list[Outcome], mode: str) -> str:
    """The slide table: notebook, data set actually used, device, epochs, test accuracy, seconds, headline."""
    lines = [
        f"Results of `make run MODE={mode}`",
        "",
        "| notebook | data set | device | epochs | test accuracy | seconds | headline |",
        "|---|---|---|---|---|---:|---|",
    ]
    for o in outcomes:
        if o.ok:
            r = o.result
            cells = [o.name, _dataset(r), str(r.get("device", "-")), str(r.get("epochs", "-")),
                     _accuracy(r.get("test_accuracy"))]
        else:
            cells = [o.name, f"FAILED: {o.message}", "-", "-", "-"]
        cells += [f"{o.seconds:.0f}", o.message if o.ok else "-"]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def print_row(name: str, status: str, seconds: str, headline: str, width: int) -> None:
    print(f"{name:<{width}}  {status:<6}  {seconds:>7}  {headline}", flush=True)


def run(notebooks: list[Path], out: Path, mode: str) -> list[Outcome]:
    """Execute ``notebooks`` in order, printing a row as each finishes, and write ``out/results.md``."""
    out.mkdir(parents=True, exist_ok=True)
    width = max([len("notebook")] + [len(p.stem) for p in notebooks])
    print_row("notebook", "status", "seconds", "headline", width)
    outcomes = []
    for notebook in notebooks:
        outcome = run_one(notebook, out, mode)
        outcomes.append(outcome)
        print_row(outcome.name, "ok" if outcome.ok else "FAILED", f"{outcome.seconds:.1f}", outcome.message,
                  width)
    (out / "results.md").write_text(results_markdown(outcomes, mode), encoding="utf-8")
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes) - failed} of {len(outcomes)} notebooks ran; table in {out / 'results.md'}")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="lecture", help="lecture, full or smoke")
    parser.add_argument("--out", type=Path, default=Path("build"), help="folder for executed notebooks")
    parser.add_argument("notebooks", nargs="*", help="numbers or name prefixes; all when none")
    args = parser.parse_args(argv)
    try:
        check_mode(args.mode)
        chosen = select(args.notebooks, lecture_notebooks(NOTEBOOK_DIR))
        if not chosen:
            raise CourseError(f"There are no notebooks NN_name.ipynb in {NOTEBOOK_DIR} yet.")
    except CourseError as error:
        print(error, file=sys.stderr)
        return 2
    outcomes = run(chosen, args.out, args.mode)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
