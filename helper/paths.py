"""Where the course lives on disk: the checkout, the data directory, and relative roots (no torch)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

PROJECT_NAME = "cnn-course"  # pyproject.toml's name, and the folder name under the user's cache
PACKAGE_DIR = Path(__file__).resolve().parent  # this helper package, in a checkout or installed


def is_course_checkout(folder: Path) -> bool:
    """Whether ``folder`` holds a ``notebooks/`` folder and a pyproject.toml declaring this project."""
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return (folder / "notebooks").is_dir() and project.get("name") == PROJECT_NAME


def checkout_root() -> Path | None:
    """The root of the course checkout that holds this helper package; None when it is installed."""
    folder = PACKAGE_DIR.parent
    return folder if is_course_checkout(folder) else None


def resolve_root(root: str | Path) -> Path:
    """``root`` itself when absolute; a relative root is taken from the checkout root (so that
    notebooks, which run inside ``notebooks/``, and ``make data`` mean the same folder), or from
    the current directory when the package is installed."""
    root = Path(root).expanduser()
    return root if root.is_absolute() else (checkout_root() or Path.cwd()) / root


def data_dir() -> Path:
    """Where MNIST and CIFAR-10 live: ``$COURSE_DATA`` when set (a relative one is taken from the
    checkout, as :func:`resolve_root` does), else ``data/`` in the checkout, else the user's cache
    directory (never inside an installed package)."""
    configured = os.environ.get("COURSE_DATA", "").strip()
    if configured:
        return resolve_root(configured).absolute()
    checkout = checkout_root()
    if checkout is not None:
        return checkout / "data"
    return Path(platformdirs.user_cache_dir(PROJECT_NAME)).absolute()
