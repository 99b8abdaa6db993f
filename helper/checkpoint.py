"""Checkpoints for exact resume: the random states, a CPU snapshot, atomic writes in a background
thread, the lock that keeps one training per file, and reading it back as one sentence when it fails.

What goes into a checkpoint is the business of the object saved (its ``state_dict()`` and
``load_state_dict()``, as in torch); this module only keeps the file.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from filelock import FileLock, Timeout

from helper.errors import CourseError


class Stateful(Protocol):
    """Anything with torch's ``state_dict()`` / ``load_state_dict()`` pair."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


def rng_states() -> dict[str, Any]:
    """The global random states of torch (CPU, initialised CUDA devices, MPS), NumPy and Python."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "mps": torch.mps.get_rng_state() if torch.backends.mps.is_available() else None,
        "numpy": numpy_state,
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` returned."""
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if states.get("mps") is not None and torch.backends.mps.is_available():
        torch.mps.set_rng_state(states["mps"])
    numpy_state = states["numpy"]
    numpy_state["state"]["key"] = np.array(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    random.setstate(states["python"])


def snapshot(value: Any) -> Any:
    """``value`` with every tensor in it copied to the CPU, so that training can go on meanwhile."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(snapshot(item) for item in value)
    return value


def write_atomically(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file of this write's own, then rename it, so a crash never leaves
    half a file; a failed write removes its temporary file."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _check_finite(path: Path, state: dict[str, Any]) -> None:
    """A sentence when saved weights hold NaN or infinity (the run that saved them diverged)."""
    for weights in (state.get("model"), state.get("average")):
        for name, tensor in (weights or {}).items():
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise CourseError(f"The checkpoint {path} holds weights that are not finite ({name} has NaN "
                                  "or infinity), so the run that saved it diverged; delete it and train "
                                  "again, with a lower learning rate.")


class Checkpoint:
    """The checkpoint file of one training of ``target``, locked from creation to :meth:`close`.

    :meth:`resume` loads the file into ``target`` when it exists; :meth:`update` writes
    ``target``'s state after every epoch in a background thread, one write at a time, while the next
    epoch trains; :meth:`close` waits for the last write and releases the lock.
    """

    def __init__(self, path: str | Path, target: Stateful) -> None:
        self.path = Path(path)
        self.target = target
        if self.path.is_dir():
            raise CourseError(f"checkpoint must be a file name, and {self.path} is a folder; "
                              f"pass e.g. {self.path / 'run.pt'}.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(self.path.with_name(self.path.name + ".lock"))
            self._lock.acquire(timeout=0)
        except Timeout as error:
            raise CourseError(f"Another run is training with the checkpoint {self.path} (in another notebook "
                              "or terminal); let it finish or stop it, or pass another checkpoint path."
                              ) from error
        except OSError as error:
            raise CourseError(f"Could not write the checkpoint {self.path} ({error.strerror or error}); "
                              "pass a checkpoint path in a folder you can write to.") from error
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def resume(self) -> bool:
        """Load the file into the target and the global random states; False when there is no file yet."""
        if not self.path.exists():
            return False
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            _check_finite(self.path, state)
            self.target.load_state_dict(state)
            set_rng_states(state["rng"])
        except CourseError:
            raise
        except (OSError, RuntimeError, KeyError, TypeError, ValueError, AttributeError, EOFError,
                pickle.UnpicklingError, zipfile.BadZipFile) as error:
            raise CourseError(f"The checkpoint {self.path} is damaged or does not fit this model, optimizer, "
                              "schedule and loader; delete it or pass another checkpoint path.") from error
        return True

    def update(self, *_: object) -> None:
        """After an epoch: start writing the target's state and the random states, copied now, once
        the previous write is done."""
        state = snapshot({**self.target.state_dict(), "rng": rng_states()})
        self.wait()
        self._thread = threading.Thread(target=self._write, args=(state,))
        self._thread.start()

    def _write(self, state: dict[str, Any]) -> None:
        try:
            write_atomically(self.path, state)
        except Exception as error:  # noqa: BLE001 - torch.save reports a full disk as a RuntimeError
            self._error = error

    def wait(self) -> None:
        """Return once the last checkpoint is on disk; a sentence if it could not be written."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise CourseError(f"Could not write the checkpoint {self.path} ({error}); "
                              "free some disk space or pass another checkpoint path.") from error

    def close(self) -> None:
        """Wait for the last write, then release the lock (also when the write failed)."""
        try:
            self.wait()
        finally:
            self._lock.release()
