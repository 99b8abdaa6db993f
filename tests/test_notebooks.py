"""Every notebooks/NN_*.ipynb follows the conventions in CONTRIBUTING.md (its smoke run is in
tests/test_exercises.py, which probes its exercise checks in the same run)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill
import pytest
from conftest import course_notebook_params, solution_cells

from helper.plotting import diagram_bundle
from helper.tools.homework import exercise_of, grade_cells, nbgrader_meta
from helper.tools.notebooks import diagram_of, explorer_of, is_check_cell

NOTEBOOKS = course_notebook_params()
MACHINE_PATH = re.compile(r"/(root|tmp|work|home|Users)/")
TIMING = re.compile(r"\d\s*(it/s|s/it)|\d+:\d\d<\d+:\d\d|elapsed|Wall time|CPU times")
RECORDS_RESULT = re.compile(r"\b(record_result|summarize_training)\(")
HARD_CODED_DEVICE = re.compile(r"""["'](cuda|mps):\d""")
LOADER_CALL = re.compile(r"get_dataloaders\((?:[^()]|\([^()]*\))*\)")  # one level of nested parentheses


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def output_text(cell: nbformat.NotebookNode) -> str:
    """Every text an output of ``cell`` shows (stream text and each text-like mime type)."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.extend(v for k, v in data.items() if k.startswith("text/") and isinstance(v, str))
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_starts_with_a_markdown_title(path):
    first = load(path).cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), \
        f"{path.name}: the first cell should be a markdown title starting with '# '"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_has_one_parameters_cell_with_mode_and_seed(path):
    tagged = [c for c in load(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: one cell should be tagged 'parameters', found {len(tagged)}"
    source = tagged[0].source
    assert re.search(r'^MODE = "lecture"', source, re.M), f"{path.name}: parameters should set MODE"
    assert re.search(r"^SEED = \d+", source, re.M), f"{path.name}: the parameters cell should set SEED"
    inferred = set(papermill.inspect_notebook(str(path)))
    assert inferred == {"MODE", "SEED"}, f"{path.name}: papermill reads the parameters as {sorted(inferred)}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_commits_only_clean_check_outputs(path):
    nb = load(path)
    widget_state = "widgets" in nb.metadata
    assert not widget_state, (f"{path.name}: saved widget state (timings) is committed; "
                              "run python -m helper.tools refresh")
    for cell in code_cells(nb):
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        if diagram_of(cell):
            shown = [o.get("data") for o in cell.outputs]
            assert shown == [diagram_bundle(diagram_of(cell))], (
                f"{path.name}: {first_line} should show helper/figures/{diagram_of(cell)}.png as it is now; "
                "run python -m helper.tools refresh")
            continue
        if explorer_of(cell):  # its default picture: tests/test_explorers.py
            continue
        if not is_check_cell(cell):
            assert not cell.outputs, (f"{path.name}: only checks, diagrams and explorers keep outputs, "
                                      f"not {first_line!r}")
            continue
        text = output_text(cell)
        assert not MACHINE_PATH.search(text), f"{path.name}: check cell {first_line!r} prints a machine path"
        assert not TIMING.search(text), f"{path.name}: check cell {first_line!r} prints a timing"
        assert all(o.output_type != "error" for o in cell.outputs), f"{path.name}: check cell shows an error"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_kernel_result_and_device(path):
    nb = load(path)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{path.name}: kernelspec should be python3, not {kernel}"
    sources = "\n".join(c.source for c in code_cells(nb))
    # summarize_training records the result itself; the smoke run checks that a result really appears
    assert RECORDS_RESULT.search(sources), f"{path.name}: should call results.record_result(...) near the end"
    assert not HARD_CODED_DEVICE.search(sources), f"{path.name}: use train.default_device(), not a fixed one"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_loaders_follow_the_mode(path):
    """Each loader takes its download budget from MODE, and every MNIST/CIFAR-10 loader its device: full
    mode on a GPU keeps the data set there (README, "Full mode"); the bundled digits stay on the CPU."""
    calls = [" ".join(call.group(0).split())
             for cell in code_cells(load(path)) for call in LOADER_CALL.finditer(cell.source)]
    budget, device = "download_budget_s=data.download_budget(MODE)", "device=data.data_device(MODE)"
    assert all(budget in call for call in calls), f"{path.name}: pass {budget} in {calls}"
    digits = 'get_dataloaders("digits"'
    on_cpu = [call for call in calls if device not in call and not call.startswith(digits)]
    assert not on_cpu, f"{path.name}: pass {device} in {on_cpu}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_exercises_in_nbgrader_format(path):
    from nbgrader.nbgraderformat import MetadataValidator

    nb = load(path)
    MetadataValidator().validate_nb(nb)  # raises on malformed nbgrader metadata
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{path.name}: nbgrader grade_ids must be unique, got {ids}"
    exercises = {exercise_of(i) for i in ids}
    assert 2 <= len(exercises) <= 4, f"{path.name}: should have 2-4 exercises, found {sorted(exercises)}"
    checks = grade_cells(nb)
    assert checks, f"{path.name}: at least one exercise needs an auto-checked (grade) cell"
    solved = {exercise_of(nbgrader_meta(c)["grade_id"]) for c in solution_cells(nb)}
    for cell in checks:
        grade_id = nbgrader_meta(cell)["grade_id"]
        assert exercise_of(grade_id) in solved, f"{path.name}: {grade_id} has no solution cell"
    for cell in solution_cells(nb):
        what = "code" if cell.cell_type == "code" else "answer"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, \
            f"{path.name}: {nbgrader_meta(cell)['grade_id']} should wrap its {what} in BEGIN/END SOLUTION"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_exercise_has_a_solution_or_an_answer_key(path):
    """Each "**Exercise N" of the text has nbgrader cells: a solution to check, or (for an open question) a
    markdown answer cell (grade_id "exN-answer", nbgrader's manually graded answer with 0 points) that
    the student copy replaces with "YOUR ANSWER HERE"."""
    nb = load(path)
    announced = {f"ex{n}" for c in nb.cells if c.cell_type == "markdown"
                 for n in re.findall(r"\*\*Exercise (\d+)", c.source)}
    keyed = {exercise_of(nbgrader_meta(c)["grade_id"]) for c in solution_cells(nb)}
    assert announced <= keyed, (
        f"{path.name}: exercises {sorted(announced - keyed)} have neither a solution cell nor an answer key; "
        "give an open exercise a markdown cell with nbgrader metadata {\"grade\": true, \"solution\": true, "
        '"locked": false, "points": 0, "grade_id": "exN-answer", "schema_version": 3} and its answer between '
        "### BEGIN SOLUTION and ### END SOLUTION")
