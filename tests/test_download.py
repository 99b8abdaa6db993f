"""helper.download: verified sources, measured throughput, resumable files, lecture budgets.

Hermetic: every source is an HTTP server on 127.0.0.1 that the test starts and stops, and every
wait is bounded. The archives are small ones in torchvision's formats, built here; their MD5s
replace torchvision's for the duration of a test.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cifar10_members
from torchvision.datasets import CIFAR10, MNIST

from helper import data, download

REPO = Path(__file__).resolve().parents[1]
CIFAR_NAME = "cifar-10-python.tar.gz"
IMAGES_PER_BATCH = 20  # two of each class


def md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


# ----------------------------------------------------------------------------------------------
# Sources on loopback


class Source(ThreadingHTTPServer):
    """One loopback HTTP server serving ``files`` (name -> bytes) the way ``behaviour`` says:

    "good"; "slow" (``rate`` bytes/s); "corrupt" (right length, wrong bytes); "stall" (headers,
    then nothing); "drop" (half the file, then the connection closes); "misrange" (a range request
    answered from the first byte, as if from the one asked for); "endless" (no Content-Length, and
    the file followed by as many bytes again); "loop" (a redirect to itself). ``ranges=False`` ignores
    Range headers. ``requests`` records the Range header of every request (None without one).
    """

    daemon_threads = True

    def __init__(self, files: dict[str, bytes], behaviour: str = "good", *, rate: int = 20_000,
                 ranges: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files, self.behaviour, self.rate, self.ranges = files, behaviour, rate, ranges
        self.requests: list[str | None] = []
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def base(self) -> str:
        return f"http://{self.netloc}/"

    def url(self, name: str = CIFAR_NAME) -> str:
        return self.base + name

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: Source

    def log_message(self, format: str, *args: object) -> None:  # the base class's parameter name
        """Keep the test output quiet."""

    def do_GET(self) -> None:  # http.server's method name
        source = self.server
        wanted = self.headers.get("Range")
        source.requests.append(wanted)
        body = source.files.get(self.path.lstrip("/").partition("?")[0])
        if body is None:
            self.send_error(404)
            return
        if source.behaviour == "loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.end_headers()
            return
        if source.behaviour == "corrupt":
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
        if source.behaviour == "endless":
            body += body
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted and source.ranges else 0
        self.send_response(206 if start else 200)
        if source.behaviour == "misrange" and start:  # a resume answered with the whole file
            self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
            start = 0
        elif start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        if source.behaviour != "endless":
            self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        rest = body[start:]
        try:
            if source.behaviour == "stall":
                self.wfile.flush()
                source.stopping.wait(30)
            elif source.behaviour == "drop":
                self.wfile.write(rest[: len(rest) // 2])
            elif source.behaviour == "slow":
                step = source.rate // 10
                for i in range(0, len(rest), step):
                    if source.stopping.wait(0.1):
                        return
                    self.wfile.write(rest[i:i + step])
                    self.wfile.flush()
            else:
                self.wfile.write(rest)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client abandoned this source


@pytest.fixture
def serve():
    """Start loopback sources: ``serve(files, behaviour, ...)``; all are stopped after the test."""
    started: list[Source] = []

    def start(files: dict[str, bytes], behaviour: str = "good", **options) -> Source:
        started.append(Source(files, behaviour, **options))
        return started[-1]

    yield start
    for source in started:
        source.stop()


def refused_url() -> str:
    """A loopback URL on which nothing listens (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{CIFAR_NAME}"


@pytest.fixture(autouse=True)
def hermetic(monkeypatch):
    """No proxy for loopback, and no source or deadline configured by the machine running the tests."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for variable in ("COURSE_DATA", "COURSE_CIFAR10_URLS", "COURSE_MNIST_URLS", "COURSE_DOWNLOAD_DEADLINE_S"):
        monkeypatch.delenv(variable, raising=False)


# ----------------------------------------------------------------------------------------------
# Small archives in torchvision's formats


@dataclass
class FakeCifar:
    archive: bytes
    members: dict[str, bytes]  # name in cifar-10-batches-py/ -> bytes
    test_images: np.ndarray  # (N, 3072) uint8, as in test_batch
    test_labels: list[int]


def build_cifar(padding: int = 0) -> FakeCifar:
    """A CIFAR-10-format archive, 20 images per batch; ``padding`` random bytes make it larger."""
    members = cifar10_members(IMAGES_PER_BATCH)
    test_batch = pickle.loads(members["test_batch"])
    if padding:
        # the real archive has a readme.html too (not random)
        members["readme.html"] = np.random.default_rng(1).bytes(padding)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"{download.CIFAR10_FOLDER}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return FakeCifar(buffer.getvalue(), members, test_batch["data"], test_batch["labels"])


@pytest.fixture(scope="module")
def built_cifar() -> FakeCifar:
    return build_cifar()


@pytest.fixture(scope="module")
def built_large_cifar() -> FakeCifar:
    """6 MB: at 20 kB/s it would take 5 minutes, so a 20 kB/s source is below the floor."""
    return build_cifar(padding=6_000_000)


def use_checksums_of(monkeypatch, fake: FakeCifar) -> None:
    """Replace torchvision's CIFAR-10 MD5s (archive and unpacked files) by those of ``fake``."""
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(fake.archive))
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(fake.members[f"data_batch_{i}"])]
                                                for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(fake.members["test_batch"])]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(fake.members["batches.meta"])})


