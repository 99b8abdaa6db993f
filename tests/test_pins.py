"""The pins in pyproject.toml (the one source) and environment.yml (for conda users) must agree exactly."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pins(requirements: list[str]) -> dict[str, str]:
    """``{normalised name: specifier}`` for a list of requirement strings."""
    parsed = [Requirement(line) for line in requirements]
    return {canonicalize_name(r.name): str(r.specifier) for r in parsed}


def pyproject_pins() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return pins(tomllib.load(f)["project"]["dependencies"])


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(pip_lists) == 1, "environment.yml should have exactly one pip: section"
    return pins(pip_lists[0])


def test_every_dependency_is_pinned_exactly():
    loose = {name: spec for name, spec in pyproject_pins().items() if not spec.startswith("==")}
    assert not loose, f"pyproject.toml should pin with ==, but has {loose}"


def test_environment_yml_repeats_pyproject_pins():
    project, env = pyproject_pins(), environment_pins()
    drift = [f"{name}: pyproject {project.get(name, 'missing')} vs environment.yml {env.get(name, 'missing')}"
             for name in sorted(set(project) | set(env)) if project.get(name) != env.get(name)]
    assert not drift, "pins drifted: " + "; ".join(drift)
