"""Student copies of the lecture notebooks' exercises, made and checked with nbgrader's own tools.

    python -m helper.tools homework [NB ...] [--out DIR]   # notebooks/NN_x.ipynb -> homework/NN_x.ipynb
    python -m helper.tools check-homework FILE             # run a copy: PASS or FAIL for each exercise

``homework`` applies nbgrader's preprocessors to each notebook: ``ClearSolutions`` swaps the code between
``### BEGIN SOLUTION`` / ``### END SOLUTION`` for a ``raise NotImplementedError()`` stub,
``ClearHiddenTests`` drops hidden checks and ``ClearOutput`` empties the outputs (the diagrams' are
put back, so the copy shows them before it runs); exercise cells get the ``raises-exception`` tag so
that "Run All" goes past an unsolved exercise. No nbgrader course folder or database is involved. A copy
that is already there may hold a student's answers: it is kept unless ``--force``.
``check-homework`` executes a copy (in smoke mode, so it is quick), prints each exercise's line as its
check finishes (an exercise cell that runs past a short limit is stopped and fails), and exits with 0
only when every check cell ran without an error.
"""

from __future__ import annotations

import argparse
import copy
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from helper.errors import CourseError, is_real
from helper.tools.notebooks import (
    COLAB_LINE,
    NOTEBOOK_DIR,
    NOTEBOOK_PATTERN,
    REPO_ROOT,
    TIMED_OUT,
    Executed,
    NotebookFailed,
    error_sentence,
    execute,
    keeps_picture,
    lecture_notebooks,
    one_line,
    read_notebook,
    refuse_to_overwrite,
    select,
    static_outputs,
)

HOMEWORK_DIR = REPO_ROOT / "homework"
NOT_ATTEMPTED = "not attempted"
EXERCISE_LIMIT_S = 30  # check-homework stops an exercise cell that runs longer (an endless loop)
CELL_LIMIT_S = 600  # and any other cell
CELL_FILE = re.compile(r"\([^()]*\.py, (line \d+)\)")  # "(3326376085.py, line 2)" in a SyntaxError
EXAMPLE = "homework/07_vgg16.ipynb"  # a copy named in help texts (tests/test_homework.py checks its notebook)


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


def shown(path: Path) -> str:
    """``path`` as a student types it from the repository root: relative when inside it, quoted if needed."""
    try:
        text = str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:  # outside the checkout
        text = str(path.resolve())
    return shlex.quote(text)


def number_of(path: Path) -> str:
    """What ``make homework NB=...`` takes for this notebook: its two digits, or NN for another name."""
    return path.name[:2] if NOTEBOOK_PATTERN.match(path.name) else "NN"


def fresh_folder(target: Path) -> Path:
    """A folder beside ``target``'s own where a copy of the same name does not exist yet."""
    folder = target.parent
    number = 2
    while (candidate := folder.with_name(f"{folder.name}-{number}")).joinpath(target.name).exists():
        number += 1
    return candidate


def fresh_copy_advice(target: Path) -> str:
    """The commands that write a fresh copy of ``target``'s notebook under another name."""
    number, out = number_of(target), shown(fresh_folder(target))
    return (f"make homework NB={number} OUT={out} (without make: python -m helper.tools homework {number} "
            f"--out {out})")


def header_cell(source: Path, copy_path: str) -> nbformat.NotebookNode:
    """The markdown cell that opens a student copy: where it came from and how to check it."""
    return nbformat.v4.new_markdown_cell(
        f"**Homework copy of `notebooks/{source.name}`.** Replace each `raise NotImplementedError()` "
        "in the exercise cells at the end with your own code, then run the checks from the repository "
        f"root:\n\n```\nmake check-homework FILE={copy_path}\n```\n\n"
        f"(without `make`: `python -m helper.tools check-homework {copy_path}`). "
        "Each check passes when its cell runs without an error; a failing one tells you what is wrong.",
        metadata={"tags": ["homework-header"]},
        id="homework-header",  # fixed, so that the same notebook always gives the same copy
    )


def damaged_metadata(nb: nbformat.NotebookNode) -> str | None:
    """What is wrong with the notebook's nbgrader cell metadata, in a few words, or None when it is sound."""
    for number, cell in enumerate(nb.cells, 1):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        if not isinstance(meta, dict):
            return f"cell {number} has {meta!r} where its nbgrader settings belong"
        if not (meta.get("grade") or meta.get("solution")):
            continue
        grade_id = meta.get("grade_id")
        if not isinstance(grade_id, str) or not grade_id.strip():
            return f"cell {number} has no grade_id"
        points = meta.get("points", 0)
        if meta.get("grade") and not (is_real(points) and points >= 0):
            return f"cell {number} ({grade_id}) has points {points!r}, not a number"
    return None