@pytest.fixture
def cifar(monkeypatch, built_cifar) -> FakeCifar:
    use_checksums_of(monkeypatch, built_cifar)
    return built_cifar


@pytest.fixture
def large_cifar(monkeypatch, built_large_cifar) -> FakeCifar:
    use_checksums_of(monkeypatch, built_large_cifar)
    return built_large_cifar


@pytest.fixture
def mnist_files(monkeypatch) -> dict[str, bytes]:
    """MNIST's four .gz files (60 training, 30 test images), with torchvision's MD5s replaced."""
    rng = np.random.default_rng(1)
    files = {}
    for prefix, n in (("train", 60), ("t10k", 30)):
        arrays = {"images-idx3": rng.integers(0, 256, (n, 28, 28)), "labels-idx1": np.arange(n) % 10}
        for kind, array in arrays.items():
            header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                                for d in array.shape)
            files[f"{prefix}-{kind}-ubyte.gz"] = gzip.compress(header + array.astype(np.uint8).tobytes())
    monkeypatch.setattr(MNIST, "resources", [(name, md5(payload)) for name, payload in files.items()])
    return files


def leftovers(root: Path) -> list[str]:
    """Partial downloads or unpacking folders left under ``root``."""
    return [str(p) for p in root.rglob("*") if p.name.endswith(".part") or p.name.startswith(".unpacking-")]


# ----------------------------------------------------------------------------------------------
# Tests


def test_good_source_is_downloaded_verified_and_loaded(cifar, serve, monkeypatch, tmp_path, capsys):
    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "course-data"))
    monkeypatch.setenv("COURSE_CIFAR10_URLS", good.url())
    loaders = data.get_dataloaders("cifar10", 10, download_budget_s=None)
    info = loaders.info
    assert (info.name, info.fell_back, info.shape) == ("cifar10", False, (3, 32, 32))
    assert (info.num_train + info.num_valid, info.num_test) == (5 * IMAGES_PER_BATCH, IMAGES_PER_BATCH)
    x, y = next(iter(loaders.test))
    assert y.tolist() == cifar.test_labels[:10]
    expected = torch.as_tensor(cifar.test_images[0].reshape(3, 32, 32)) / 255.0
    assert torch.allclose(info.unnormalize(x[0]), expected, atol=1e-5)
    root = tmp_path / "course-data"
    assert md5((root / CIFAR_NAME).read_bytes()) == md5(cifar.archive)
    assert leftovers(root) == []
    assert f"{CIFAR_NAME} from 127.0.0.1:" in capsys.readouterr().out  # the bar names the source


