"""helper.data: digits loaders, splits, offline fallback, files on disk, the data directory, photos.

All offline: where a download could start, the sources point at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path

import numpy as np
import platformdirs
import pytest
import torch
from conftest import IN_CHECKOUT

from helper import data, download, paths
from helper.errors import CourseError


@pytest.fixture
def offline(monkeypatch):
    """Every download source is a loopback port on which nothing listens (refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("COURSE_MNIST_URLS", f"http://127.0.0.1:{port}/mnist/")
    monkeypatch.setenv("COURSE_CIFAR10_URLS", f"http://127.0.0.1:{port}/cifar-10-python.tar.gz")


@pytest.fixture
def no_data_settings(monkeypatch):
    """Neither COURSE_DATA nor the machine's own settings decide the data directory."""
    monkeypatch.delenv("COURSE_DATA", raising=False)


def all_targets(loader) -> torch.Tensor:
    return torch.cat([y for _, y in loader])


def test_digits_loaders_shapes_dtypes_and_sizes():
    loaders = data.get_dataloaders("digits", 32)
    x, y = next(iter(loaders.train))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    info = loaders.info
    assert (info.name, info.requested, info.fell_back) == ("digits", "digits", False)
    assert info.classes == [str(d) for d in range(10)]
    assert info.num_test == 360  # a fixed 20% of 1,797
    assert info.num_train + info.num_valid == 1797 - 360
    assert info.num_valid == round(0.1 * 1437)
    assert len(all_targets(loaders.train)) == info.num_train
    assert len(loaders.train) == -(-info.num_train // 32)


def test_digits_normalisation_gives_zero_mean_unit_std():
    loaders = data.get_dataloaders("digits", 512, valid_fraction=0.0)
    assert loaders.valid is None
    images = torch.cat([x for x, _ in loaders.train])
    assert abs(images.mean().item()) < 1e-4
    assert images.std().item() == pytest.approx(1.0, abs=1e-3)


def test_digits_custom_shape_and_unnormalize():
    loaders = data.get_dataloaders("digits", 16, shape=(3, 8, 8))
    x, _ = next(iter(loaders.test))
    assert x.shape == (16, 3, 8, 8)
    assert torch.equal(x[:, 0], x[:, 2])  # grey values repeated over the channels
    raw = loaders.info.unnormalize(x)
    assert raw.min() >= 0 and raw.max() <= 1
    images, targets = data.digits_arrays((3, 8, 8))
    assert images.shape == (1797, 3, 8, 8) and len(targets) == 1797
    matches = [(img - raw[0]).abs().max() < 1e-5 for img in images]
    assert sum(matches) >= 1, "the un-normalised image should be one of the original digits"


def test_subset_is_stratified_and_sets_test_subset():
    loaders = data.get_dataloaders("digits", 64, subset=200, valid_fraction=0.1)
    train, valid = all_targets(loaders.train), all_targets(loaders.valid)
    counts = Counter((torch.cat([train, valid])).tolist())
    assert sum(counts.values()) == 200
    assert set(counts.values()) <= {19, 20, 21}, counts  # 10 balanced classes
    assert Counter(valid.tolist()) == dict.fromkeys(range(10), 2)  # 20 validation images, 2 per class
    assert loaders.info.num_test == 50  # subset // 4
    assert set(Counter(all_targets(loaders.test).tolist()).values()) == {5}


def test_split_is_seeded_and_test_set_does_not_depend_on_seed():
    def take(seed):
        loaders = data.get_dataloaders("digits", 1000, subset=300, seed=seed)
        return next(iter(loaders.valid))[0], next(iter(loaders.test))[0]

    valid_a, test_a = take(0)
    valid_b, test_b = take(0)
    valid_c, test_c = take(1)
    assert torch.equal(valid_a, valid_b)
    assert not torch.equal(valid_a, valid_c)
    assert torch.equal(test_a, test_c)


def test_training_order_is_seeded():
    first = [y for _, y in data.get_dataloaders("digits", 50, seed=3).train]
    again = [y for _, y in data.get_dataloaders("digits", 50, seed=3).train]
    other = [y for _, y in data.get_dataloaders("digits", 50, seed=4).train]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=False))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(name="imagenet", batch_size=8), "Unknown data set"),
        (dict(name="digits", batch_size=0), "batch_size"),
        (dict(name="digits", batch_size=8, valid_fraction=1.0), "valid_fraction"),
        (dict(name="digits", batch_size=8, valid_fraction=-0.1), "valid_fraction"),
        (dict(name="digits", batch_size=8, subset=5000), "larger than"),
        (dict(name="digits", batch_size=8, subset=3), "subset"),
        (dict(name="digits", batch_size=8, test_subset=1000), "larger than"),
        (dict(name="mnist", batch_size=8, shape=(1, 8, 8)), "shape"),
        (dict(name="digits", batch_size=8, device="gpu0"), "device must be a device such as"),
        (dict(name="digits", batch_size=8, device="cpu", num_workers=2), "num_workers only applies"),
        (dict(name="digits", batch_size=True), "batch_size"),
        (dict(name="digits", batch_size=8, valid_fraction="0.1"), "valid_fraction"),
        (dict(name="digits", batch_size=8, seed=-1), "seed must be an integer"),
        (dict(name="digits", batch_size=8, seed=1.5), "seed must be an integer"),
        (dict(name="digits", batch_size=8, num_workers=None), "num_workers must be an integer"),
        (dict(name="digits", batch_size=8, shape=(1, 28)), "shape must be"),
    ],
)
def test_bad_arguments_raise_one_sentence(kwargs, fragment):
    name = kwargs.pop("name")
    batch_size = kwargs.pop("batch_size")
    with pytest.raises(CourseError, match=fragment) as caught:
        data.get_dataloaders(name, batch_size, **kwargs)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


