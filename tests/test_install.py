"""Installs the way students have them, in one second environment: Python 3.13 with Google Colab's
versions of its packages (tests/colab-packages.txt), whose torch/torchvision are also the oldest pair that
pyproject.toml admits (tests/test_pins.py checks both).

First the course is installed as the README tells Colab users: a notebook's first cell, run with
``google.colab`` present, clones the repository (redirected by git to a snapshot of this working tree) and
installs what Colab lacks. That must change none of Colab's packages, and two notebooks then run in smoke
mode on Colab's own kernel stack, with nbclient (tests/run_like_colab.py); every explorer takes its steps
(tests/explorer_scenarios.py) with Colab's ipywidgets 7.7. Then the course's wheel with
its dev extra goes on top, without constraints.txt, and is used outside the checkout, offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from explorer_scenarios import EXPLORER_SCENARIOS, wrong_rows
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_pins import colab

from helper.tools.notebooks import REPOSITORY, SETUP_CELL, WIDGET_VIEW, explorer_of

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
COLAB_PACKAGES = ROOT / "tests" / "colab-packages.txt"
COLAB_PYTHON = "3.13"
INSTALL_TIMEOUT = 1200  # seconds; torch with its CUDA libraries is several GB
NOTEBOOKS = ("01", "03")  # quick in smoke mode; 03 asks for MNIST, so it shows where data would go
# On Colab: 07 trains an architecture (live plot, progress bars, diagram); 10 shows diagrams, a progress
# bar and its recorded result.
COLAB_NOTEBOOKS = ("07", "10")


def _version_of(python: str) -> str | None:
    """``"3.13"`` for a working interpreter, None for a missing one (or a pyenv shim that refuses)."""
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _pyenv_pythons() -> dict[str, str]:
    """``{"3.13": path}`` for the versions that pyenv (if it is installed) knows about."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    names = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout.split()
    found = {}
    for name in names:
        python = Path(root, "versions", name, "bin", "python")
        if python.exists() and (version := _version_of(str(python))):
            found.setdefault(version, str(python))
    return found


def second_python() -> str:
    """A Python 3.13 (Colab's) for the second environment: $COURSE_SECOND_PYTHON, on PATH, or from pyenv."""
    if chosen := os.environ.get("COURSE_SECOND_PYTHON"):
        return chosen
    if (path := shutil.which(f"python{COLAB_PYTHON}")) and _version_of(path) == COLAB_PYTHON:
        return path
    if found := _pyenv_pythons().get(COLAB_PYTHON):
        return found
    pytest.fail(f"No Python {COLAB_PYTHON} (Colab's) was found on PATH or through pyenv; install one or "
                "name it in COURSE_SECOND_PYTHON.")


def oldest_tested(name: str) -> str:
    """``"torch==2.11.*"``: the lower bound that pyproject.toml declares for ``name``, as a pin."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        declared = [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]
    [bound] = [s.version for r in declared if r.name == name for s in r.specifier if s.operator == ">="]
    return f"{name}=={bound}.*"


def run(command: list[str], timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, \
        f"{' '.join(command[:4])} ... failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def distributions(python: Path) -> dict[str, str]:
    """``{normalised name: version}`` of every distribution installed for ``python``."""
    code = ("import importlib.metadata as m, json; "
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")
    found = json.loads(run([str(python), "-I", "-c", code]).stdout)  # -I: not the checkout's *.egg-info
    return {canonicalize_name(name): version for name, version in found.items()}


def snapshot_repository(folder: Path) -> Path:
    """A git repository of this working tree as it is (committed or not, without what git ignores)."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the working tree is left out
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    git = ["git", "-c", "user.name=course tests", "-c", "user.email=tests@localhost",
           "-c", "commit.gpgsign=false"]
    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "snapshot"]):
        run([*git, *command], cwd=folder)
    return folder