def test_throttled_source_is_abandoned_for_the_next(large_cifar, serve, monkeypatch, tmp_path, capsys):
    slow = serve({CIFAR_NAME: large_cifar.archive}, "slow", rate=20_000)
    good = serve({CIFAR_NAME: large_cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", f"{slow.url()} {good.url()}")
    start = time.perf_counter()
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert time.perf_counter() - start < download.FULL_WINDOW_S + 5
    out = capsys.readouterr().out
    assert f"{slow.netloc} was too slow" in out
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(large_cifar.archive)
    assert good.requests[0].startswith("bytes="), "the good source resumes where the slow one stopped"
    assert all(p.exists() for p in download.expected_files("cifar10", tmp_path))


def test_corrupt_source_is_rejected_and_the_next_used(cifar, serve, monkeypatch, tmp_path, capsys):
    bad = serve({CIFAR_NAME: cifar.archive}, "corrupt")
    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", f"{bad.url()} {good.url()}")
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert "MD5 does not match" in capsys.readouterr().out
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)
    assert good.requests == [None], "after a corrupt file the next source starts from the first byte"
    assert leftovers(tmp_path) == []


def test_only_a_corrupt_source_leaves_nothing_on_disk(cifar, serve, monkeypatch, tmp_path):
    bad = serve({CIFAR_NAME: cifar.archive}, "corrupt")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", bad.url())
    with pytest.raises(download.DownloadError, match="MD5 does not match"):
        download.fetch("cifar10", tmp_path, download.full_limits())
    assert [p.name for p in tmp_path.rglob("*")] == [".cifar10.download.lock"]  # no data, whole or partial


def test_stalled_source_is_abandoned_within_the_bound(cifar, serve, monkeypatch, tmp_path, capsys):
    stalled = serve({CIFAR_NAME: cifar.archive}, "stall")
    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", f"{stalled.url()} {good.url()}")
    start = time.perf_counter()
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert time.perf_counter() - start < download.FULL_WINDOW_S + 4
    assert f"sent nothing for {download.FULL_WINDOW_S:g} s" in capsys.readouterr().out
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)


def test_interrupted_download_is_resumed_and_never_taken_for_complete(cifar, serve, monkeypatch, tmp_path):
    dropping = serve({CIFAR_NAME: cifar.archive}, "drop")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", dropping.url())
    with pytest.raises(download.DownloadError, match="closed the connection early") as caught:
        download.fetch("cifar10", tmp_path, download.full_limits())
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)
    half = len(cifar.archive) // 2
    assert (tmp_path / f"{CIFAR_NAME}.part").stat().st_size == half
    assert not (tmp_path / CIFAR_NAME).exists()
    assert not any(p.exists() for p in download.expected_files("cifar10", tmp_path))

    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", good.url())
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert good.requests == [f"bytes={half}-"]
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)
    assert leftovers(tmp_path) == []


def test_server_without_ranges_starts_again_from_the_first_byte(cifar, serve, monkeypatch, tmp_path):
    stale = b"stale bytes from another day"
    (tmp_path / f"{CIFAR_NAME}.part").write_bytes(stale)
    plain = serve({CIFAR_NAME: cifar.archive}, ranges=False)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", plain.url())
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert plain.requests == [f"bytes={len(stale)}-"]
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)


def test_damaged_archive_in_place_is_replaced(cifar, serve, monkeypatch, tmp_path, capsys):
    (tmp_path / CIFAR_NAME).write_bytes(b"not an archive")  # e.g. copied in by hand, truncated
    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", good.url())
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert "does not match torchvision's MD5" in capsys.readouterr().out
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)


def test_archive_copied_in_by_hand_is_unpacked_without_the_network(cifar, monkeypatch, tmp_path):
    (tmp_path / CIFAR_NAME).write_bytes(cifar.archive)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", refused_url())
    loaders = data.get_dataloaders("cifar10", 10, root=tmp_path)
    assert not loaders.info.fell_back and loaders.info.num_test == IMAGES_PER_BATCH
    assert leftovers(tmp_path) == []


def test_ctrl_c_keeps_the_partial_file_for_next_time(cifar, serve, monkeypatch, tmp_path, capsys):
    slow = serve({CIFAR_NAME: cifar.archive}, "slow", rate=20_000)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", slow.url())
    show = download._show

    def show_then_interrupt(bar, transfer, desc):
        bar = show(bar, transfer, desc)
        if transfer.received:
            raise KeyboardInterrupt  # as if the student pressed Ctrl-C once bytes arrived
        return bar

    monkeypatch.setattr(download, "_show", show_then_interrupt)
    assert download.main(["--download", "cifar10", "--root", str(tmp_path)]) == 130
    assert "resume" in capsys.readouterr().err
    assert (tmp_path / f"{CIFAR_NAME}.part").stat().st_size > 0
    assert not (tmp_path / CIFAR_NAME).exists()