@pytest.mark.parametrize(("name", "shape"), [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_missing_data_falls_back_to_digits_with_banner(offline, tmp_path, capsys, name, shape):
    start = time.perf_counter()
    loaders = data.get_dataloaders(name, 16, root=tmp_path, subset=100, augment=True)
    assert time.perf_counter() - start < 5
    banner = capsys.readouterr().out
    assert "is not available" in banner and "`make data`" in banner and "+---" in banner
    assert "it is not there" in banner and "damaged" not in banner
    assert str(tmp_path) in banner
    info = loaders.info
    assert (info.name, info.requested, info.fell_back, info.shape) == ("digits", name, True, shape)
    x, _ = next(iter(loaders.train))
    assert x.shape == (16, *shape)


def test_a_device_this_machine_lacks_is_one_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CourseError, match="This machine has no cuda device"):
        data.get_dataloaders("digits", 8, device="cuda")


def test_a_subset_just_below_the_whole_training_set_works():
    loaders = data.get_dataloaders("digits", 64, subset=1432, valid_fraction=0)
    assert loaders.info.num_train == 1432
    assert data.get_dataloaders("digits", 64, subset=1432, seed=1, valid_fraction=0).info.num_train == 1432


def test_fallback_clips_sizes_to_the_digits(offline):
    loaders = data.get_dataloaders("mnist", 64, root="/nonexistent-course-data", subset=50_000)
    assert loaders.info.fell_back
    assert loaders.info.num_train + loaders.info.num_valid == 1437
    assert loaders.info.num_test == 360


def test_missing_data_without_fallback_names_file_and_command(offline, tmp_path):
    with pytest.raises(CourseError) as caught:
        data.get_dataloaders("cifar10", 16, root=tmp_path, fallback=False)
    message = str(caught.value)
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in message
    assert "`make data`" in message


def test_download_command_fails_in_one_sentence_when_offline(offline, tmp_path, capsys):
    assert download.main(["--download", "mnist", "--root", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("Could not download MNIST") and "\n" not in error
    assert str(tmp_path / "MNIST" / "raw") in error and "data/README.md" in error


def test_only_full_mode_lifts_the_download_budget():
    assert data.download_budget("full") is None
    assert data.download_budget("lecture") == data.download_budget("smoke") == 20
    with pytest.raises(CourseError, match="MODE"):
        data.download_budget("fast")


@pytest.mark.parametrize("budget", [-1, "20", True])
def test_bad_download_budget_is_refused(budget):
    with pytest.raises(CourseError, match="download_budget_s"):
        data.get_dataloaders("digits", 8, download_budget_s=budget)


def _write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the IDX format of the MNIST files."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_files_on_disk_are_used(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "fetch", lambda *args: pytest.fail("no download expected"))
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))  # the default root is the data directory
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sizes = {"train": 60, "t10k": 30}
    for prefix, n in sizes.items():
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    loaders = data.get_dataloaders("mnist", 8, valid_fraction=0.5)
    info = loaders.info
    assert (info.name, info.fell_back, info.shape) == ("mnist", False, (1, 28, 28))
    assert (info.num_train, info.num_valid, info.num_test) == (30, 30, 30)
    assert info.mean == data.MNIST_MEAN and info.std == data.MNIST_STD
    x, y = next(iter(loaders.test))
    assert x.shape == (8, 1, 28, 28) and y.tolist() == list(range(8))


def test_augmentation_crops_and_flips_only_colour_cifar():
    ones = torch.ones(64, 1, 8, 8)
    torch.manual_seed(0)
    cropped = data.random_crop(ones, 2)
    assert cropped.shape == ones.shape
    assert (cropped == 0).any() and (cropped == 1).any()  # some crops reach into the zero padding
    assert torch.equal(data.random_crop(ones, 0), ones)
    digits = data.get_dataloaders("digits", 8, augment=True)
    assert digits.train.dataset.augment and not digits.train.dataset.flip
    assert not digits.valid.dataset.augment and not digits.test.dataset.augment


def coordinate_images(n: int) -> torch.Tensor:
    """uint8 32x32 images whose pixels say where they are: row x 8, column x 8, and 255."""
    rows = torch.arange(32).view(32, 1).expand(32, 32) * 8
    cols = torch.arange(32).view(1, 32).expand(32, 32) * 8
    image = torch.stack([rows, cols, torch.full((32, 32), 255)]).to(torch.uint8)
    return image.expand(n, 3, 32, 32).contiguous()


def crop_offsets_and_flips(loader) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Vertical and horizontal crop offsets (-4..4) and flips of every image of one epoch, read off
    the coordinates at the centre (the data set is not normalised: mean 0, std 1)."""
    x = torch.cat([images for images, _ in loader]) * 255
    centre = x[:, :, 16, 16].round().long()
    flipped = x[:, 1, 16, 10] > x[:, 1, 16, 20]
    dx = torch.where(flipped, centre[:, 1] // 8 - 15, centre[:, 1] // 8 - 16)
    return centre[:, 0] // 8 - 16, dx, flipped


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("device", [None, "cpu", pytest.param("cuda", marks=CUDA)])
def test_crops_and_flips_are_uniform_on_both_paths(device):
    dataset = data.TensorImages(coordinate_images(3600), torch.zeros(3600, dtype=torch.long), (0.0,) * 3,
                                (1.0,) * 3, augment=True, pad=4, flip=True)
    torch.manual_seed(0)
    loader = data.make_loader(dataset, 512, shuffle=True, seed=0, device=device)
    dy, dx, flipped = crop_offsets_and_flips(loader)
    for offsets in (dy, dx):
        counts = torch.bincount(offsets + 4, minlength=9)
        assert len(counts) == 9 and (counts - 400).abs().max() < 100, counts.tolist()  # 9 offsets, 1/9 each
    assert abs(flipped.float().mean().item() - 0.5) < 0.05
    x, _ = next(iter(loader))
    assert x.shape == (512, 3, 32, 32) and x.dtype == torch.float32
    assert x.min() == 0.0 and x.max() == 1.0  # zero padding comes in, nothing leaves [0, 1]


def test_device_loaders_match_the_cpu_path_without_randomness():
    cpu = data.get_dataloaders("digits", 64, subset=300, shape=(3, 16, 16), augment=True, seed=2)
    on_device = data.get_dataloaders("digits", 64, subset=300, shape=(3, 16, 16), augment=True, seed=2,
                                     device="cpu")
    assert isinstance(on_device.train, data.DeviceLoader) and on_device.info == cpu.info
    for ours, theirs in ((on_device.valid, cpu.valid), (on_device.test, cpu.test)):
        assert len(ours) == len(theirs)
        for (x, y), (x_cpu, y_cpu) in zip(ours, theirs, strict=True):
            assert torch.equal(x, x_cpu) and torch.equal(y, y_cpu)
    assert len(on_device.train) == len(cpu.train) == -(-on_device.info.num_train // 64)
    epochs = [[y for _, y in on_device.train] for _ in range(2)]
    assert [len(y) for y in epochs[0]] == [len(y) for _, y in cpu.train]
    for epoch in epochs:  # every epoch is a permutation of the training set
        assert torch.equal(torch.cat(epoch).sort().values, on_device.train.dataset.targets.sort().values)
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))
    x, _ = next(iter(on_device.train))
    assert x.shape == (64, 3, 16, 16) and x.dtype == torch.float32 and x.device.type == "cpu"


def test_device_loaders_are_seeded():
    def epoch(seed: int) -> list[torch.Tensor]:
        loaders = data.get_dataloaders("digits", 50, subset=200, augment=True, seed=seed, device="cpu")
        return [x for x, _ in loaders.train]

    first, again, other = epoch(3), epoch(3), epoch(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


@CUDA
def test_a_device_loader_on_the_gpu_never_waits_for_it():
    loaders = data.get_dataloaders("digits", 64, subset=500, shape=(3, 16, 16), augment=True, device="cuda")
    torch.cuda.set_sync_debug_mode("error")  # any operation that waits for the GPU raises
    try:
        batches = [x for x, _ in loaders.train]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert batches[0].device.type == "cuda" and len(batches) == len(loaders.train)


def test_data_device_is_the_gpu_in_full_mode_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert data.data_device("full") == torch.device("cuda")
    assert data.data_device("lecture") is None and data.data_device("smoke") is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert data.data_device("full") is None
    with pytest.raises(CourseError, match="MODE must be one of"):
        data.data_device("fast")


def test_single_item_indexing():
    dataset = data.get_dataloaders("digits", 8).train.dataset
    x, y = dataset[0]
    assert x.shape == (1, 28, 28) and y.ndim == 0


def test_photo():
    camera = data.photo()
    assert camera.shape == (1, 512, 512) and camera.dtype == torch.float32
    assert 0.0 <= camera.min() and camera.max() <= 1.0
    colour = data.photo("chelsea", size=64, gray=False)
    assert colour.shape == (3, 64, 64)
    assert data.photo("camera", gray=False).shape == (3, 512, 512)
    with pytest.raises(CourseError, match="astronaut"):
        data.photo("lena")


@IN_CHECKOUT
def test_relative_root_is_taken_from_the_checkout(tmp_path):
    assert paths.resolve_root("data") == paths.checkout_root() / "data"
    assert paths.resolve_root(tmp_path) == tmp_path


# ----------------------------------------------------------------------------------------------
# Where the data lives


def fake_package(folder: Path, *, name: str = "cnn-course", notebooks: bool = True) -> Path:
    """A folder laid out like a checkout (pyproject.toml naming ``name``, notebooks/, helper/)."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1.0"\n')
    if notebooks:
        (folder / "notebooks").mkdir()
    (folder / "helper").mkdir()
    return folder / "helper"


@IN_CHECKOUT
def test_this_checkout_is_detected_and_holds_the_data(no_data_settings):
    root = Path(__file__).resolve().parents[1]
    assert paths.checkout_root() == root
    assert paths.data_dir() == root / "data"


def test_course_data_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "elsewhere"))
    assert paths.data_dir() == tmp_path / "elsewhere"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA", "relative")
    # taken from the checkout, so make data (at the root) and the notebooks (in notebooks/) agree
    assert paths.data_dir() == (paths.checkout_root() or tmp_path) / "relative"


