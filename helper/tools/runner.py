"""Execute the lecture notebooks in order and summarise their headline results.

    python -m helper.tools run --mode lecture --out build            # every notebooks/NN_*.ipynb
    python -m helper.tools run --mode smoke --out build 03 07_vgg    # only those numbers / name prefixes
    python -m helper.tools run ~/homework/03_simple_cnn.ipynb        # any notebook file

Each notebook is executed (parameter ``MODE``) into ``OUT/NN_name.ipynb`` and rendered
to ``OUT/NN_name.html``. The runner prints one line per notebook (status, seconds, headline) and
updates ``OUT/results.md``, a table per mode for the instructor's slide: the notebooks it ran get new
rows, the rows of the others stay. A failing notebook is reported in one sentence and the run goes on;
the exit status is 1 when any notebook failed and 2 for a bad request. Ctrl-C stops the run: the notebook
it interrupted is reported, the table is updated with the others, and the exit status is 130.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helper.errors import CourseError
from helper.modes import check_mode
from helper.results import read_result
from helper.tools.notebooks import (
    NOTEBOOK_DIR,
    UNREADABLE,
    NotebookFailed,
    execute,
    lecture_notebooks,
    one_line,
    refuse_to_overwrite,
    select,
)

INTERRUPTED = "interrupted (Ctrl-C); the notebooks after it were not run"


@dataclass
class Outcome:
    """What happened when the runner executed one notebook."""

    name: str
    ok: bool
    seconds: float
    message: str
    result: dict[str, Any]


def render_html(notebook: Path) -> Path:
    """Write ``notebook`` next to itself as HTML and return the HTML path."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def _render(notebook: Path) -> str | None:
    """Render ``notebook`` as HTML beside it; None, or a sentence when that cannot be written."""
    try:
        render_html(notebook)
    except OSError as error:
        return (f"Could not write {notebook.with_suffix('.html')} ({error.strerror or error}); free some "
                "disk space or choose another --out folder.")
    except UNREADABLE as error:
        return f"Could not render {notebook} as HTML ({one_line(str(error), 120)})."
    return None


def run_one(notebook: Path, out: Path, mode: str) -> Outcome:
    """Execute and render one notebook; a failure becomes an :class:`Outcome` instead of an exception."""
    target = out / notebook.name
    start = time.monotonic()
    try:
        nb = execute(notebook, mode, output=target).nb
    except NotebookFailed as failure:
        seconds = time.monotonic() - start
        unrendered = _render(target) if target.exists() else None
        return Outcome(notebook.stem, False, seconds, str(failure) if unrendered is None else unrendered, {})
    seconds = time.monotonic() - start
    unrendered = _render(target)
    if unrendered is not None:
        return Outcome(notebook.stem, False, seconds, unrendered, {})
    result = read_result(nb)
    headline = result.get("headline", "(no result recorded)")
    return Outcome(notebook.stem, True, seconds, one_line(str(headline)), result)


def _dataset(result: dict[str, Any]) -> str:
    name = str(result.get("dataset", "-"))
    return f"{name} (offline fallback)" if result.get("fell_back") else name


def _accuracy(value: Any) -> str:
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if value <= 1 else f"{value:.1f}%"
    return "-" if value is None else str(value)


TABLE_HEADER = ["| notebook | data set | device | epochs | test accuracy | seconds | headline |",
                "|---|---|---|---|---|---:|---|"]
TITLE = re.compile(r"^Results of `make run MODE=(\w+)`$")


def _row(o: Outcome) -> str:
    if o.ok:
        r = o.result
        cells = [o.name, _dataset(r), str(r.get("device", "-")), str(r.get("epochs", "-")),
                 _accuracy(r.get("test_accuracy"))]
    else:
        cells = [o.name, f"FAILED: {o.message}", "-", "-", "-"]
    cells += [f"{o.seconds:.0f}", o.message if o.ok else "-"]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def _table(mode: str, rows: list[str]) -> str:
    """The slide table: notebook, data set actually used, device, epochs, test accuracy, seconds, headline."""
    return "\n".join([f"Results of `make run MODE={mode}`", "", *TABLE_HEADER, *rows]) + "\n"


