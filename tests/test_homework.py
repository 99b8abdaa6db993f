"""helper.homework: student copies made with nbgrader's preprocessors, and the per-exercise check."""

from __future__ import annotations

import ast
import copy
import re
import subprocess
import time

import nbformat
import pytest
from conftest import IN_CHECKOUT, course_notebook_params, solution_cells, write_tiny_notebook

from helper.errors import CourseError
from helper.tools import homework
from helper.tools.notebooks import REPO_ROOT, execute, keeps_picture

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
    assert header.cell_type == "markdown" and re.search(rf"make check-homework FILE=\S*{name}", header.source)
    assert f"notebooks/{name}" in header.source
    tagged = [c for c in student.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and 'MODE = "lecture"' in tagged[0].source, "the parameters cell should survive"
    for cell in solution_cells(student):
        if cell.cell_type == "code":
            assert STUB in cell.source and "# YOUR CODE HERE" in cell.source
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert "Open in Colab" not in text, "the copy's Colab link would open the instructor notebook"
    for_instructors = [line for line in text.splitlines() if "instructor" in line.lower()]
    assert not for_instructors, f"text for instructors is outside the solution markers: {for_instructors}"
    assert all(c.get("execution_count") is None for c in student.cells if c.cell_type == "code")
    assert all(not c.get("outputs") for c in student.cells
               if c.cell_type == "code" and not keeps_picture(c)), \
        "every output but the diagrams' and explorers' pictures should be cleared"
    pictures = [(c.source, c.outputs) for c in instructor.cells if keeps_picture(c)]
    assert [(c.source, c.outputs) for c in student.cells if keeps_picture(c)] == pictures, \
        "the copy should show the same diagrams and explorer pictures as the notebook, before it is run"
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
    assert homework.main(["check-homework", str(student)]) == 1
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
    assert homework.main(["check-homework", str(student)]) == 0
    assert "2 of 2 checks pass" in capsys.readouterr().out


def test_an_existing_copy_keeps_the_students_answers_unless_forced(tiny, capsys):
    instructor, student = tiny
    nb = nbformat.read(student, 4)
    solution_cells(nb)[1].source = "width = 15"
    nbformat.write(nb, student)
    edited = student.read_text()
    assert homework.make([instructor], student.parent) == []
    said = capsys.readouterr().out
    assert student.read_text() == edited
    fresh = student.parent.with_name("homework-2")
    assert said.count("\n") == 1 and said.count(". ") == 0, f"the refusal should be one sentence: {said!r}"
    assert str(student) in said and f"make homework NB=05 OUT={fresh}" in said and f"--out {fresh}" in said
    # the advice works, and keeps the first copy
    assert homework.make([instructor], fresh) == [fresh / student.name]
    assert student.read_text() == edited and "width = 15" not in (fresh / student.name).read_text()
    # asked again, it names a folder that is still free
    homework.make([instructor], student.parent)
    assert f"OUT={student.parent.with_name('homework-3')}" in capsys.readouterr().out
    assert homework.make([instructor], student.parent, force=True) == [student]
    assert "width = 15" not in student.read_text()


@IN_CHECKOUT
def test_copies_go_to_the_folder_named_by_out(tmp_path, capsys):
    out = tmp_path / "my homework"
    assert homework.main(["homework", "01", "--out", str(out)]) == 0
    [written] = out.glob("01_*.ipynb")
    header = nbformat.read(written, 4).cells[0].source
    assert f"make check-homework FILE='{written}'" in header, "the header should name this copy, quoted"
    assert f"wrote '{written}'" in capsys.readouterr().out
    (tmp_path / "a file").write_text("")
    assert homework.main(["homework", "01", "--out", str(tmp_path / "a file")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_no_message_advises_a_command_that_replaces_a_copy():
    for path in (REPO_ROOT / "helper").rglob("*.py"):
        tree = ast.parse(path.read_text())
        documentation = {id(node.body[0].value) for node in ast.walk(tree)  # docstrings may name --force
                         if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                         and ast.get_docstring(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and "homework" in node.value
                    and id(node) not in documentation):
                assert "--force" not in node.value and "FORCE=" not in node.value, (
                    f"{path.name}: {node.value!r} advises a command that replaces a student's copy")


@IN_CHECKOUT
def test_help_names_the_program_and_an_existing_notebook(capsys):
    for command in ("homework", "check-homework"):
        with pytest.raises(SystemExit):
            homework.main([command, "--help"])
        assert capsys.readouterr().out.startswith(f"usage: python -m helper.tools {command}")
    assert (REPO_ROOT / "notebooks" / homework.EXAMPLE.split("/")[-1]).is_file()


@pytest.mark.parametrize("damage", [
    lambda meta: meta["nbgrader"].pop("grade_id"),
    lambda meta: meta["nbgrader"].update(points="one"),
    lambda meta: meta.update(nbgrader="garbage"),
], ids=["no-grade-id", "points-one", "garbage"])
def test_damaged_nbgrader_metadata_is_one_sentence(tiny, damage, capsys):
    _, student = tiny
    nb = nbformat.read(student, 4)
    damage(homework.grade_cells(nb)[0].metadata)
    nbformat.write(nb, student)
    assert homework.main(["check-homework", str(student)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "damaged nbgrader metadata" in captured.err, captured.err
    assert "make homework NB=05 OUT=" in captured.err and "Traceback" not in captured.out + captured.err


def with_answers(student, first: str, second: str) -> None:
    nb = nbformat.read(student, 4)
    solution_cells(nb)[0].source, solution_cells(nb)[1].source = first, second
    nbformat.write(nb, student)


def test_a_solution_cells_own_error_and_an_endless_loop_are_reported(tiny, capsys):
    _, student = tiny
    with_answers(student, "def double(x):\n    return x +* x", "while True:\n    pass")
    reported = []
    start = time.monotonic()
    results = homework.check(student, limit=3, report=reported.append)
    assert time.monotonic() - start < 60, "the endless loop should have been stopped after 3 s"
    assert reported == results, "each exercise should be reported as its check finishes"
    first, second = results
    assert first.message == "your solution cell failed: SyntaxError: invalid syntax (line 2)", first
    assert second.message == "your solution cell failed: did not finish in 3 s: an endless loop?", second

    with_answers(student, "def double(x):\n    return x.twice()", "width = 32 // 0")
    first, second = homework.check(student)
    assert first.message == "AttributeError: 'int' object has no attribute 'twice'", first
    assert second.message == ("your solution cell failed: ZeroDivisionError: integer division or modulo by "
                              "zero")


def test_progress_comes_as_a_table_row_per_exercise(tiny, capsys):
    _, student = tiny
    with_answers(student, "def double(x):\n    while True:\n        pass", "width = 16")
    assert homework.main(["check-homework", "--limit", "3", str(student)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Running the copy") and lines[1].split() == ["exercise", "points", "result",
                                                                           "message"]
    assert lines[2:] == ["ex1-check       1  FAIL    did not finish in 3 s: an endless loop?",
                         "ex2-check       1  PASS    ", "1 of 2 checks pass"]


def make_is_ready() -> bool:
    """Whether ``make`` in the checkout would run a target without installing anything first."""
    return subprocess.run(["make", "-q", "setup"], cwd=REPO_ROOT, capture_output=True).returncode == 0


@pytest.mark.skipif(not make_is_ready(), reason="make setup has not run in this checkout")
def test_make_check_homework_quotes_its_file_and_passes_the_outcome_on(tiny, tmp_path):
    instructor, student = tiny
    spaced = tmp_path / "my homework" / student.name
    spaced.parent.mkdir()
    nbformat.write(paste_back(nbformat.read(student, 4), nbformat.read(instructor, 4)), spaced)
    done = subprocess.run(["make", "-s", "check-homework", f"FILE={spaced}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "2 of 2 checks pass" in done.stdout, done.stdout + done.stderr
    planted = tmp_path / "planted"
    done = subprocess.run(["make", "-s", "check-homework", f"FILE=x; touch {planted}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and not planted.exists(), "a ; in FILE should run nothing"
    assert "There is no notebook at x; touch" in done.stderr


def test_a_copy_never_replaces_its_own_notebook(tiny):
    instructor, _ = tiny
    before = instructor.read_text()
    with pytest.raises(CourseError, match="would write over it"):
        homework.make([instructor], instructor.parent, force=True)
    assert instructor.read_text() == before


@pytest.mark.skipif(not make_is_ready(), reason="make setup has not run in this checkout")
@pytest.mark.parametrize("target", ["run", "homework", "lab"])
def test_make_passes_a_semicolon_in_a_variable_on_as_text(target, tmp_path):
    planted = tmp_path / "planted"
    variable = "DIR" if target == "lab" else "NB"
    done = subprocess.run(["make", "-s", target, f"{variable}=99; touch {planted}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and not planted.exists(), f"a ; in {variable} should run nothing"


def test_notebook_without_exercises_is_refused(tmp_path):
    plain = tmp_path / "09_plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Plain")]), plain)
    with pytest.raises(CourseError, match="no nbgrader check cell"):
        homework.make([plain], tmp_path / "homework")


def test_check_of_missing_file_is_one_sentence(tmp_path, capsys):
    assert homework.main(["check-homework", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_check_of_a_damaged_copy_is_one_sentence(tmp_path, capsys):
    damaged = tmp_path / "07_vgg16.ipynb"
    damaged.write_text('{"cells": [')  # cut short, e.g. by a crash while saving
    assert homework.main(["check-homework", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a readable Jupyter notebook" in err


# --- on the real notebooks ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS)
def test_student_copy_is_clean(path, tmp_path):
    [student] = homework.make([path], tmp_path)
    assert_clean_copy(nbformat.read(student, 4), nbformat.read(path, 4), path.name)


def top_level_names(source: str) -> set[str]:
    """Names a cell binds outside its functions: what it assigns, and the functions it defines."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        else:
            names |= {n.id for n in ast.walk(node)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def by_exercise(cells: list[nbformat.NotebookNode]) -> dict[str, list[str]]:
    """``{exercise: [source, ...]}`` for nbgrader code cells."""
    found: dict[str, list[str]] = {}
    for cell in cells:
        if cell.cell_type == "code":
            exercise = homework.exercise_of(homework.nbgrader_meta(cell)["grade_id"])
            found.setdefault(exercise, []).append(cell.source)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_stub_names_what_its_check_reads(path, tmp_path):
    [student] = homework.make([path], tmp_path)
    instructor, copy_nb = nbformat.read(path, 4), nbformat.read(student, 4)
    solutions, stubs = by_exercise(solution_cells(instructor)), by_exercise(solution_cells(copy_nb))
    for exercise, [check] in by_exercise(homework.grade_cells(copy_nb)).items():
        written = set().union(*(top_level_names(source) for source in solutions.get(exercise, [])))
        read = {n.id for n in ast.walk(ast.parse(check)) if isinstance(n, ast.Name)}
        stub = "\n".join(stubs.get(exercise, []))
        unnamed = sorted(n for n in read & written if not re.search(rf"\b{n}\b", stub))
        assert not unnamed, f"{path.name} {exercise}: the stub never names {unnamed}, which the check reads"


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
