"""Exact pins in constraints.txt, repeated by environment.yml; ranges in pyproject.toml that admit them and
Google Colab's versions; runtime dependencies that are exactly what the notebooks and the library import."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import yaml
from conftest import COURSE_NOTEBOOKS
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_layout import imported_modules, python_cells

ROOT = Path(__file__).resolve().parents[1]


def parse(requirements: list[str]) -> dict[str, Requirement]:
    """``{normalised name: requirement}`` for a list of requirement strings."""
    parsed = [Requirement(line) for line in requirements]
    return {canonicalize_name(r.name): r for r in parsed}


def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def declared() -> dict[str, Requirement]:
    """Runtime dependencies and the extras of pyproject.toml (without the extras' mentions of the course)."""
    meta = project()
    extras = [line for lines in meta["optional-dependencies"].values() for line in lines]
    return {name: r for name, r in parse(meta["dependencies"] + extras).items() if name != meta["name"]}


def colab() -> dict[str, str]:
    """``{normalised name: version}`` of Google Colab's packages (tests/colab-packages.txt)."""
    lines = (ROOT / "tests" / "colab-packages.txt").read_text().splitlines()
    pins = parse([line for line in lines if line.strip() and not line.startswith("#")])
    return {name: str(next(iter(r.specifier)).version) for name, r in pins.items()}


def constraints() -> dict[str, Requirement]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return parse([line for line in lines if line.strip() and not line.startswith("#")])


def environment() -> dict[str, Requirement]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(pip_lists) == 1, "environment.yml should have exactly one pip: section"
    return parse(pip_lists[0])


def test_constraints_pin_exactly_what_pyproject_declares():
    pins, ranges = constraints(), declared()
    loose = [str(r) for r in pins.values()
             if len(r.specifier) != 1 or next(iter(r.specifier)).operator != "=="]
    assert not loose, f"constraints.txt should pin with ==, but has {loose}"
    assert set(pins) == set(ranges), (f"constraints.txt and pyproject.toml name different packages: "
                                      f"{sorted(set(pins) ^ set(ranges))}")


def test_every_pin_lies_in_its_declared_range():
    ranges = declared()
    outside = [f"{name} {pin.specifier} not in {ranges[name].specifier}"
               for name, pin in constraints().items()
               if not ranges[name].specifier.contains(str(next(iter(pin.specifier)).version))]
    assert not outside, "pins outside pyproject.toml's ranges: " + "; ".join(outside)


def test_ranges_have_no_upper_bounds():
    capping = ("<", "<=", "==", "~=")
    capped = [str(r) for r in declared().values() if any(s.operator in capping for s in r.specifier)]
    assert not capped, f"pyproject.toml should give lower bounds only (users' environments vary): {capped}"
    assert project()["requires-python"] == ">=3.11", "Python 3.11 to 3.14 (and later) are supported"


def test_environment_yml_repeats_the_constraints():
    pins, env = constraints(), environment()
    drift = [f"{name}: constraints.txt {pins.get(name, 'missing')} vs "
             f"environment.yml {env.get(name, 'missing')}"
             for name in sorted(set(pins) | set(env)) if str(pins.get(name)) != str(env.get(name))]
    assert not drift, "pins drifted: " + "; ".join(drift)


def test_dev_tools_stay_out_of_the_runtime_dependencies():
    runtime = parse(project()["dependencies"])
    for tool in ("pytest", "pytest-xdist", "hypothesis", "ruff", "playwright", "nbval"):
        assert tool not in runtime, f"{tool} is a development tool; it belongs in the dev extra"


def test_instructor_tools_are_an_extra_that_dev_builds_on():
    runtime, extras = parse(project()["dependencies"]), project()["optional-dependencies"]
    for tool in ("jupyterlab", "ipykernel", "nbformat", "nbclient", "nbconvert", "papermill", "nbgrader"):
        assert tool not in runtime, f"{tool} is an instructor or CI tool; it belongs in the tools extra"
        assert tool in parse(extras["tools"]), f"the tools extra should name {tool}"
    assert f"{project()['name']}[tools]" in extras["dev"], "the dev extra should include the tools extra"


def test_colab_has_every_runtime_dependency_in_range():
    """A student on Colab installs nothing of Colab's anew (tests/test_install.py tries it on Colab's set)."""
    runtime, versions = parse(project()["dependencies"]), colab()
    absent = sorted(set(runtime) - set(versions))
    assert not absent, f"tests/colab-packages.txt should list Colab's version of {absent}"
    outside = [f"Colab's {name} {versions[name]} is not in {r.specifier}" for name, r in runtime.items()
               if not r.specifier.contains(versions[name])]
    assert not outside, "; ".join(outside)


def test_torch_lower_bounds_are_colabs_pair():
    """So that the second environment of tests/test_install.py tests the oldest pair and Colab's at once."""
    runtime, versions = parse(project()["dependencies"]), colab()
    for name in ("torch", "torchvision"):
        [bound] = [s.version for s in runtime[name].specifier if s.operator == ">="]
        assert versions[name].startswith(bound + "."), \
            f"{name}'s lower bound {bound} should be Colab's {versions[name]}"


class _WithoutTypeChecking(ast.NodeTransformer):
    """Drops ``if TYPE_CHECKING:`` blocks: what they import is for type checkers, not for running."""

    def visit_If(self, node: ast.If) -> ast.AST | None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return node.orelse or ast.Pass()
        return self.generic_visit(node)


def run_time_imports(source: str) -> set[str]:
    return imported_modules(ast.unparse(_WithoutTypeChecking().visit(ast.parse(source))))


def imported_distributions() -> set[str]:
    """The distributions that the library (helper/ without helper/tools/) and the notebooks import."""
    sources = [p.read_text() for p in (ROOT / "helper").rglob("*.py") if "tools" not in p.parts]
    sources += [cell for path in COURSE_NOTEBOOKS for cell in python_cells(path)]
    tops = {name.split(".")[0] for source in sources for name in run_time_imports(source)}
    third_party = tops - set(sys.stdlib_module_names) - {"helper"}
    owners = packages_distributions()
    unknown = sorted(t for t in third_party if t not in owners)
    assert not unknown, f"no installed distribution provides {unknown}"
    return {canonicalize_name(d) for t in third_party for d in owners[t]}


def test_runtime_dependencies_are_what_notebooks_and_library_import():
    # ipywidgets: tqdm.auto draws the notebooks' progress bars with it (text bars without it)
    expected = imported_distributions() | {"ipywidgets"}
    runtime = set(parse(project()["dependencies"]))
    assert runtime == expected, (f"declared but not imported: {sorted(runtime - expected)}; "
                                 f"imported but not declared: {sorted(expected - runtime)}")
