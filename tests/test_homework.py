"""helper.homework: student copies made with nbgrader's preprocessors, and the per-exercise check."""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from conftest import course_notebook_params, solution_cells, write_tiny_notebook

from helper.errors import CourseError
from helper.tools import homework
from helper.tools.notebooks import diagram_of, execute

NOTEBOOKS = [p for p in course_notebook_params() if p.values[0] is None or homework.grade_cells(
    nbformat.read(p.values[0], as_version=4))]
STUB = "raise NotImplementedError()"


def marked_lines(nb: nbformat.NotebookNode, begin: str, end: str) -> set[str]:
    """Stripped lines strictly between ``### BEGIN <x>`` and ``### END <x>`` markers in any code cell."""
    inside, found = False, set()
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and line.strip():
                found.add(line.strip())
    return found


def secret_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Solution and hidden-test lines that appear nowhere else in the instructor notebook."""
    secret = marked_lines(nb, "BEGIN SOLUTION", "END SOLUTION") | marked_lines(nb, "BEGIN HIDDEN TESTS",
                                                                             "END HIDDEN TESTS")
    public = copy.deepcopy(nb)
    for cell in public.cells:
        cell.source = re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", cell.source, flags=re.S)
    elsewhere = {line.strip() for cell in public.cells for line in cell.source.splitlines()}
    return secret - elsewhere


def paste_back(student: nbformat.NotebookNode, instructor: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copy with each solution cell's source replaced by the instructor's (by grade_id)."""
    solutions = {homework.nbgrader_meta(c)["grade_id"]: c.source for c in solution_cells(instructor)}
    solved = copy.deepcopy(student)
    for cell in solution_cells(solved):
        cell.source = solutions[homework.nbgrader_meta(cell)["grade_id"]]
    return solved


def assert_clean_copy(student: nbformat.NotebookNode, instructor: nbformat.NotebookNode, name: str) -> None:
    """Stubs for solutions, no hidden tests, no outputs but the diagrams, parameters cell and header."""
    header = student.cells[0]
    assert header.cell_type == "markdown" and f"make check-homework FILE=homework/{name}" in header.source
    assert f"notebooks/{name}" in header.source
    tagged = [c for c in student.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and 'MODE = "lecture"' in tagged[0].source, "the parameters cell should survive"
    for cell in solution_cells(student):
        if cell.cell_type == "code":
            assert STUB in cell.source and "# YOUR CODE HERE" in cell.source
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    for_instructors = [line for line in text.splitlines() if "instructor" in line.lower()]
    assert not for_instructors, f"text for instructors is outside the solution markers: {for_instructors}"
    assert all(c.get("execution_count") is None for c in student.cells if c.cell_type == "code")
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code" and not diagram_of(c)), \
        "every output but the diagrams should be cleared"
    diagrams = [(c.source, c.outputs) for c in instructor.cells if diagram_of(c)]
    assert [(c.source, c.outputs) for c in student.cells if diagram_of(c)] == diagrams, \
        "the copy should show the same diagrams as the notebook, before it is run"
    copy_lines = {line.strip() for c in student.cells for line in c.source.splitlines()}
    leaked = secret_lines(instructor) & copy_lines
    assert not leaked, f"solution or hidden-test lines leaked into the copy: {sorted(leaked)}"
    assert len(homework.grade_cells(student)) == len(homework.grade_cells(instructor))


def assert_fails_as_intended(results: list[homework.CheckResult]) -> None:
    assert results, "the copy should have checks"
    for r in results:
        assert not r.passed, f"{r.grade_id} should fail before the student writes anything"
        assert r.message == homework.NOT_ATTEMPTED or (r.message and "\n" not in r.message
                                                       and "Traceback" not in r.message), r.message


# --- on a tiny notebook: fast, and covers a wrong answer -------------------------------------------

@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "notebooks").mkdir()
    instructor = write_tiny_notebook(tmp_path / "notebooks" / "05_tiny.ipynb")
    [student] = homework.make([instructor], tmp_path / "homework")
    return instructor, student