def test_make_data_with_only_bad_sources_ends_in_one_sentence(cifar, serve, tmp_path):
    bad = serve({CIFAR_NAME: cifar.archive}, "corrupt")
    stalled = serve({CIFAR_NAME: cifar.archive}, "stall")
    deadline = 3
    env = {**os.environ, "COURSE_CIFAR10_URLS": f"{bad.url()} {refused_url()} {stalled.url()}",
           "COURSE_DOWNLOAD_DEADLINE_S": str(deadline)}
    start = time.perf_counter()
    command = [sys.executable, "-m", "helper.download", "--download", "cifar10", "--root", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    message = done.stderr.strip()
    assert "\n" not in message and message.startswith("Could not download CIFAR-10 (")
    assert message.count("127.0.0.1:") == 3, "the sentence names every source tried"
    assert f"ran into the {deadline} s deadline" in message and "MD5" in message
    assert str(tmp_path) in message and "data/README.md" in message
    assert elapsed < deadline + 30  # the deadline, plus starting Python and importing torch
    assert not (tmp_path / CIFAR_NAME).exists()


def test_lecture_budget_falls_back_at_once_on_a_throttled_source(large_cifar, serve, monkeypatch, tmp_path,
                                                                 capsys):
    slow = serve({CIFAR_NAME: large_cifar.archive}, "slow", rate=20_000)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", slow.url())
    start = time.perf_counter()
    loaders = data.get_dataloaders("cifar10", 16, root=tmp_path, subset=100)
    assert time.perf_counter() - start < download.LECTURE_WINDOW_S + 5
    assert loaders.info.fell_back and slow.requests == [None]
    out = capsys.readouterr().out
    assert "was too slow" in out and "`make data`" in out and str(tmp_path) in out
    assert not (tmp_path / CIFAR_NAME).exists()


def test_lecture_budget_downloads_mnist_from_a_fast_source(mnist_files, serve, monkeypatch, tmp_path):
    fast = serve(mnist_files)
    monkeypatch.setenv("COURSE_MNIST_URLS", fast.base.rstrip("/"))  # a base URL, with or without "/"
    start = time.perf_counter()
    loaders = data.get_dataloaders("mnist", 8, root=tmp_path, valid_fraction=0.5)
    assert time.perf_counter() - start < download.LECTURE_BUDGET_S
    info = loaders.info
    assert (info.name, info.fell_back, info.num_test) == ("mnist", False, 30)
    assert len(fast.requests) == 4
    assert all(p.exists() for p in download.expected_files("mnist", tmp_path))


def test_hanging_name_lookup_cannot_hold_a_lecture(monkeypatch, tmp_path):
    released = threading.Event()

    def hang(*args, **kwargs):
        released.wait(10)  # like a DNS lookup that never answers
        raise OSError("gave up")

    monkeypatch.setattr(download, "urlopen", hang)
    monkeypatch.setenv("COURSE_MNIST_URLS", "http://unanswered.invalid/ http://also-unanswered.invalid/")
    start = time.perf_counter()
    try:
        loaders = data.get_dataloaders("mnist", 8, root=tmp_path)
    finally:
        released.set()
    assert time.perf_counter() - start < 2 * download.LECTURE_WINDOW_S + 4
    assert loaders.info.fell_back


def test_configured_sources_replace_the_built_in_ones(monkeypatch, tmp_path):
    assert download.remote_files("cifar10", tmp_path)[0].urls == download.CIFAR10_SOURCES
    assert download.remote_files("cifar10", tmp_path)[0].md5 == "c58f30108f718f92721af3b95e74349a"
    monkeypatch.setenv("COURSE_CIFAR10_URLS", " http://a.example/x.tar.gz  http://b.example/y.tar.gz ")
    assert download.remote_files("cifar10", tmp_path)[0].urls == ("http://a.example/x.tar.gz",
                                                                  "http://b.example/y.tar.gz")
    monkeypatch.setenv("COURSE_MNIST_URLS", "http://m.example/mnist")
    files = download.remote_files("mnist", tmp_path)
    assert [f.urls for f in files] == [(f"http://m.example/mnist/{f.path.name}",) for f in files]
    assert all(f.path.parent == tmp_path / "MNIST" / "raw" for f in files)


def test_deadline_variable_is_checked(monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE_S", "42")
    assert download.full_limits().deadline_s == 42
    monkeypatch.setenv("COURSE_DOWNLOAD_DEADLINE_S", "soon")
    with pytest.raises(data.CourseError, match="COURSE_DOWNLOAD_DEADLINE_S"):
        download.full_limits()


@pytest.mark.notebook
def test_notebook_11_falls_back_at_once_when_the_only_source_is_throttled(large_cifar, serve, monkeypatch,
                                                                          tmp_path):
    import papermill

    slow = serve({CIFAR_NAME: large_cifar.archive}, "slow", rate=20_000)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("COURSE_CIFAR10_URLS", slow.url())
    notebooks = REPO / "notebooks"
    nb = papermill.execute_notebook(str(notebooks / "11_network_in_network.ipynb"),
                                    str(tmp_path / "out.ipynb"), parameters={"MODE": "smoke"},
                                    cwd=str(notebooks), kernel_name="python3", progress_bar=False)
    loading = next(c for c in nb.cells if c.cell_type == "code" and "get_dataloaders(" in c.source)
    shown = "".join(o.get("text", "") for o in loading.outputs)
    assert "is not available" in shown and "`make data`" in shown and "was too slow" in shown
    assert slow.requests, "the notebook should have tried the configured source"
    # The cell also trains (one smoke epoch); without the budget it would wait minutes on the source.
    assert loading.metadata.papermill.duration < download.LECTURE_WINDOW_S + 15


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from filelock import FileLock
lock_path, archive, payload, hold_s = sys.argv[1:5]
with FileLock(lock_path):
    print("holding", flush=True)
    time.sleep(float(hold_s))
    if archive != "-":
        Path(archive).write_bytes(Path(payload).read_bytes())  # the other download finishing
"""


def hold_lock(root: Path, archive: Path | None, payload: Path | None, seconds: float) -> subprocess.Popen:
    """Another process that holds CIFAR-10's download lock for ``seconds``, then maybe puts the archive."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(root / ".cifar10.download.lock"),
                               str(archive or "-"), str(payload or "-"), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_second_download_waits_for_the_first_and_uses_its_files(cifar, serve, monkeypatch, tmp_path,
                                                                   capsys):
    payload = tmp_path / "payload.tar.gz"
    payload.write_bytes(cifar.archive)
    root = tmp_path / "data"
    root.mkdir()
    source = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", source.url())
    holder = hold_lock(root, root / CIFAR_NAME, payload, 1.0)
    try:
        download.fetch("cifar10", root, download.full_limits())
    finally:
        holder.wait(timeout=30)
    assert "Another process is downloading CIFAR-10" in capsys.readouterr().out
    assert source.requests == [], "the files the other process finished were used, not downloaded again"
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()


def test_a_download_held_up_past_its_deadline_is_one_sentence(cifar, serve, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CIFAR10_URLS", serve({CIFAR_NAME: cifar.archive}).url())
    holder = hold_lock(tmp_path, None, None, 30.0)
    try:
        start = time.monotonic()
        busy = "Another process was still downloading CIFAR-10"
        with pytest.raises(download.DownloadError, match=busy) as caught:
            download.fetch("cifar10", tmp_path, download.Limits(deadline_s=1.0, window_s=1.0))
        assert time.monotonic() - start < 10
        assert "\n" not in str(caught.value)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_stale_part_that_spoils_a_good_file_is_not_blamed_on_its_source(cifar, serve, monkeypatch,
                                                                          tmp_path, capsys):
    stale = b"bytes of some other file"  # a part the server can resume, but not the right beginning
    (tmp_path / f"{CIFAR_NAME}.part").write_bytes(stale)
    good = serve({CIFAR_NAME: cifar.archive})
    monkeypatch.setenv("COURSE_CIFAR10_URLS", good.url())
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert good.requests == [f"bytes={len(stale)}-", None], "resumed once, then fetched whole"
    assert "downloading it whole from 127.0.0.1" in capsys.readouterr().out
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)
    assert leftovers(tmp_path) == []


def test_damaged_unpacked_files_fall_back_and_make_data_repairs_them(cifar, monkeypatch, tmp_path, capsys):
    (tmp_path / CIFAR_NAME).write_bytes(cifar.archive)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", refused_url())
    assert not data.get_dataloaders("cifar10", 10, root=tmp_path).info.fell_back
    batch = tmp_path / download.CIFAR10_FOLDER / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:100])  # cut short, e.g. by a full disk
    with pytest.raises(data.CourseError, match="missing or damaged") as caught:
        data.get_dataloaders("cifar10", 10, root=tmp_path, fallback=False)
    assert "make data" in str(caught.value) and "\n" not in str(caught.value)
    assert data.get_dataloaders("cifar10", 10, root=tmp_path).info.fell_back
    capsys.readouterr()
    download.download(["cifar10"], tmp_path)  # the verified archive is still there: no network needed
    assert "is damaged; unpacking it again" in capsys.readouterr().out
    assert not data.get_dataloaders("cifar10", 10, root=tmp_path).info.fell_back


