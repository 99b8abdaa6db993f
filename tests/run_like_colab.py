"""Run course notebooks the way Colab does, with nothing but what Colab has (nbformat and nbclient, no
papermill): run by the interpreter of tests/test_install.py's Colab environment, so the kernel is that
environment's own (its ipykernel, IPython and ipywidgets).

    python run_like_colab.py MODE OUT_FOLDER NOTEBOOK ...

Each notebook runs from the current folder (Colab's /content), after a first cell that puts
``google.colab`` into ``sys.modules`` (what the set-up cell looks for) and reports the kernel's versions
of the Jupyter packages as JSON, and with ``MODE`` set after its parameters cell, as papermill would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

AS_IN_COLAB = """\
import json
import sys
import types
from importlib.metadata import version

sys.modules["google.colab"] = types.ModuleType("google.colab")
print(json.dumps({name: version(name) for name in ("ipykernel", "ipython", "ipywidgets", "jupyter-client",
                                                   "traitlets", "torch", "torchvision")}))"""


def prepare(nb: nbformat.NotebookNode, mode: str) -> nbformat.NotebookNode:
    """``nb`` with the Colab cell first and ``MODE = mode`` right after its parameters cell."""
    [parameters] = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    nb.cells.insert(parameters + 1, nbformat.v4.new_code_cell(f"MODE = {mode!r}"))
    nb.cells.insert(0, nbformat.v4.new_code_cell(AS_IN_COLAB))
    return nb


def main(argv: list[str]) -> int:
    mode, out, *notebooks = argv
    for path in map(Path, notebooks):
        nb = prepare(nbformat.read(path, as_version=4), mode)
        try:
            NotebookClient(nb, kernel_name="python3", timeout=600,
                           resources={"metadata": {"path": str(Path.cwd())}}).execute()
        finally:
            nbformat.write(nb, Path(out) / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
