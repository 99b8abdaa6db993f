"""Student copies of the lecture notebooks' exercises, made and checked with nbgrader's own tools.

    python -m helper.tools homework [NB ...]      # notebooks/NN_x.ipynb -> homework/NN_x.ipynb (all: no NB)
    python -m helper.tools check-homework FILE    # run a copy, list each auto-checked exercise: pass or fail

``make`` applies nbgrader's preprocessors to each notebook: ``ClearSolutions`` swaps the code between
``### BEGIN SOLUTION`` / ``### END SOLUTION`` for a ``raise NotImplementedError()`` stub,
``ClearHiddenTests`` drops hidden checks and ``ClearOutput`` empties the outputs (the diagrams' are
put back, so the copy shows them before it runs); exercise cells get the ``raises-exception`` tag so
that "Run All" goes past an unsolved exercise. No nbgrader course folder or database is involved.
``check`` executes a copy (in smoke mode, so it is quick) and exits with 0 only when every check cell
ran without an error.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from helper.errors import CourseError
from helper.tools.notebooks import (
    NOTEBOOK_DIR,
    REPO_ROOT,
    NotebookFailed,
    diagram_of,
    execute,
    lecture_notebooks,
    one_line,
    read_notebook,
    select,
)

HOMEWORK_DIR = REPO_ROOT / "homework"
NOT_ATTEMPTED = "not attempted"


@dataclass
class CheckResult:
    """The outcome of one nbgrader check cell of a student copy."""

    grade_id: str
    points: float
    passed: bool
    message: str


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict[str, Any]:
    """The cell's nbgrader metadata (empty for ordinary cells)."""
    return cell.metadata.get("nbgrader", {})


def exercise_of(grade_id: str) -> str:
    """The exercise a cell belongs to: ``"ex2"`` for ``"ex2-check"`` or ``"ex2-solution"``."""
    return grade_id.split("-", 1)[0]


def grade_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The auto-checked cells (nbgrader ``grade: true`` code cells), in notebook order."""
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")]


def header_cell(source: Path, copy_path: str) -> nbformat.NotebookNode:
    """The markdown cell that opens a student copy: where it came from and how to check it."""
    return nbformat.v4.new_markdown_cell(
        f"**Homework copy of `notebooks/{source.name}`.** Replace each `raise NotImplementedError()` "
        "in the exercise cells at the end with your own code, then run the checks from the repository "
        f"root:\n\n```\nmake check-homework FILE={copy_path}\n```\n\n"
        f"(without `make`: `python -m helper.tools check-homework {copy_path}`). "
        "Each check passes when its cell runs without an error; a failing one tells you what is wrong.",
        metadata={"tags": ["homework-header"]},
    )


def student_copy(nb: nbformat.NotebookNode, source: Path) -> nbformat.NotebookNode:
    """A copy of instructor notebook ``nb`` with solutions stubbed, hidden checks removed, outputs cleared."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    nb = copy.deepcopy(nb)
    diagrams = {cell.source: cell.outputs for cell in nb.cells if diagram_of(cell)}
    if not grade_cells(nb):
        raise CourseError(f"{source.name} has no nbgrader check cell, so there is no homework to make of it.")
    try:
        MetadataValidator().validate_nb(nb)
        resources: dict[str, Any] = {}
        for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
            nb, resources = preprocessor.preprocess(nb, resources)
    except (ValidationError, RuntimeError) as error:
        raise CourseError(f"{source.name} has malformed nbgrader cells ({one_line(str(error))}); "
                          "fix them as CONTRIBUTING.md describes.") from error
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if diagram_of(cell):
            cell.outputs = diagrams[cell.source]
        if nbgrader_meta(cell) and cell.cell_type == "code":
            # Run All in JupyterLab carries on past an exercise that still fails, so every check reports.
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")
    nb.cells.insert(0, header_cell(source, f"homework/{source.name}"))
    return nb