def student_env(home: Path) -> dict[str, str]:
    """No COURSE_DATA, a fresh home and cache folder, and an MNIST source that refuses at once (offline)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), COURSE_MNIST_URLS="http://127.0.0.1:9/",
               COURSE_CIFAR10_URLS="http://127.0.0.1:9/cifar-10-python.tar.gz")
    return env


def course_notebook(number: str) -> Path:
    return next((ROOT / "notebooks").glob(f"{number}_*.ipynb"))


@dataclass
class Environment:
    python: Path
    bin: Path
    version: str
    home: Path
    colab: dict[str, str]  # every distribution in it before the course: {normalised name: version}


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> Environment:
    """Python 3.13 with Colab's versions of the listed packages; torch and torchvision from the registry."""
    base = tmp_path_factory.mktemp("second-python")
    run([second_python(), "-m", "venv", str(base / "venv")])
    python = base / "venv" / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "-r", str(COLAB_PACKAGES)], timeout=INSTALL_TIMEOUT)
    return Environment(python, python.parent, _version_of(str(python)), base / "home", distributions(python))


@dataclass
class ColabRun:
    content: Path  # Colab's /content: the notebooks' folder, where the set-up cell clones the course
    after: dict[str, str]  # the distributions after the set-up cell installed the course
    notebooks: list[nbformat.NotebookNode]  # executed, in the order of COLAB_NOTEBOOKS


@pytest.fixture(scope="module")
def on_colab(environment, tmp_path_factory) -> ColabRun:
    """COLAB_NOTEBOOKS run in smoke mode as on Colab: the first one's set-up cell sets the course up.

    git fetches the repository's URL (pyproject.toml) from a snapshot of this working tree instead.
    """
    base = tmp_path_factory.mktemp("colab")
    content, executed = base / "content", base / "executed"
    content.mkdir()
    executed.mkdir()
    snapshot = snapshot_repository(base / "repository")
    env = student_env(environment.home) | {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_VALUE_0": REPOSITORY,
                                           "GIT_CONFIG_KEY_0": f"url.{snapshot.as_uri()}.insteadOf"}
    copies = [shutil.copy(course_notebook(n), content) for n in COLAB_NOTEBOOKS]
    run([str(environment.python), str(ROOT / "tests" / "run_like_colab.py"), "smoke", str(executed), *copies],
        timeout=900, env=env, cwd=content)
    notebooks = [nbformat.read(executed / Path(c).name, as_version=4) for c in copies]
    return ColabRun(content, distributions(environment.python), notebooks)


def test_the_environment_holds_colabs_versions(environment):
    wrong = {name: environment.colab.get(name) for name, version in colab().items()
             if environment.colab.get(name) != version}
    assert not wrong, f"the second environment should hold Colab's versions, but has {wrong}"
    assert environment.version == COLAB_PYTHON


def test_on_colab_the_first_cell_installs_the_course_and_changes_none_of_colabs(on_colab, environment):
    first = next(c for c in on_colab.notebooks[0].cells if "setup-check" in c.metadata.get("tags", []))
    assert first.source == SETUP_CELL and first.outputs[0].text.startswith("The course is set up in"), \
        "the notebook's set-up cell should have set the course up"
    assert (on_colab.content / "cnn-course" / "pyproject.toml").is_file(), \
        "the set-up cell should clone the course next to the notebook, as into Colab's /content"
    changed = {name: f"{version} -> {on_colab.after.get(name, 'removed')}"
               for name, version in environment.colab.items() if on_colab.after.get(name) != version}
    assert not changed, f"setting the course up changed Colab's packages: {changed}"
    added = set(on_colab.after) - set(environment.colab)
    assert added == {"cnn-course"}, f"the set-up cell should install the course alone, not {sorted(added)}"