def test_tiny_copy_is_clean(tiny):
    instructor, student = tiny
    assert_clean_copy(nbformat.read(student, 4), nbformat.read(instructor, 4), "05_tiny.ipynb")
    assert "return x + x" not in student.read_text() and "double(-4)" not in student.read_text()


def test_tiny_copy_fails_as_not_attempted_then_wrong_then_passes(tiny, capsys):
    instructor, student = tiny
    assert homework.main(["check", str(student)]) == 1
    table = capsys.readouterr().out
    assert "ex1-check       1  FAIL    not attempted" in table and "0 of 2 checks pass" in table
    assert "Traceback" not in table

    nb = nbformat.read(student, 4)
    solution_cells(nb)[1].source = "width = 15"
    nbformat.write(nb, student)
    results = {r.grade_id: r for r in homework.check(student)}
    assert results["ex1-check"].message == homework.NOT_ATTEMPTED
    assert results["ex2-check"].message == "the width should be 16, got 15"

    nbformat.write(paste_back(nb, nbformat.read(instructor, 4)), student)
    assert homework.main(["check", str(student)]) == 0
    assert "2 of 2 checks pass" in capsys.readouterr().out


def test_an_existing_copy_keeps_the_students_answers_unless_forced(tiny, capsys):
    instructor, student = tiny
    nb = nbformat.read(student, 4)
    solution_cells(nb)[1].source = "width = 15"
    nbformat.write(nb, student)
    edited = student.read_text()
    assert homework.make([instructor], student.parent) == []
    assert student.read_text() == edited and f"kept {student}" in capsys.readouterr().out
    assert homework.make([instructor], student.parent, force=True) == [student]
    assert "width = 15" not in student.read_text()


def test_notebook_without_exercises_is_refused(tmp_path):
    plain = tmp_path / "09_plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Plain")]), plain)
    with pytest.raises(CourseError, match="no nbgrader check cell"):
        homework.make([plain], tmp_path / "homework")


def test_check_of_missing_file_is_one_sentence(tmp_path, capsys):
    assert homework.main(["check", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_check_of_a_damaged_copy_is_one_sentence(tmp_path, capsys):
    damaged = tmp_path / "07_vgg16.ipynb"
    damaged.write_text('{"cells": [')  # cut short, e.g. by a crash while saving
    assert homework.main(["check", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a readable Jupyter notebook" in err


# --- on the real notebooks ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS)
def test_student_copy_is_clean(path, tmp_path):
    [student] = homework.make([path], tmp_path)
    assert_clean_copy(nbformat.read(student, 4), nbformat.read(path, 4), path.name)


def with_solutions_appended(student: nbformat.NotebookNode,
                            instructor: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copy followed by each exercise again, solved: the instructor's solution cell, then the
    copy's check cell, both marked "pasted" (one kernel run then covers the copy before and after)."""
    solutions = {homework.nbgrader_meta(c)["grade_id"]: c.source for c in solution_cells(instructor)}
    extended = copy.deepcopy(student)
    for cell in student.cells:
        grade_id = homework.nbgrader_meta(cell).get("grade_id")
        if cell.cell_type != "code" or grade_id is None:
            continue
        source = solutions.get(grade_id, cell.source)
        extended.cells.append(nbformat.v4.new_code_cell(source, metadata={"pasted": grade_id}))
    return extended


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_student_copy_fails_until_solutions_are_pasted_back(path, tmp_path):
    [student] = homework.make([path], tmp_path)
    instructor = nbformat.read(path, 4)
    nbformat.write(with_solutions_appended(nbformat.read(student, 4), instructor), student)
    executed, errors = (run := execute(student, "smoke", allow_errors=True)).nb, run.errors
    assert_fails_as_intended(homework.grade(executed, errors))
    failing = [(executed.cells[i].metadata["pasted"], f"{ename}: {evalue}")
               for i, (ename, evalue) in errors.items() if "pasted" in executed.cells[i].metadata]
    assert not failing, f"with the instructor's solutions pasted back every exercise should pass: {failing}"