def test_a_fake_checkout_is_detected(no_data_settings, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "PACKAGE_DIR", fake_package(tmp_path / "course"))
    assert paths.checkout_root() == tmp_path / "course"
    assert paths.data_dir() == tmp_path / "course" / "data"
    assert paths.resolve_root("data") == tmp_path / "course" / "data"


@pytest.mark.parametrize("layout", [dict(name="some-other-project"), dict(notebooks=False)])
def test_an_installed_package_keeps_its_data_in_the_user_cache(no_data_settings, monkeypatch, tmp_path,
                                                                layout):
    monkeypatch.setattr(paths, "PACKAGE_DIR", fake_package(tmp_path / "site-packages", **layout))
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda name: str(tmp_path / "cache" / name))
    assert paths.checkout_root() is None
    assert paths.data_dir() == tmp_path / "cache" / "cnn-course"
    monkeypatch.chdir(tmp_path)
    assert paths.resolve_root("mine") == tmp_path / "mine"


def test_where_prints_the_data_directory(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert download.main(["--where"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path)


def test_download_defaults_to_the_data_directory(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setattr(download, "fetch", lambda name, root, limits: pytest.fail(f"{name} is already there"))
    monkeypatch.setattr(data, "load_torchvision", lambda name, root: None)  # reads correctly
    for path in download.expected_files("mnist", tmp_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    download.download(["mnist"])
    assert capsys.readouterr().out.strip() == f"MNIST is already in {tmp_path} (and reads correctly)."