def test_notebooks_run_on_colabs_kernel_stack(on_colab):
    pins = colab()
    for nb in on_colab.notebooks:
        [printed] = nb.cells[0].outputs  # tests/run_like_colab.py's first cell: the kernel's versions
        kernel = {canonicalize_name(name): version for name, version in json.loads(printed.text).items()}
        assert kernel == {name: pins[name] for name in kernel}, f"not Colab's versions: {kernel}"


def outputs(nb: nbformat.NotebookNode, where=lambda cell: True) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" and where(c) for o in c.get("outputs", [])]


def test_on_colab_progress_bars_live_plots_diagrams_and_results_show(on_colab):
    from helper.results import RESULT_MIME
    from helper.tools.notebooks import diagram_of

    for number, nb in zip(COLAB_NOTEBOOKS, on_colab.notebooks, strict=True):
        data = [o.get("data", {}) for o in outputs(nb)]
        # helper.progress draws each bar as a widget and, once closed, puts its last line in the widget's
        # place as display data (tqdm's text bar, without ipywidgets, would be a stream on stderr)
        bars = [o for o in outputs(nb) if o.get("output_type") == "display_data"
                and "epochs: 100%" in o.get("data", {}).get("text/plain", "")]
        assert bars, f"{number}: tqdm should draw its progress bars with Colab's ipywidgets"
        left_widgets = outputs(nb, lambda c: explorer_of(c) is None)
        assert not any(WIDGET_VIEW in o.get("data", {}) for o in left_widgets), \
            f"{number}: a closed progress bar should leave text, not a widget that a reopened notebook lacks"
        shown = [o.get("data", {}) for o in outputs(nb, lambda c: explorer_of(c) is not None)]
        assert all({WIDGET_VIEW, "image/png", "text/plain"} <= set(d) for d in shown), \
            f"{number}: an explorer should show its widget, with its picture for pages without widgets"
        assert any(RESULT_MIME in d for d in data), f"{number}: record_result should show the headline"
        diagrams = outputs(nb, lambda c: diagram_of(c) is not None)
        assert diagrams and all("image/png" in o.get("data", {}) for o in diagrams), \
            f"{number}: show_diagram should show the diagrams as pictures"
        fitted = outputs(nb, lambda c: "train.fit(" in c.source and "live_plot=True" in c.source)
        assert any("image/png" in o.get("data", {}) for o in fitted), f"{number}: fit should draw live curves"


# Takes every explorer's scenario (tests/explorer_scenarios.py) with Colab's ipywidgets; prints JSON.
EXPLORERS_ON_COLAB = """
import json
import sys

import ipywidgets

sys.path.insert(0, sys.argv[1])
from explorer_scenarios import EXPLORER_SCENARIOS, replay

print(json.dumps({"ipywidgets": ipywidgets.__version__,
                  "replays": {name: replay(name) for name in EXPLORER_SCENARIOS}}))
"""


def test_on_colab_the_explorers_follow_their_controls(on_colab, environment):
    done = run([str(environment.python), "-c", EXPLORERS_ON_COLAB, str(ROOT / "tests")],
               env=student_env(environment.home), cwd=on_colab.content)
    report = json.loads(done.stdout)
    assert report["ipywidgets"] == colab()["ipywidgets"], f"not Colab's ipywidgets: {report['ipywidgets']}"
    assert sorted(report["replays"]) == sorted(EXPLORER_SCENARIOS)
    wrong = [line for name, rows in report["replays"].items() for line in wrong_rows(name, rows)]
    assert not wrong, "with Colab's ipywidgets: " + "; ".join(wrong)


def test_on_colab_a_tool_names_the_extra_it_needs(on_colab, environment):
    """Colab has no papermill: `python -m helper.tools run` says to install the tools extra, no traceback."""
    done = subprocess.run([str(environment.python), "-m", "helper.tools", "run"], capture_output=True,
                          text=True, timeout=120, cwd=on_colab.content)
    assert done.returncode == 2 and not done.stdout, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert ".[tools]" in line and "papermill" in line, line


