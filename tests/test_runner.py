"""helper.runner: picking notebooks, one-sentence failures, the results table and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import KERNELSPEC, write_tiny_notebook

from helper.errors import CourseError
from helper.tools import notebooks, runner

NAMES = [Path(f"/nb/{n}.ipynb") for n in ("01_padding", "03_training", "07_resnet", "11_network_in_network")]


def test_select_by_number_prefix_or_all():
    assert notebooks.select([], NAMES) == NAMES
    assert notebooks.select(["7"], NAMES) == [NAMES[2]]
    assert notebooks.select(["11_net", "03"], NAMES) == [NAMES[1], NAMES[3]]


def test_select_takes_a_path_as_that_file_and_never_as_a_name(tmp_path, monkeypatch):
    copy = tmp_path / "hw" / "07_resnet.ipynb"
    copy.parent.mkdir()
    copy.write_text("{}")
    assert notebooks.select([str(copy)], NAMES) == [copy.resolve()]
    monkeypatch.setenv("HOME", str(tmp_path))
    assert notebooks.select(["~/hw/07_resnet.ipynb"], NAMES) == [copy.resolve()]
    for missing in ("homework/nope/07_resnet.ipynb", "07_resnet.ipynb", str(tmp_path / "hw" / "07")):
        with pytest.raises(CourseError, match="There is no notebook at"):
            notebooks.select([missing], NAMES)  # not the instructor's 07, which has the solutions


def test_select_unknown_notebook_is_one_sentence():
    with pytest.raises(CourseError, match=r"No notebook matches '42'.*07_resnet"):
        notebooks.select(["42"], NAMES)


def test_a_file_that_is_not_a_notebook_is_one_sentence_and_the_run_goes_on(tiny_course, tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    with pytest.raises(CourseError, match="is not a readable Jupyter notebook"):
        notebooks.read_notebook(broken)
    assert runner.main(["--mode", "smoke", "--out", str(tmp_path / "build"), str(broken), "1"]) == 1
    printed = capsys.readouterr().out
    assert "Traceback" not in printed and "is not a readable Jupyter notebook" in printed
    assert "1 of 2 notebooks ran" in printed


def test_one_line_drops_colour_and_newlines():
    assert notebooks.one_line("\x1b[31mCourseError: bad\x1b[0m\n  thing ") == "CourseError: bad thing"
    assert len(notebooks.one_line("x" * 500)) == 200


def test_results_table_names_fallback_and_failures():
    ok = runner.Outcome("03_training", True, 12.4, "test accuracy 91.2%",
                        {"dataset": "digits", "fell_back": True, "device": "cpu", "epochs": 3,
                         "test_accuracy": 0.912})
    failed = runner.Outcome("07_resnet", False, 3.0, "AssertionError: loss should fall", {})
    table = runner.update_results("", [ok, failed], "lecture").splitlines()
    assert table[2] == "| notebook | data set | device | epochs | test accuracy | seconds | headline |"
    assert table[4] == ("| 03_training | digits (offline fallback) | cpu | 3 | 91.2% | 12 "
                        "| test accuracy 91.2% |")
    assert table[5] == "| 07_resnet | FAILED: AssertionError: loss should fall | - | - | - | 3 | - |"


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    """A notebooks folder with one good notebook, one failing assertion and one CourseError."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_tiny_notebook(folder / "01_good.ipynb")
    write_tiny_notebook(folder / "02_assert.ipynb", ['assert MODE == "full", "MODE should be full here"'])
    write_tiny_notebook(folder / "03_course_error.ipynb",
                        ['from helper.errors import CourseError\nraise CourseError("Pick a real data set.")'])
    monkeypatch.setattr(runner, "NOTEBOOK_DIR", folder)
    return folder