def student_copy(nb: nbformat.NotebookNode, source: Path,
                 copy_path: str | None = None) -> nbformat.NotebookNode:
    """A copy of instructor notebook ``nb`` with solutions stubbed, hidden checks removed, outputs cleared;
    its header names ``copy_path`` (default: the copy in homework/) in the check command."""
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    nb = copy.deepcopy(nb)
    if (problem := damaged_metadata(nb)) is not None:
        raise CourseError(f"{source.name} has malformed nbgrader cells ({problem}); fix them as "
                          "CONTRIBUTING.md describes.")
    pictures = {cell.source: cell.outputs for cell in nb.cells if keeps_picture(cell)}
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
        if cell.cell_type == "markdown":
            cell.source = COLAB_LINE.sub("", cell.source)
        if keeps_picture(cell):
            cell.outputs = static_outputs(pictures[cell.source])
        if nbgrader_meta(cell) and cell.cell_type == "code":
            # Run All in JupyterLab carries on past an exercise that still fails, so every check reports.
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")
    nb.cells.insert(0, header_cell(source, copy_path or shown(HOMEWORK_DIR / source.name)))
    return nb


def make(notebooks: list[Path], out_dir: Path = HOMEWORK_DIR, force: bool = False) -> list[Path]:
    """Write the student copy of each of ``notebooks`` into ``out_dir``; return the paths written.

    A copy that is already there may hold a student's answers: it is kept (and named, with the command for
    a fresh copy under another name) unless ``force``.
    """
    refuse_to_overwrite(out_dir, notebooks)
    if out_dir.exists() and not out_dir.is_dir():
        raise CourseError(f"{out_dir} is a file, not a folder; name another folder for the copies.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CourseError(f"Cannot make the folder {out_dir} ({one_line(str(error))}); name another "
                          "one.") from error
    written = []
    for path in notebooks:
        target = out_dir / path.name
        if target.exists() and not force:
            print(f"Kept {shown(target)}, which is already there and may hold your answers; for a fresh copy "
                  f"under another name run {fresh_copy_advice(target)}.")
            continue
        nbformat.write(student_copy(read_notebook(path), path, shown(target)), target)
        written.append(target)
    return written


def _not_attempted(error: tuple[str, str] | None) -> bool:
    return error is not None and error[0] == "NotImplementedError"


def _error_message(error: tuple[str, str], limit: int) -> str:
    """One line for a cell's error: an assertion's own message, a timeout, or the exception and its text."""
    ename, evalue = error
    if ename == TIMED_OUT:
        return f"did not finish in {limit} s: an endless loop?"
    if ename == "AssertionError" and evalue:
        return one_line(evalue)
    # IPython names the cell's file in a SyntaxError: keep only the line
    return error_sentence(ename, CELL_FILE.sub(r"(\1)", evalue))


def grade_cell(nb: nbformat.NotebookNode, index: int, errors: dict[int, tuple[str, str]],
               limit: int = EXERCISE_LIMIT_S) -> CheckResult:
    """Pass or fail for the check cell ``nb.cells[index]``, once it and the cells above it have run.

    An exercise whose solution cell failed reports that cell's error: "not attempted" for the stub's
    ``NotImplementedError``, else the error in one line (a SyntaxError, an exception in the student's code,
    a cell stopped after ``limit`` seconds); otherwise the check's own error in one line.
    """
    meta = nbgrader_meta(nb.cells[index])
    grade_id, points = meta["grade_id"], meta.get("points", 0)
    exercise = exercise_of(grade_id)
    solution_errors = [errors[i] for i, cell in enumerate(nb.cells[:index]) if i in errors
                       and nbgrader_meta(cell).get("solution")
                       and exercise_of(nbgrader_meta(cell)["grade_id"]) == exercise]
    error = errors.get(index)
    if error is None:
        return CheckResult(grade_id, points, True, "")
    if _not_attempted(error) or any(_not_attempted(e) for e in solution_errors):
        return CheckResult(grade_id, points, False, NOT_ATTEMPTED)
    if solution_errors:
        return CheckResult(grade_id, points, False,
                           f"your solution cell failed: {_error_message(solution_errors[0], limit)}")
    return CheckResult(grade_id, points, False, _error_message(error, limit))


