"""JupyterLab for working on the course: the repository, so that notebooks/ and homework/ are both there.

    python -m helper.tools lab                   # the repository root
    python -m helper.tools lab --dir homework    # a folder of your choice
    python -m helper.tools lab --instructor      # with nbgrader's instructor tools (Formgrader, ...)
    python -m helper.tools lab --port 8890       # other options go on to `jupyter lab`

A student's lab leaves out nbgrader's instructor interface (the Nbgrader menu with Formgrader and
Course List, the Create Assignment sidebar, the Validate button): the folder ``student_lab/`` next to
this file, put first on ``JUPYTER_CONFIG_PATH`` for this server only, disables nbgrader's JupyterLab
extension and its server extensions. Nothing installed is changed, so ``--instructor`` (``make lab
INSTRUCTOR=1``) starts the same lab with them.

A student's lab also saves the state of a notebook's widgets with it (``labconfig/
default_setting_overrides.json`` there turns on ipywidgets' "Save Widget State Automatically"), so that an
explorer that was run, saved and opened again shows its last picture, not "Error displaying widget: model
not found".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from helper.errors import CourseError
from helper.tools.notebooks import REPO_ROOT

STUDENT_CONFIG = Path(__file__).resolve().with_name("student_lab")


def command(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """The ``jupyter lab`` command and environment that ``argv`` asks for; a sentence for a bad folder."""
    parser = argparse.ArgumentParser(prog="python -m helper.tools lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("--dir", type=Path, default=REPO_ROOT,
                        help="the folder to open (default: the repository root)")
    parser.add_argument("--instructor", action="store_true",
                        help="keep nbgrader's instructor interface (Formgrader, Create Assignment, Validate)")
    options, lab_options = parser.parse_known_args(argv)
    folder = options.dir.expanduser().resolve()
    if not folder.is_dir():
        raise CourseError(f"There is no folder {folder} to open; pass an existing one with --dir "
                          "(make lab DIR=...), or leave it out for the repository root.")
    env = dict(os.environ)
    if not options.instructor:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [str(STUDENT_CONFIG), *filter(None, [os.environ.get("JUPYTER_CONFIG_PATH")])])
    return [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={folder}", *lab_options], env


def main(argv: list[str] | None = None) -> int:
    lab, env = command(sys.argv[1:] if argv is None else argv)
    return subprocess.call(lab, env=env, cwd=REPO_ROOT)