def idx_file(kind: str, count: int) -> bytes:
    """An MNIST file in the IDX format torchvision reads: a header, then ``count`` zero images or labels."""
    if kind == "images":
        return struct.pack(">IIII", 0x803, count, 28, 28) + bytes(count * 28 * 28)
    return struct.pack(">II", 0x801, count) + bytes(count)


DAMAGES = {
    "empty": lambda good: b"",                                             # ValueError in torchvision
    "wrong magic number": lambda good: struct.pack(">I", 0x1234) + good[4:],  # AssertionError
    "unknown type code": lambda good: good[:2] + b"\x07" + good[3:],       # KeyError
    "cut short": lambda good: good[: len(good) // 2],                      # RuntimeError
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_an_unreadable_mnist_file_falls_back_with_the_banner(damage, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_MNIST_URLS", refused_url())
    for path in download.expected_files("mnist", tmp_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        good = idx_file("images" if "images" in path.name else "labels", 10)
        path.write_bytes(DAMAGES[damage](good) if path.name.startswith("train-images") else good)
    loaders = data.get_dataloaders("mnist", 8, root=tmp_path)
    banner = capsys.readouterr().out
    assert loaders.info.fell_back and "`make data`" in banner and "its files there are damaged" in banner
    with pytest.raises(data.CourseError, match="missing or damaged"):
        data.get_dataloaders("mnist", 8, root=tmp_path, fallback=False)
    with pytest.raises(data.CourseError):  # make data notices the damage, then cannot download here
        download.download(["mnist"], tmp_path)
    assert "is damaged; unpacking it again" in capsys.readouterr().out


def test_mnist_images_and_labels_of_different_lengths_are_damaged(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_MNIST_URLS", refused_url())
    for path in download.expected_files("mnist", tmp_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        kind = "images" if "images" in path.name else "labels"
        path.write_bytes(idx_file(kind, 5 if path.name.startswith("train-labels") else 10))
    assert data.get_dataloaders("mnist", 8, root=tmp_path).info.fell_back
    assert "`make data`" in capsys.readouterr().out


def test_a_resume_from_the_wrong_byte_discards_the_part_and_starts_again(cifar, serve, monkeypatch, tmp_path,
                                                                          capsys):
    half = len(cifar.archive) // 2
    (tmp_path / f"{CIFAR_NAME}.part").write_bytes(cifar.archive[:half])
    wrong = serve({CIFAR_NAME: cifar.archive}, "misrange")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", wrong.url())
    download.fetch("cifar10", tmp_path, download.full_limits())
    assert wrong.requests == [f"bytes={half}-", None]  # once more from the first byte
    assert md5((tmp_path / CIFAR_NAME).read_bytes()) == md5(cifar.archive)
    assert leftovers(tmp_path) == []
    assert f"resumed at byte 0 instead of {half}" in capsys.readouterr().out


def test_a_source_sending_more_than_the_file_is_cut_off_and_its_bytes_deleted(cifar, serve, monkeypatch,
                                                                               tmp_path):
    monkeypatch.setitem(download.SIZES, CIFAR_NAME, len(cifar.archive))
    endless = serve({CIFAR_NAME: cifar.archive}, "endless")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", endless.url())
    with pytest.raises(download.DownloadError, match="sent more than the .* the file has"):
        download.fetch("cifar10", tmp_path, download.full_limits())
    assert leftovers(tmp_path) == [] and not (tmp_path / CIFAR_NAME).exists()


def test_a_redirect_loop_is_one_line(cifar, serve, monkeypatch, tmp_path, capsys):
    loop = serve({CIFAR_NAME: cifar.archive}, "loop")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", loop.url())
    with pytest.raises(download.DownloadError, match=r"redirected in a loop \(HTTP 302\)") as caught:
        download.fetch("cifar10", tmp_path, download.full_limits())
    assert "\n" not in str(caught.value)
    assert [line for line in capsys.readouterr().out.splitlines() if "302" in line] == [
        f"{CIFAR_NAME}: {loop.netloc} redirected in a loop (HTTP 302)."]


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="symbolic links need extra rights on Windows")
def test_a_symlinked_part_file_is_never_written_through(cifar, serve, monkeypatch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"someone else's file")
    root = tmp_path / "data"
    root.mkdir()
    (root / f"{CIFAR_NAME}.part").symlink_to(elsewhere)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", serve({CIFAR_NAME: cifar.archive}).url())
    with pytest.raises(download.DownloadError, match="is a symbolic link, and a download never writes"):
        download.fetch("cifar10", root, download.full_limits())
    assert elsewhere.read_bytes() == b"someone else's file"
    (root / f"{CIFAR_NAME}.part").unlink()  # O_NOFOLLOW: a link that appears after the check is refused
    (root / "link").symlink_to(elsewhere)
    with pytest.raises(OSError):
        download._open_new(root / "link", append=True)
    assert elsewhere.read_bytes() == b"someone else's file"


@pytest.mark.parametrize("dataset", ["cifar10", "mnist"])
def test_a_symlinked_data_set_folder_is_refused(dataset, cifar, serve, monkeypatch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "data"
    root.mkdir()
    folder = root / (download.CIFAR10_FOLDER if dataset == "cifar10" else "MNIST")
    folder.symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.setenv("COURSE_CIFAR10_URLS", serve({CIFAR_NAME: cifar.archive}).url())
    with pytest.raises(download.DownloadError, match="is a symbolic link, and the course writes its data"):
        download.fetch(dataset, root, download.full_limits())
    assert list(elsewhere.iterdir()) == []


def hostile_archive(member: tarfile.TarInfo) -> bytes:
    """A CIFAR-10 archive whose batches are fine but which also holds ``member``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, payload in cifar10_members(IMAGES_PER_BATCH).items():
            info = tarfile.TarInfo(f"{download.CIFAR10_FOLDER}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        tar.addfile(member, io.BytesIO(b"x" * member.size))
    return buffer.getvalue()


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _outside(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


@pytest.mark.parametrize("filtered", [True, False], ids=["data filter", "Python 3.11.0-3.11.3"])
@pytest.mark.parametrize("member", [
    _link(f"{download.CIFAR10_FOLDER}/escape", "/etc/passwd"),
    _outside("../outside"),
    _outside("elsewhere/readme"),
], ids=["symlink", "parent folder", "other folder"])
def test_an_archive_with_a_hostile_member_is_refused_deleted_and_unpacks_nothing(member, filtered, serve,
                                                                                 monkeypatch, tmp_path):
    if not filtered:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = hostile_archive(member)
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5(archive))
    root = tmp_path / "data"
    monkeypatch.setenv("COURSE_CIFAR10_URLS", serve({CIFAR_NAME: archive}).url())
    with pytest.raises(download.DownloadError) as caught:
        download.fetch("cifar10", root, download.full_limits())
    message = str(caught.value)
    assert "holds a file the course will not unpack" in message and "disk space" not in message
    assert not (root / CIFAR_NAME).exists()  # the next run downloads it again instead of repeating this
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert not (root / download.CIFAR10_FOLDER).exists() and leftovers(root) == []
