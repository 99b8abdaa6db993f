"""The layout promises: the tools stay apart from the library, every notebook opens with the same set-up
check, and every make target is a `python -m helper.tools` command that works without make."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from conftest import COURSE_NOTEBOOKS, course_notebook_params

from helper.plotting import diagram_names
from helper.tools.cli import COMMANDS
from helper.tools.notebooks import SETUP_CELL, colab_url, diagram_of

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "helper"


def imported_modules(source: str) -> set[str]:
    """Every module that ``source`` imports, as dotted names (``from helper import x`` gives helper.x)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def uses_tools(names: set[str]) -> bool:
    return any(name == "helper.tools" or name.startswith("helper.tools.") for name in names)


def test_the_library_never_imports_the_tools():
    library = [p for p in HELPER.rglob("*.py") if "tools" not in p.relative_to(HELPER).parts]
    assert len(library) > 10, "the library modules should be found"
    offenders = [str(p.relative_to(ROOT)) for p in library if uses_tools(imported_modules(p.read_text()))]
    assert not offenders, f"library modules import from helper.tools: {offenders}"


def test_the_layout_check_catches_an_import_of_the_tools():
    assert uses_tools(imported_modules("from helper.tools import runner"))
    assert uses_tools(imported_modules("from helper import tools"))
    assert not uses_tools(imported_modules("from helper import train, plotting"))


def python_cells(path: Path) -> list[str]:
    """The Python of the notebook's code cells, without IPython's ``%`` and ``!`` lines."""
    code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return ["\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))
            for cell in code]


@pytest.mark.parametrize("path", course_notebook_params())
def test_notebooks_never_import_the_tools(path):
    assert not any(uses_tools(imported_modules(cell)) for cell in python_cells(path)), \
        f"{path.name} imports helper.tools, which is for instructors and CI"


@pytest.mark.parametrize("path", course_notebook_params())
def test_first_code_cell_is_the_set_up_check(path):
    cells = nbformat.read(path, as_version=4).cells
    first = next(c for c in cells if c.cell_type == "code")
    assert first.source == SETUP_CELL, \
        f"{path.name}: the first code cell should be helper.tools.notebooks.SETUP_CELL, unchanged"
    after = cells[cells.index(first) + 1]
    assert "parameters" in after.metadata.get("tags", []), \
        f"{path.name}: the parameters cell should follow it"


def run_set_up_cell(tmp_path: Path, prelude: str) -> list[dict]:
    """Run the set-up cell in a real kernel after ``prelude``; return the outputs of the set-up cell."""
    from nbclient import NotebookClient

    cells = [nbformat.v4.new_code_cell(prelude), nbformat.v4.new_code_cell(SETUP_CELL)]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb.cells[1].outputs


HIDE_HELPER = """\
import importlib.util, sys
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "helper" else real_find_spec(name, *a)
"""


# What the set-up cell looks for to know it runs on Colab.
ON_COLAB = 'import types\nsys.modules["google.colab"] = types.ModuleType("google.colab")\n'


def test_set_up_cell_says_what_to_install_in_one_line(tmp_path):
    [error] = run_set_up_cell(tmp_path, HIDE_HELPER)
    assert error.output_type == "error" and error.ename == "SetupNeeded"
    assert len(error.traceback) == 1 and "%pip install -e .." in error.traceback[0], error.traceback
    assert "restart the kernel" in error.traceback[0]
    assert not (tmp_path / "cnn-course").exists(), "outside Colab the cell should clone nothing"