def grade(nb: nbformat.NotebookNode, errors: dict[int, tuple[str, str]],
          limit: int = EXERCISE_LIMIT_S) -> list[CheckResult]:
    """Pass or fail for each check cell of an executed copy, given the errors :func:`execute` reported."""
    return [grade_cell(nb, index, errors, limit) for index, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and nbgrader_meta(cell).get("grade")]


def open_copy(path: Path) -> nbformat.NotebookNode:
    """The copy at ``path``, read and found fit to check; :class:`CourseError` in one sentence if not."""
    if not path.is_file():
        raise CourseError(f"There is no notebook at {path}; make one with `make homework NB=NN` "
                          "(or python -m helper.tools homework NN) first.")
    fresh = f"write a fresh copy with {fresh_copy_advice(path)} and paste your answers into it"
    nb = read_notebook(path, remedy=fresh)
    if (problem := damaged_metadata(nb)) is not None:
        raise CourseError(f"{path} has damaged nbgrader metadata ({problem}), so its checks cannot be told "
                          f"apart; {fresh}.")
    if not grade_cells(nb):
        raise CourseError(f"{path.name} has no nbgrader check cells to run.")
    return nb


def check(path: Path, mode: str = "smoke", limit: int = EXERCISE_LIMIT_S,
          report: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Execute the copy at ``path`` and grade each of its check cells, calling ``report`` as each finishes.

    Exercise cells (solutions and checks) that run longer than ``limit`` seconds are stopped.
    """
    open_copy(path)

    def graded(executed: Executed, index: int) -> None:
        if report is not None and nbgrader_meta(executed.nb.cells[index]).get("grade"):
            report(grade_cell(executed.nb, index, executed.errors, limit))

    executed = execute(path, mode, allow_errors=True, timeout=CELL_LIMIT_S, on_cell_done=graded,
                       cell_timeout=lambda cell: limit if nbgrader_meta(cell) else CELL_LIMIT_S)
    return grade(executed.nb, executed.errors, limit)


class Table:
    """The check-homework report: a header, one row per check as it finishes, and a count of the passes."""

    def __init__(self, grade_ids: list[str]) -> None:
        self.width = max(len("exercise"), *(len(g) for g in grade_ids))
        print(f"Running the copy in smoke mode; each exercise's line comes when its check has run.\n"
              f"{'exercise':<{self.width}}  points  result  message", flush=True)

    def row(self, r: CheckResult) -> None:
        print(f"{r.grade_id:<{self.width}}  {r.points:>6g}  {'PASS' if r.passed else 'FAIL':<6}  {r.message}",
              flush=True)

    @staticmethod
    def total(results: list[CheckResult]) -> None:
        print(f"{sum(r.passed for r in results)} of {len(results)} checks pass")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helper.tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make_cmd = commands.add_parser("homework", help="write student copies into homework/ (or --out)")
    make_cmd.add_argument("notebooks", nargs="*", help="numbers or name prefixes; all when none")
    make_cmd.add_argument("--out", type=Path, default=HOMEWORK_DIR, help="the folder for the copies "
                          "(default: homework/ in the repository)")
    make_cmd.add_argument("--force", action="store_true",
                          help="replace copies that are already there (their answers are lost)")
    check_cmd = commands.add_parser("check-homework", help="run a student copy's checks")
    check_cmd.add_argument("file", nargs="?", default="", help=f"e.g. {EXAMPLE}")
    check_cmd.add_argument("--limit", type=int, default=EXERCISE_LIMIT_S,
                           help="seconds an exercise cell may run before it is stopped (%(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.command == "homework":
            available = lecture_notebooks(NOTEBOOK_DIR)
            chosen = select(args.notebooks, available)
            if not args.notebooks:  # all: only the notebooks that have exercises to check
                chosen = [p for p in chosen if grade_cells(read_notebook(p))]
            if not chosen:
                raise CourseError(f"No notebook in {NOTEBOOK_DIR} has nbgrader exercises yet.")
            for target in make(chosen, args.out, force=args.force):
                print(f"wrote {shown(target)}")
            return 0
        if not args.file:
            raise CourseError(f"Name the copy to check: make check-homework FILE={EXAMPLE} "
                              f"(or python -m helper.tools check-homework {EXAMPLE}).")
        path = Path(args.file)
        table = Table([nbgrader_meta(c)["grade_id"] for c in grade_cells(open_copy(path))])
        results = check(path, limit=args.limit, report=table.row)
    except (CourseError, NotebookFailed) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted (Ctrl-C): the checks did not all run.", file=sys.stderr)
        return 130
    Table.total(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
