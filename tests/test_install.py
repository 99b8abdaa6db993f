"""Installs the way students have them: another Python with an older torch already there (as on Colab),
and the course built as a wheel and used outside the checkout, on a copied notebook, offline.

One environment serves every test here (module fixture): a second interpreter (3.12-3.14, not the one
running the suite), torch/torchvision at the lower bounds that pyproject.toml declares installed first,
then the course's wheel without constraints.txt, as `pip install` on Colab would do it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
SECOND_PYTHONS = ("3.13", "3.14", "3.12")  # Colab's Python first
INSTALL_TIMEOUT = 1200  # seconds; torch with its CUDA libraries is several GB
NOTEBOOKS = ("01", "03")  # quick in smoke mode; 03 asks for MNIST, so it shows where data would go


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
    """A Python from 3.12 to 3.14 other than this one: $COURSE_SECOND_PYTHON, on PATH, or from pyenv."""
    if chosen := os.environ.get("COURSE_SECOND_PYTHON"):
        return chosen
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    wanted = [v for v in SECOND_PYTHONS if v != running]
    for version in wanted:
        if (path := shutil.which(f"python{version}")) and _version_of(path) == version:
            return path
    from_pyenv = _pyenv_pythons()
    for version in wanted:
        if version in from_pyenv:
            return from_pyenv[version]
    pytest.fail(f"No second Python ({', '.join(wanted)}) was found on PATH or through pyenv; install one "
                "or name it in COURSE_SECOND_PYTHON.")


def oldest_tested(name: str) -> str:
    """``"torch==2.8.*"``: the lower bound that pyproject.toml declares for ``name``, as a pin."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        declared = [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]
    [bound] = [s.version for r in declared if r.name == name for s in r.specifier if s.operator == ">="]
    return f"{name}=={bound}.*"


def run(command: list[str], timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, \
        f"{' '.join(command[:4])} ... failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


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
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("second-python")
    interpreter = second_python()
    run([interpreter, "-m", "venv", str(base / "venv")])
    bin_dir = base / "venv" / "bin"
    python = bin_dir / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    run([*pip, oldest_tested("torch"), oldest_tested("torchvision")], timeout=INSTALL_TIMEOUT)
    before = torch_versions(python)
    run([str(python), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(base / "dist"), str(ROOT)])
    [wheel] = (base / "dist").glob("cnn_course-*.whl")
    run([*pip, f"{wheel}[dev]"], timeout=INSTALL_TIMEOUT)  # no constraints.txt: what a student types
    return Installed(python, bin_dir, _version_of(str(python)), before, base / "home")


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


def student_env(home: Path) -> dict[str, str]:
    """No COURSE_DATA, a fresh home and cache folder, and an MNIST source that refuses at once (offline)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), COURSE_MNIST_URLS="http://127.0.0.1:9/",
               COURSE_CIFAR10_URLS="http://127.0.0.1:9/cifar-10-python.tar.gz")
    return env


def test_copied_notebooks_run_outside_the_checkout_with_data_in_the_cache(installed, tmp_path):
    homework = tmp_path / "my homework"
    homework.mkdir()
    copies = [shutil.copy(next((ROOT / "notebooks").glob(f"{n}_*.ipynb")), homework) for n in NOTEBOOKS]
    env = student_env(installed.home)
    where = run([str(installed.python), "-m", "helper.data", "--where"], env=env, cwd=homework).stdout.strip()
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