def test_on_colab_a_failed_clone_is_one_sentence(tmp_path):
    """Colab's branch (tests/test_install.py runs it on Colab's packages); here git cannot reach the URL."""
    offline = 'import os\nos.environ["GIT_CONFIG_COUNT"] = "1"\nos.environ["GIT_CONFIG_KEY_0"] = ' \
              '"url.file:///nonexistent/.insteadOf"\nos.environ["GIT_CONFIG_VALUE_0"] = "https://"\n'
    [error] = run_set_up_cell(tmp_path, HIDE_HELPER + ON_COLAB + offline)
    assert error.ename == "SetupNeeded" and len(error.traceback) == 1, error.traceback
    assert "Could not clone" in error.traceback[0] and "run this cell again" in error.traceback[0]


def test_set_up_cell_names_the_supported_pythons(tmp_path):
    [error] = run_set_up_cell(tmp_path, "import sys\nsys.version_info = (3, 10, 13)")
    assert len(error.traceback) == 1, error.traceback
    assert "Python 3.10" in error.traceback[0] and "3.11, 3.12, 3.13 or 3.14" in error.traceback[0]


def test_set_up_cell_is_silent_when_all_is_well(tmp_path):
    assert run_set_up_cell(tmp_path, "pass") == []


def pip_that_installs(*names: str) -> str:
    """A prelude in which git clones into an empty folder and pip reports that it installed ``names``."""
    report = {"install": [{"metadata": {"name": name}} for name in names]}
    return f"""\
import json, os, subprocess
def fake_run(command, **kwargs):
    if command[0] == "git":
        os.makedirs(command[-1])
    stdout = json.dumps({report!r}) if "pip" in command else ""
    return subprocess.CompletedProcess(command, 0, stdout, "")
subprocess.run = fake_run
"""


def test_on_colab_the_set_up_cell_asks_for_a_restart_only_when_it_replaced_a_package(tmp_path):
    """The real install runs in tests/test_install.py; here pip's report is made up."""
    [error] = run_set_up_cell(tmp_path, HIDE_HELPER + ON_COLAB + pip_that_installs("cnn-course", "NumPy"))
    assert error.ename == "SetupNeeded" and len(error.traceback) == 1, error.traceback
    assert "newer numpy" in error.traceback[0] and "restart the session" in error.traceback[0]
    assert (tmp_path / "cnn-course").is_dir()

    prelude = HIDE_HELPER + ON_COLAB + pip_that_installs("cnn-course", "not-on-colab")
    [done] = run_set_up_cell(tmp_path, prelude)
    assert done.output_type == "stream" and done.text.startswith("The course is set up in"), done


def make_targets() -> dict[str, str]:
    """``{target: recipe}`` for the Makefile's targets that call the tools."""
    text = (ROOT / "Makefile").read_text()
    return dict(re.findall(r"^([a-z-]+): setup\n\t(.+)$", text, re.M))


def test_every_make_target_is_a_tools_command():
    targets = make_targets()
    assert set(targets) == {"run", "test", "test-fast", "lint", "lab", "data", "homework", "check-homework",
                            "bench"}
    for target, recipe in targets.items():
        assert recipe.startswith(f"$(TOOLS) {target}"), \
            f"make {target} should call python -m helper.tools {target}"
        assert target in COMMANDS, f"python -m helper.tools has no command {target!r}"


def test_readme_shows_each_command_without_make():
    readme = (ROOT / "README.md").read_text()
    missing = [t for t in make_targets() if f"python -m helper.tools {t}" not in readme]
    assert not missing, f"README.md should give the plain-Python command for: {missing}"


@pytest.mark.parametrize(("command", "absent", "extra"), [
    (["homework", "07"], "nbgrader", "tools"),
    (["lint"], "ruff", "dev"),
    (["test"], "papermill", "dev"),  # the dev extra includes the tools extra
])
def test_a_tool_without_its_extra_says_which_to_install(monkeypatch, capsys, command, absent, extra):
    from importlib.metadata import PackageNotFoundError

    from helper.tools import cli

    def version(name: str) -> str:
        if name == absent:
            raise PackageNotFoundError(name)
        return "999.0"

    monkeypatch.setattr(cli, "version", version)
    assert cli.main(command) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f'pip install -e ".[{extra}]"' in line and f"lacks {absent}:" in line, line
    assert set(cli.EXTRAS) <= set(COMMANDS)


