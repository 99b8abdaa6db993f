"""Maintainer tool: execute notebooks and keep only their deterministic reference outputs.

    python -m helper.tools refresh 01 07        # or paths: notebooks/01_padding_and_output_size.ipynb

Cells whose source starts with ``# NBVAL_CHECK_OUTPUT`` keep their outputs (nbval re-checks
them), and so do the cells that show a diagram (``plotting.show_diagram("NAME")``) or an explorer
(``explorers.NAME()``, its default picture without the widget), so that these show before the
notebook runs; every other cell is committed without outputs, and the notebook without saved widget
state, so no timings, paths or training logs from one machine end up in git.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from helper.errors import CourseError
from helper.tools.notebooks import (
    NOTEBOOK_DIR,
    NotebookFailed,
    execute,
    explorer_of,
    is_check_cell,
    keeps_picture,
    lecture_notebooks,
    select,
    static_outputs,
)


def strip_unchecked(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs and execution counts from every cell that is neither a check cell nor a picture, and
    the widget from an explorer's outputs.

    The saved widget state (tqdm bars, with their timings) goes too: it belongs to one run.
    """
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)  # added by papermill's reader, like the empty tags below
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if not (is_check_cell(cell) or keeps_picture(cell)):
            cell.outputs = []
            cell.execution_count = None
        elif explorer_of(cell):
            cell.outputs = static_outputs(cell.outputs)
    return nb


def refresh(path: Path, timeout: int = 600) -> None:
    """Execute ``path`` top to bottom with its default parameters and keep only reference outputs."""
    nb = execute(path, timeout=timeout).nb
    nbformat.write(strip_unchecked(nb), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", help="numbers, name prefixes or paths")
    args = parser.parse_args(argv)
    try:
        for path in select(args.notebooks, lecture_notebooks(NOTEBOOK_DIR)):
            refresh(path)
            print(f"refreshed {path}")
    except (CourseError, NotebookFailed) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