def result_tables(text: str) -> dict[str, dict[str, str]]:
    """The rows of a results file, ``{mode: {notebook: row}}``, in the file's order."""
    tables: dict[str, dict[str, str]] = {}
    rows = None
    for line in text.splitlines():
        if title := TITLE.match(line):
            rows = tables.setdefault(title.group(1), {})
        elif rows is not None and line.startswith("| ") and line not in TABLE_HEADER:
            rows[line[2:].split(" | ", 1)[0]] = line
    return tables


def update_results(previous: str, outcomes: list[Outcome], mode: str) -> str:
    """``previous`` (a results file, or "") with the rows of ``outcomes`` put into ``mode``'s table:
    a notebook that ran again gets its new row, every other row stays; rows in notebook order."""
    tables = result_tables(previous)
    tables.setdefault(mode, {}).update({o.name: _row(o) for o in outcomes})
    return "\n".join(_table(name, [rows[key] for key in sorted(rows)]) for name, rows in tables.items())


def print_row(name: str, status: str, seconds: str, headline: str, width: int) -> None:
    print(f"{name:<{width}}  {status:<6}  {seconds:>7}  {headline}", flush=True)


def run(notebooks: list[Path], out: Path, mode: str) -> list[Outcome]:
    """Execute ``notebooks`` in order, printing a row as each finishes, and update ``out/results.md``.

    Ctrl-C ends the run after the notebook it interrupted. When the table cannot be written it is printed,
    and :class:`CourseError` says why.
    """
    out.mkdir(parents=True, exist_ok=True)
    width = max([len("notebook")] + [len(p.stem) for p in notebooks])
    print_row("notebook", "status", "seconds", "headline", width)
    outcomes = []
    for notebook in notebooks:
        start = time.monotonic()
        try:
            outcome = run_one(notebook, out, mode)
        except KeyboardInterrupt:
            outcome = Outcome(notebook.stem, False, time.monotonic() - start, INTERRUPTED, {})
        outcomes.append(outcome)
        status = "ok" if outcome.ok else "interrupted" if outcome.message == INTERRUPTED else "FAILED"
        print_row(outcome.name, status, f"{outcome.seconds:.1f}", outcome.message, width)
        if outcome.message == INTERRUPTED:
            break
    failed = sum(not o.ok for o in outcomes)
    path = out / "results.md"
    try:
        previous = path.read_text(encoding="utf-8") if path.is_file() else ""
        table = update_results(previous, outcomes, mode)
        path.write_text(table, encoding="utf-8")
    except OSError as error:
        print(update_results("", outcomes, mode), end="")
        raise CourseError(f"Could not write {path} ({error.strerror or error}); the table is above: free "
                          "some disk space or choose another --out folder.") from error
    print(f"{len(outcomes) - failed} of {len(outcomes)} notebooks ran; table in {out / 'results.md'}")
    return outcomes


def check_out(out: Path, notebooks: list[Path]) -> None:
    """A sentence unless ``out`` is a folder this user can write into that holds none of ``notebooks``."""
    refuse_to_overwrite(out, notebooks)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except (FileExistsError, NotADirectoryError) as error:
        raise CourseError(f"--out {out} is a file or lies under one; give a folder (the default is build)."
                          ) from error
    except OSError as error:
        raise CourseError(f"Cannot write into --out {out} ({error.strerror or error}); choose a folder you "
                          "can write to.") from error


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
        check_out(args.out, chosen)
    except CourseError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        outcomes = run(chosen, args.out, args.mode)
    except CourseError as error:
        print(error, file=sys.stderr)
        return 1
    if outcomes[-1].message == INTERRUPTED:
        return 130  # as a shell reports a command that Ctrl-C stopped
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