def test_a_tool_with_too_old_a_package_says_which(monkeypatch, capsys):
    """Colab's ipykernel 6.17 is older than the tools extra needs: it counts as missing, with its version."""
    from helper.tools import cli

    monkeypatch.setattr(cli, "version", lambda name: "6.17.1" if name == "ipykernel" else "999.0")
    assert cli.main(["run"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "lacks ipykernel>=" in line and "(it has 6.17.1)" in line, line


def test_a_tool_in_a_checkout_that_was_never_installed_says_so(monkeypatch, capsys):
    from importlib.metadata import PackageNotFoundError

    from helper.tools import cli

    def metadata(name: str):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "metadata", metadata)
    assert cli.main(["run"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("The course is not installed in this environment"), line


def test_tools_command_line_lists_its_commands():
    done = subprocess.run([sys.executable, "-m", "helper.tools", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0 and all(name in done.stdout for name in COMMANDS), done.stdout


@pytest.mark.parametrize("module", ["bench", "homework", "refresh", "runner"])
def test_each_tool_also_runs_as_its_own_module(module):
    """python -m helper.tools.NAME works too (the GPU timing kit calls bench and runner so)."""
    done = subprocess.run([sys.executable, "-m", f"helper.tools.{module}", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "usage:" in done.stdout, done.stdout + done.stderr


def test_unknown_notebook_is_one_sentence(tmp_path):
    done = subprocess.run([sys.executable, "-m", "helper.tools", "run", "--out", str(tmp_path), "99"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "No notebook matches '99'" in done.stderr


def repository() -> str:
    """The course repository's URL: pyproject.toml, [project.urls]."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def colab_address(notebook: str) -> str:
    owner_and_name = repository().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/main/notebooks/{notebook}"


COLAB_LINK = re.compile(r"\[Open in Colab\]\((\S+?)\)")


@pytest.mark.parametrize("path", course_notebook_params())
def test_notebooks_copy_the_repository_url_of_pyproject(path):
    set_up = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert f'REPOSITORY = "{repository()}"' in set_up.source, \
        f"{path.name}: the set-up cell should clone {repository()} (pyproject.toml, [project.urls])"


@pytest.mark.parametrize("path", course_notebook_params())
def test_each_notebook_opens_itself_in_colab(path):
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    assert COLAB_LINK.findall(first.source) == [colab_address(path.name)], \
        f"{path.name}: its first markdown cell should link to {colab_address(path.name)}"
    assert colab_url(path.name) == colab_address(path.name)


def test_readme_links_each_notebook_to_colab():
    readme = (ROOT / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| \[`(\d\d_\w+)`\]\((\S+?)\) \|", readme, re.M)}
    assert rows == {p.stem: colab_address(p.name) for p in COURSE_NOTEBOOKS}, \
        "README.md's notebook table should link each notebook to Colab by its own path"


def test_every_notebook_is_found():
    assert len(COURSE_NOTEBOOKS) == 14


def test_notebooks_show_diagrams_as_outputs_not_markdown_images():
    """A markdown image with a relative path shows neither in Colab nor in a copy kept elsewhere."""
    shown, linked = set(), []
    for path in COURSE_NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        shown |= {diagram_of(c) for c in nb.cells if diagram_of(c)}
        linked += [f"{path.name}: {line}" for c in nb.cells if c.cell_type == "markdown"
                   for line in c.source.splitlines() if re.search(r"!\[[^]]*\]\((?!https?:)", line)]
    assert not linked, f"use plotting.show_diagram(NAME) instead of a markdown image: {linked}"
    drawn = set(diagram_names())
    assert shown == drawn, f"shown by no notebook: {sorted(drawn - shown)}; unknown: {sorted(shown - drawn)}"
