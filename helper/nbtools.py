"""Maintainer tool: execute a notebook and keep only its deterministic reference outputs.

    python -m helper.nbtools refresh notebooks/01_padding_and_output_size.ipynb [...]

Cells whose source starts with ``# NBVAL_CHECK_OUTPUT`` keep their outputs (nbval re-checks
them); every other cell is committed without outputs, and the notebook without saved widget
state, so no timings, paths or training logs from one machine end up in git.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def is_check_cell(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell whose outputs nbval compares."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARKER)


def strip_unchecked(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs and execution counts from every cell that is not a check cell.

    The saved widget state (tqdm bars, with their timings) goes too: it belongs to one run.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if not is_check_cell(cell):
            cell.outputs = []
            cell.execution_count = None
    return nb


def refresh(path: Path, timeout: int = 600) -> None:
    """Execute ``path`` top to bottom with its default parameters and keep only reference outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(strip_unchecked(nb), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["refresh"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.notebooks:
        refresh(path)
        print(f"refreshed {path}")


if __name__ == "__main__":
    main()
