"""Execute the lecture notebooks in order and summarise their headline results.

    python -m helper.tools run --mode lecture --out build            # every notebooks/NN_*.ipynb
    python -m helper.tools run --mode smoke --out build 03 07_vgg    # only those numbers / name prefixes
    python -m helper.tools run ~/homework/03_simple_cnn.ipynb        # any notebook file

Each notebook is executed (parameter ``MODE``) into ``OUT/NN_name.ipynb`` and rendered
to ``OUT/NN_name.html``. The runner prints one line per notebook (status, seconds, headline) and
updates ``OUT/results.md``, a table per mode for the instructor's slide: the notebooks it ran get new
rows, the rows of the others stay. A failing notebook is reported in one sentence and the run goes on;
the exit status is 1 when any notebook failed and 2 for a bad request.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helper.errors import CourseError
from helper.modes import check_mode
from helper.results import read_result
from helper.tools.notebooks import (
    NOTEBOOK_DIR,
    NotebookFailed,
    execute,
    lecture_notebooks,
    one_line,
    select,
)


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


def run_one(notebook: Path, out: Path, mode: str) -> Outcome:
    """Execute and render one notebook; a failure becomes an :class:`Outcome` instead of an exception."""
    target = out / notebook.name
    start = time.monotonic()
    try:
        nb = execute(notebook, mode, output=target).nb
    except NotebookFailed as failure:
        seconds = time.monotonic() - start
        if target.exists():
            render_html(target)
        return Outcome(notebook.stem, False, seconds, str(failure), {})
    seconds = time.monotonic() - start
    render_html(target)
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


def _tables(text: str) -> dict[str, dict[str, str]]:
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
    tables = _tables(previous)
    tables.setdefault(mode, {}).update({o.name: _row(o) for o in outcomes})
    return "\n".join(_table(name, [rows[key] for key in sorted(rows)]) for name, rows in tables.items())


def print_row(name: str, status: str, seconds: str, headline: str, width: int) -> None:
    print(f"{name:<{width}}  {status:<6}  {seconds:>7}  {headline}", flush=True)


def run(notebooks: list[Path], out: Path, mode: str) -> list[Outcome]:
    """Execute ``notebooks`` in order, printing a row as each finishes, and update ``out/results.md``."""
    out.mkdir(parents=True, exist_ok=True)
    width = max([len("notebook")] + [len(p.stem) for p in notebooks])
    print_row("notebook", "status", "seconds", "headline", width)
    outcomes = []
    for notebook in notebooks:
        outcome = run_one(notebook, out, mode)
        outcomes.append(outcome)
        print_row(outcome.name, "ok" if outcome.ok else "FAILED", f"{outcome.seconds:.1f}", outcome.message,
                  width)
    table = out / "results.md"
    previous = table.read_text(encoding="utf-8") if table.is_file() else ""
    table.write_text(update_results(previous, outcomes, mode), encoding="utf-8")
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