@dataclass
class Installed:
    python: Path
    bin: Path
    version: str
    torch_before: str
    home: Path


def torch_versions(python: Path) -> str:
    code = "import torch, torchvision; print(torch.__version__, torchvision.__version__)"
    return run([str(python), "-c", code]).stdout.strip()


@pytest.fixture(scope="module")
def installed(environment, on_colab, tmp_path_factory) -> Installed:
    """After the Colab tests (on_colab), the course's wheel with its dev extra, without constraints.txt."""
    base = tmp_path_factory.mktemp("wheel")
    python = environment.python
    before = torch_versions(python)
    run([str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(base / "dist"), str(ROOT)])
    [wheel] = (base / "dist").glob("cnn_course-*.whl")
    run([str(python), "-m", "pip", "install", "--quiet", f"{wheel}[dev]"], timeout=INSTALL_TIMEOUT)
    return Installed(python, environment.bin, environment.version, before, environment.home)


def test_the_course_keeps_the_torch_it_found(installed):
    assert torch_versions(installed.python) == installed.torch_before, \
        "installing the course replaced the torch that was already there"
    assert installed.torch_before.startswith(oldest_tested("torch").split("==")[1].rstrip("*")), \
        f"the test should start from the oldest declared torch, found {installed.torch_before}"


def test_helper_is_the_installed_wheel_not_the_checkout(installed, tmp_path):
    where = run([str(installed.python), "-c", "import helper; print(helper.__file__)"], cwd=tmp_path).stdout
    assert "site-packages" in where and not where.startswith(str(ROOT)), where


def test_unit_tests_pass_on_the_second_python(installed, tmp_path):
    # From another folder, so that `import helper` is the installed wheel rather than the checkout.
    run([str(installed.python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2",
         "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), str(ROOT / "tests"),
         "-m", "not notebook and not browser and not install"], timeout=1200, cwd=tmp_path)


def test_copied_notebooks_run_outside_the_checkout_with_data_in_the_cache(installed, tmp_path):
    homework = tmp_path / "my homework"
    homework.mkdir()
    copies = [shutil.copy(course_notebook(n), homework) for n in NOTEBOOKS]
    env = student_env(installed.home)
    where = run([str(installed.python), "-m", "helper.download", "--where"], env=env,
                cwd=homework).stdout.strip()
    assert Path(where) == installed.home / ".cache" / "cnn-course", \
        f"outside a checkout the data should go to the user's cache folder, not {where}"

    run([str(installed.bin / "cnn-course"), "run", "--mode", "smoke", "--out", str(tmp_path / "build"),
         *map(str, copies)], timeout=900, env=env, cwd=homework)
    executed = [nbformat.read(tmp_path / "build" / Path(c).name, as_version=4) for c in copies]
    assert all(nb.metadata.language_info.version.startswith(installed.version) for nb in executed), \
        "the notebooks should run on the second Python's kernel"
    printed = json.dumps([nb.cells for nb in executed])
    assert where in printed, "the offline banner should name the data folder in use"
    code = "import helper, pathlib; print(pathlib.Path(helper.__file__).parent)"
    site = run([str(installed.python), "-c", code], env=env, cwd=homework).stdout.strip()
    assert not (Path(site) / "data").exists() and not (Path(site).parent / "data").exists(), \
        "nothing may be written next to or inside the installed package"


def test_an_unsupported_python_gets_one_line_naming_the_supported_ones():
    old = shutil.which("python3.10")
    old = old if old and _version_of(old) == "3.10" else _pyenv_pythons().get("3.10")
    if old is None:
        pytest.skip("no Python 3.10 here to try the refusal with")
    done = subprocess.run([old, "-m", "pip", "install", "--dry-run", "--no-deps", str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert done.returncode != 0 and len(errors) == 1, done.stderr[-2000:]
    assert "requires a different Python" in errors[0] and ">=3.11" in errors[0], errors[0]
    assert "Traceback" not in done.stderr