def test_run_reports_each_failure_in_one_sentence_and_goes_on(tiny_course, tmp_path, capsys):
    out = tmp_path / "build"
    assert runner.main(["--mode", "smoke", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "Traceback" not in printed
    rows = {line.split()[0]: line for line in printed.splitlines()[1:4]}
    assert rows["01_good"].split()[1] == "ok" and rows["01_good"].endswith("mode smoke")
    assert rows["02_assert"].split()[1] == "FAILED"
    assert rows["02_assert"].endswith("AssertionError: MODE should be full here")
    assert rows["03_course_error"].endswith("CourseError: Pick a real data set.")
    for name in ("01_good", "02_assert", "03_course_error"):
        assert (out / f"{name}.ipynb").is_file() and (out / f"{name}.html").is_file()
    results = (out / "results.md").read_text()
    assert "| 01_good | digits (offline fallback) | cpu | 1 | 50.0% |" in results


def test_run_selected_notebook_succeeds_and_keeps_the_other_rows(tiny_course, tmp_path, capsys):
    out = tmp_path / "build"
    assert runner.main(["--mode", "smoke", "--out", str(out), "3"]) == 1
    assert runner.main(["--mode", "smoke", "--out", str(out), "1"]) == 0
    assert "1 of 1 notebooks ran" in capsys.readouterr().out
    table = (out / "results.md").read_text().splitlines()
    rows = [line.split(" | ")[:2] for line in table if line.startswith("| 0")]
    assert rows == [["| 01_good", "digits (offline fallback)"],
                    ["| 03_course_error", "FAILED: CourseError: Pick a real data set."]]


def test_results_of_some_notebooks_replace_their_rows_and_keep_the_others():
    def outcome(name: str, accuracy: float) -> runner.Outcome:
        return runner.Outcome(name, True, 2.0, f"{name}: {accuracy:.0%}",
                              {"dataset": "digits", "device": "cpu", "epochs": 1, "test_accuracy": accuracy})

    first = runner.update_results(
        "", [outcome("07_vgg", 0.9), outcome("01_pad", 0.5), outcome("03_cnn", 0.7)], "lecture")
    again = runner.update_results(first, [outcome("07_vgg", 0.95), outcome("03_cnn", 0.75)], "lecture")
    rows = [line for line in again.splitlines() if line.startswith("| 0")]
    assert [row.split(" | ")[0] for row in rows] == ["| 01_pad", "| 03_cnn", "| 07_vgg"], "notebook order"
    assert rows[0] == "| 01_pad | digits | cpu | 1 | 50.0% | 2 | 01_pad: 50% |", "a row not run stays"
    assert "95.0%" in rows[2] and "90.0%" not in again and "70.0%" not in again, "the runs replace their rows"
    full = runner.update_results(again, [outcome("03_cnn", 0.2)], "full")
    assert full.startswith(again) and full.count("Results of `make run MODE=") == 2, "a table per mode"
    assert runner.update_results(full, [], "lecture") == full


@pytest.mark.parametrize("args", [["--mode", "fast"], ["--mode", "smoke", "99"]])
def test_bad_request_is_one_sentence_and_exit_2(tiny_course, tmp_path, capsys, args):
    assert runner.main([*args, "--out", str(tmp_path / "build")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(".")
    assert not (tmp_path / "build").exists()


def test_read_result_returns_the_last_recorded_headline():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from helper.results import RESULT_MIME, read_result

    def shown(headline: str) -> dict:
        return new_output("display_data", data={RESULT_MIME: {"headline": headline}, "text/plain": headline})

    nb = new_notebook(cells=[new_code_cell("a", outputs=[shown("first")]), new_code_cell("b"),
                             new_code_cell("c", outputs=[shown("second")])])
    assert read_result(nb) == {"headline": "second"}
    assert read_result(new_notebook(cells=[new_code_cell("x")])) == {}


def _sleeper(path: Path, started: Path) -> Path:
    """A notebook whose second cell says it has started, then sleeps long enough to be interrupted."""
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell('MODE = "lecture"', metadata={"tags": ["parameters"]}),
             new_code_cell(f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(120)")]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


def test_ctrl_c_stops_the_run_reports_the_notebook_and_writes_the_table(tmp_path):
    started = tmp_path / "started"
    first = _sleeper(tmp_path / "01_sleep.ipynb", started)
    second = _sleeper(tmp_path / "02_next.ipynb", started)
    out = tmp_path / "build"
    run = subprocess.Popen([sys.executable, "-m", "helper.tools", "run", "--mode", "smoke", "--out", str(out),
                            str(first), str(second)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True)  # its own process group, as a terminal's job
    deadline = time.monotonic() + 120
    while not started.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    printed, _ = run.communicate(timeout=60)
    assert run.returncode == 130, printed
    assert "Traceback" not in printed and "AssertionError" not in printed
    row = next(line for line in printed.splitlines() if line.startswith("01_sleep"))
    assert row.split()[1] == "interrupted"
    assert "02_next" not in printed  # the run stopped
    assert "| 01_sleep | FAILED: interrupted (Ctrl-C)" in (out / "results.md").read_text()


def test_check_homework_says_interrupted(monkeypatch, tmp_path, capsys):
    from helper.tools import homework

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(homework, "execute", interrupted)
    copy = write_tiny_notebook(tmp_path / "01_tiny.ipynb")
    try:
        status = homework.main(["check-homework", str(copy)])
    except KeyboardInterrupt:
        pytest.fail("check-homework let KeyboardInterrupt escape as a traceback")
    assert status == 130
    assert "Interrupted (Ctrl-C)" in capsys.readouterr().err


NOT_NOTEBOOKS = {
    "empty object": {},
    "cell without source": {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                            "cells": [{"id": "a", "cell_type": "code", "metadata": {}, "outputs": [],
                                       "execution_count": None}]},
}


def test_json_that_is_not_a_notebook_is_one_sentence_each_and_the_run_goes_on(tmp_path, capsys):
    paths = []
    for number, (name, content) in enumerate(NOT_NOTEBOOKS.items(), 1):
        paths.append(tmp_path / f"0{number}_{name.replace(' ', '_')}.ipynb")
        paths[-1].write_text(json.dumps(content))
        with pytest.raises(CourseError, match="is not a readable Jupyter notebook"):
            notebooks.read_notebook(paths[-1])
    out = tmp_path / "build"
    assert runner.main(["--mode", "smoke", "--out", str(out), *map(str, paths)]) == 1
    printed = capsys.readouterr().out
    assert "Traceback" not in printed and printed.count("is not a readable Jupyter notebook") == 2
    assert "0 of 2 notebooks ran" in printed
    assert (out / "results.md").read_text().count("is not a readable Jupyter notebook") == 2
    from helper.tools import homework

    for path in paths:
        assert homework.main(["check-homework", str(path)]) == 2
        assert "is not a readable Jupyter notebook" in capsys.readouterr().err


def test_out_that_holds_the_notebook_itself_is_refused(tiny_course, capsys):
    before = (tiny_course / "01_good.ipynb").read_bytes()
    assert runner.main(["--mode", "smoke", "--out", str(tiny_course), "1"]) == 2
    assert "would write over it" in capsys.readouterr().err
    assert (tiny_course / "01_good.ipynb").read_bytes() == before


def _a_file(tmp_path: Path) -> Path:
    (tmp_path / "taken").write_text("")
    return tmp_path / "taken"


@pytest.mark.parametrize(("out", "message"), [
    (_a_file, "is a file or lies under one"),
    (lambda tmp_path: _a_file(tmp_path) / "build", "is a file or lies under one"),
    (lambda tmp_path: Path("/proc/course-build"), "Cannot write into --out"),
])
def test_out_that_cannot_be_written_is_one_sentence(out, message, tiny_course, tmp_path, capsys):
    assert runner.main(["--mode", "smoke", "--out", str(out(tmp_path)), "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_one_sentence(tiny_course, tmp_path, capsys):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert runner.main(["--mode", "smoke", "--out", str(tmp_path / "ro"), "1"]) == 2
    assert "Cannot write into --out" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device that is always full")
def test_a_full_disk_is_one_sentence_and_keeps_the_table(tiny_course, tmp_path, capsys):
    out = tmp_path / "build"
    out.mkdir()
    for name in ("01_good.html", "results.md"):  # writing either fails as on a full disk
        (out / name).symlink_to("/dev/full")
    assert runner.main(["--mode", "smoke", "--out", str(out), "1"]) == 1
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    row = next(line for line in printed.out.splitlines() if line.startswith("01_good"))
    assert row.split()[1] == "FAILED" and "(No space left on device); free some" in row
    assert "| 01_good | FAILED: Could not write" in printed.out  # the table, printed instead
    assert printed.err.startswith(f"Could not write {out / 'results.md'} (No space left on device)")
    executed = notebooks.read_notebook(out / "01_good.ipynb")
    assert notebooks._write_output(executed, Path("/dev/full")).startswith(
        "Could not write /dev/full (No space left on device)")
