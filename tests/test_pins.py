"""Exact pins in constraints.txt, repeated by environment.yml; ranges in pyproject.toml that admit them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def parse(requirements: list[str]) -> dict[str, Requirement]:
    """``{normalised name: requirement}`` for a list of requirement strings."""
    parsed = [Requirement(line) for line in requirements]
    return {canonicalize_name(r.name): r for r in parsed}


def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def declared() -> dict[str, Requirement]:
    """Runtime dependencies and the dev extra of pyproject.toml."""
    meta = project()
    return parse(meta["dependencies"] + meta["optional-dependencies"]["dev"])


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