def make(notebooks: list[Path], out_dir: Path = HOMEWORK_DIR, force: bool = False) -> list[Path]:
    """Write the student copy of each of ``notebooks`` into ``out_dir``; return the paths written.

    A copy that is already there may hold a student's work: it is kept (and named) unless ``force``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        target = out_dir / path.name
        if target.exists() and not force:
            print(f"kept {target}: it is already there and may hold your answers (--force replaces it)")
            continue
        nbformat.write(student_copy(read_notebook(path), path), target)
        written.append(target)
    return written


def _not_attempted(error: tuple[str, str] | None) -> bool:
    return error is not None and error[0] == "NotImplementedError"


def grade(nb: nbformat.NotebookNode, errors: dict[int, tuple[str, str]]) -> list[CheckResult]:
    """Pass or fail for each check cell of an executed copy, given the errors :func:`execute` reported.

    A check whose exercise still raises the stub's ``NotImplementedError`` is "not attempted";
    any other error shows its message in one line.
    """
    unsolved = {exercise_of(nbgrader_meta(nb.cells[i])["grade_id"]) for i, error in errors.items()
                if nbgrader_meta(nb.cells[i]).get("solution") and _not_attempted(error)}
    results = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        grade_id = meta["grade_id"]
        error = errors.get(index)
        if error is None:
            results.append(CheckResult(grade_id, meta.get("points", 0), True, ""))
            continue
        if exercise_of(grade_id) in unsolved or _not_attempted(error):
            message = NOT_ATTEMPTED
        else:
            ename, evalue = error
            message = one_line(evalue if ename == "AssertionError" and evalue else f"{ename}: {evalue}")
        results.append(CheckResult(grade_id, meta.get("points", 0), False, message))
    return results


def check(path: Path, mode: str = "smoke") -> list[CheckResult]:
    """Execute the copy at ``path`` and grade each of its check cells."""
    if not path.is_file():
        raise CourseError(f"There is no notebook at {path}; make one with `make homework NB=NN` "
                          "(or python -m helper.tools homework NN) first.")
    if not grade_cells(read_notebook(path)):
        raise CourseError(f"{path.name} has no nbgrader check cells to run.")
    executed = execute(path, mode, allow_errors=True, timeout=600)
    return grade(executed.nb, executed.errors)


def print_table(results: list[CheckResult]) -> None:
    """Print one row per check: grade id, points, PASS/FAIL and the reason for a failure."""
    width = max(len("exercise"), *(len(r.grade_id) for r in results))
    print(f"{'exercise':<{width}}  points  result  message")
    for r in results:
        print(f"{r.grade_id:<{width}}  {r.points:>6g}  {'PASS' if r.passed else 'FAIL':<6}  {r.message}")
    passed = sum(r.passed for r in results)
    print(f"{passed} of {len(results)} checks pass")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make_cmd = commands.add_parser("make", help="write student copies into homework/")
    make_cmd.add_argument("notebooks", nargs="*", help="numbers or name prefixes; all when none")
    make_cmd.add_argument("--force", action="store_true", help="replace copies that are already there")
    check_cmd = commands.add_parser("check", help="run a student copy's checks")
    check_cmd.add_argument("file", nargs="?", type=Path, help="e.g. homework/07_resnet.ipynb")
    args = parser.parse_args(argv)
    try:
        if args.command == "make":
            available = lecture_notebooks(NOTEBOOK_DIR)
            chosen = select(args.notebooks, available)
            if not args.notebooks:  # all: only the notebooks that have exercises to check
                chosen = [p for p in chosen if grade_cells(read_notebook(p))]
            if not chosen:
                raise CourseError(f"No notebook in {NOTEBOOK_DIR} has nbgrader exercises yet.")
            for target in make(chosen, force=args.force):
                print(f"wrote {target}")
            return 0
        if args.file is None:
            raise CourseError("Name the copy to check: make check-homework FILE=homework/NN_name.ipynb "
                              "(or python -m helper.tools check-homework homework/NN_name.ipynb).")
        results = check(args.file)
    except (CourseError, NotebookFailed) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted (Ctrl-C): the checks did not all run.", file=sys.stderr)
        return 130
    print_table(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
