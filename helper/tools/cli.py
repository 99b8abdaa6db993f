"""One command line for every course tool, so that nothing needs ``make`` (Windows, Colab).

    python -m helper.tools COMMAND [ARGS]      # the same as the console script: cnn-course COMMAND [ARGS]

Each ``make`` target calls the command of the same name, so both routes do exactly the same.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, metadata, version

from helper.errors import CourseError
from helper.paths import PROJECT_NAME, checkout_root
from helper.tools.notebooks import REPO_ROOT

PYTEST = ["-m", "pytest", "-p", "no:cacheprovider"]
LINTED = ["helper", "tests", "notebooks"]
# Two workers, a test file at a time (tests/conftest.py orders the files for them): CI's machine has two
# cores, and much of the suite waits on pip, kernel start-ups and imports rather than on the CPU.
XDIST = ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder"]


def _in_checkout(command: str) -> None:
    if checkout_root() is None:
        raise CourseError(f"`{command}` works in a checkout of the course repository; this course package is "
                          "installed, so run it from a clone (README.md, Set-up).")


def _python(*args: str) -> int:
    """Run this interpreter with ``args`` from the repository root; return its exit status."""
    return subprocess.call([sys.executable, *args], cwd=REPO_ROOT)


# One function per command: it imports its tool only when called (so that `--help` and the light commands
# start fast) and passes the arguments on; COMMANDS below says what each one does.
def run(args: list[str]) -> int:
    from helper.tools import runner

    return runner.main(args)


def homework(args: list[str]) -> int:
    from helper.tools import homework as tool

    return tool.main(["homework", *args])


def check_homework(args: list[str]) -> int:
    from helper.tools import homework as tool

    return tool.main(["check-homework", *args])


def bench(args: list[str]) -> int:
    from helper.tools import bench as tool

    return tool.main(args)


def refresh(args: list[str]) -> int:
    from helper.tools import refresh as tool

    return tool.main(args)


def diagrams(args: list[str]) -> int:
    from helper.tools import diagrams as tool

    return tool.main(args)


def data(args: list[str]) -> int:
    from helper import download as tool

    return tool.main(args or ["--download", "mnist", "cifar10"])


def site(args: list[str]) -> int:
    _in_checkout("site")
    from helper.tools import site as tool

    return tool.main(args)


def lab(args: list[str]) -> int:
    _in_checkout("lab")
    from helper.tools import lab as tool

    return tool.main(args)


def lint(args: list[str]) -> int:
    _in_checkout("lint")
    return _python("-m", "ruff", "check", *(args or LINTED)) or _python("-m", "mypy")


def test(args: list[str]) -> int:
    """Everything CI checks: lint, unit tests, every notebook, nbval on the committed outputs, browser."""
    _in_checkout("test")
    return lint([]) or _python(*PYTEST, "tests", "notebooks", "--nbval-lax", "--nbval-current-env",
                               *XDIST, "--durations=15", *args)


def test_fast(args: list[str]) -> int:
    """The quick part while editing helper/: no notebook is executed and no browser is started."""
    _in_checkout("test-fast")
    return _python(*PYTEST, "tests", "-m", "not notebook and not browser and not install", *XDIST, *args)


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "run": (run, "execute notebooks: [--mode lecture|full|smoke] [--out build] [NB ...]"),
    "data": (data, "download MNIST and CIFAR-10 (python -m helper.download --help); --where: the folder"),
    "homework": (homework, "student copies in homework/, kept once there: [NB ...] [--out DIR]"),
    "check-homework": (check_homework, "run a student copy's checks: FILE [--limit SECONDS]"),
    "bench": (bench, "training speed: fit vs a bare loop, ours vs torchvision"),
    "refresh": (refresh, "re-execute notebooks, keeping only the reference outputs: NB ..."),
    "diagrams": (diagrams, "redraw the committed diagrams in helper/figures/: [NAME ...] [--out DIR]"),
    "site": (site, "the course website in build/site from the lecture run: [--executed DIR] [--out DIR]"),
    "lab": (lab, "JupyterLab on the repository: [--dir DIR] [--instructor: with nbgrader's tools]"),
    "lint": (lint, "ruff on helper, tests and notebooks, then mypy on helper"),
    "test": (test, "the whole test suite, as CI runs it (needs the dev extra)"),
    "test-fast": (test_fast, "unit tests only"),
}


# The extra of pyproject.toml whose packages each command needs beyond the library's (the others need none).
EXTRAS = {"run": "tools", "homework": "tools", "check-homework": "tools", "refresh": "tools", "lab": "tools",
          "site": "tools", "lint": "dev", "test": "dev", "test-fast": "dev"}


def missing_packages(extra: str) -> list[str]:
    """The packages of the course's ``extra`` (an extra it builds on included) that this environment lacks."""
    from packaging.requirements import Requirement

    try:
        requires = metadata(PROJECT_NAME).get_all("Requires-Dist") or []
    except PackageNotFoundError as error:
        raise CourseError(f"The course is not installed in this environment: run  pip install -e "
                          f"\".[{extra}]\"  in the course checkout (make setup installs everything)."
                          ) from error
    missing = []
    for line in requires:
        requirement = Requirement(line)
        if requirement.marker is None or not requirement.marker.evaluate({"extra": extra}):
            continue
        if requirement.name == PROJECT_NAME:
            missing += [name for inner in sorted(requirement.extras) for name in missing_packages(inner)]
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            missing.append(requirement.name)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{requirement.name}{requirement.specifier} (it has {installed})")
    return missing


def _check_extra(command: str) -> None:
    extra = EXTRAS.get(command)
    if extra and (missing := missing_packages(extra)):
        raise CourseError(f"`python -m helper.tools {command}` needs the course's {extra} extra, and this "
                          f"environment lacks {', '.join(missing)}: install it with  pip install -e "
                          f"\".[{extra}]\"  in the course checkout (make setup installs everything).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helper.tools", description=__doc__.split("\n\n")[0],
        epilog="\n".join(f"  {name:<15} {text}" for name, (_, text) in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND", help="one of those below")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed on to the command")
    options = parser.parse_args(argv)
    try:
        _check_extra(options.command)
        return COMMANDS[options.command][0](options.args)
    except CourseError as error:
        print(error, file=sys.stderr)
        return 2
