"""Data for the notebooks: MNIST, CIFAR-10, scikit-learn's digits, and scikit-image's photos.

``get_dataloaders("cifar10", 128)`` returns train/valid/test loaders plus a :class:`DatasetInfo`.
MNIST and CIFAR-10 come from torchvision's files in the data directory (:func:`data_dir`; ``make
data`` downloads them there, see :mod:`helper.download`). When they are missing and cannot be
downloaded within the budget (20 s by default, so that a lecture never waits on the network), the
loaders fall back to the 1,797 handwritten digits bundled with scikit-learn, resized to the
requested image shape, and print a banner.

The small data sets live in memory as tensors, and every loader indexes a whole batch at once,
so loading costs next to nothing on a laptop CPU. Augmentation, when asked for, is done per batch
on tensors as well. With ``device=`` (full mode on a GPU: ``device=data.data_device(MODE)``) the
whole uint8 data set is put on that device once and shuffled, cropped, flipped and normalised there
(:class:`DeviceLoader`): no batch is copied from the CPU, and no worker processes are needed.

The data directory is :func:`helper.paths.data_dir` (``data.data_dir`` here too); ``make data`` is
``python -m helper.download`` (:mod:`helper.download`).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from helper.device import resolve_device
from helper.download import (
    LECTURE_BUDGET_S,
    TITLES,
    DownloadError,
    budget_limits,
    expected_files,
    fetch,
    full_limits,
)
from helper.errors import CourseError, is_real, is_whole
from helper.modes import check_mode
from helper.paths import data_dir, resolve_root

DATASETS = ("mnist", "cifar10", "digits")
DIGIT_CLASSES = [str(d) for d in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# Standard per-channel statistics of the training sets, on images scaled to [0, 1].
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (1, 28, 28)}
PRETTY = {**TITLES, "digits": "digits"}
# Digits: a fixed 20% test split that never changes with ``seed``; test subsets use a fixed seed too.
DIGITS_TEST_FRACTION = 0.2
TEST_SPLIT_SEED = 0


@dataclass
class DatasetInfo:
    """What the loaders actually contain.

    ``name`` is the data set used ("mnist", "cifar10" or "digits"); ``requested`` is the name
    asked for; ``fell_back`` is True when the digits stood in for a missing data set.
    """

    name: str
    requested: str
    classes: list[str]
    shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    fell_back: bool
    num_train: int
    num_valid: int
    num_test: int

    @property
    def pretty_name(self) -> str:
        """Human-readable name of the data set used, e.g. "CIFAR-10"."""
        return PRETTY[self.name]

    def unnormalize(self, images: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of a batch (N, C, H, W) or image (C, H, W), clipped to [0, 1]."""
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device).view(-1, 1, 1)
        return (images * std + mean).clamp(0.0, 1.0)


class Loaders(NamedTuple):
    """Train, validation and test loaders (``valid`` is None when ``valid_fraction`` is 0) and info."""

    train: SeededLoader | DeviceLoader
    valid: SeededLoader | DeviceLoader | None
    test: SeededLoader | DeviceLoader
    info: DatasetInfo


class TensorImages(Dataset):
    """Images kept in memory as a tensor; indexing with a list of indices returns a whole batch.

    ``images`` is uint8 in [0, 255] or float in [0, 1], shaped (N, C, H, W). Items come out as
    normalised float32. With ``augment`` every batch gets a random crop after zero padding by
    ``pad`` pixels and, when ``flip`` is set, a random horizontal flip (torch's global RNG, or the
    generator passed to :meth:`batch`).
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        *,
        augment: bool = False,
        pad: int = 4,
        flip: bool = False,
    ) -> None:
        self.images = images
        self.targets = targets
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.augment, self.pad, self.flip = augment, pad, flip

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int | list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        single = isinstance(index, int)
        x, y = self.batch(torch.as_tensor([index] if single else index, dtype=torch.long))
        return (x[0], y[0]) if single else (x, y)

    def batch(self, idx: torch.Tensor, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """The images at ``idx`` (augmented, normalised) and their targets, on the data set's device.

        The augmentation draws from ``generator`` (on that device), or from torch's global RNG.
        """
        x = self.images[idx]
        x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
        if self.augment:
            x = random_crop(x, self.pad, generator)
            if self.flip:
                flipped = torch.rand(len(x), generator=generator, device=x.device) < 0.5
                x = torch.where(flipped.view(-1, 1, 1, 1), x.flip(-1), x)
        return (x - self.mean) / self.std, self.targets[idx]

    def to(self, device: torch.device) -> TensorImages:
        """The same data set with images (still uint8), targets and statistics on ``device``."""
        moved = copy.copy(self)
        moved.images, moved.targets = self.images.to(device), self.targets.to(device)
        moved.mean, moved.std = self.mean.to(device), self.std.to(device)
        return moved


def random_crop(images: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad a batch by ``pad`` pixels and cut a random crop of the original size from each image.

    The offsets come from ``generator`` (on the images' device), or from torch's global RNG.
    """
    n, _, h, w = images.shape
    device = images.device
    padded = F.pad(images, (pad, pad, pad, pad))
    top = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator, device=device)
    left = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator, device=device)
    rows = (top + torch.arange(h, device=device)).unsqueeze(2)  # (n, h, 1)
    cols = (left + torch.arange(w, device=device)).unsqueeze(1)  # (n, 1, w)
    batch = torch.arange(n, device=device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


class DeviceLoader:
    """Batches of a :class:`TensorImages` kept whole on ``device`` (a GPU) and prepared there.

    Same semantics as the CPU path's DataLoader: every epoch a fresh seeded permutation (or the
    stored order without ``shuffle``), batches of ``batch_size`` with a smaller last one, the data
    set's crop, flip and normalisation. All random numbers come from ``generator``, which lives on
    ``device`` (``fit``'s checkpoints save and restore it), so preparing a batch never waits for the CPU.
    """

    def __init__(self, dataset: TensorImages, batch_size: int, *, shuffle: bool, seed: int,
                 device: torch.device) -> None:
        self.dataset = dataset.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def state_dict(self) -> dict[str, Any]:
        """The shuffling and augmentation state, which decides the next epoch's batches."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a :meth:`state_dict`."""
        self.generator.set_state(state["generator"])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        for start in range(0, n, self.batch_size):
            yield self.dataset.batch(order[start:start + self.batch_size], self.generator)


# ----------------------------------------------------------------------------------------------
# torchvision's files


def _torchvision_dataset(name: str, root: Path, train: bool):
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.CIFAR10
    return cls(str(root), train=train, download=False)


# What torchvision raises for unpacked files that are damaged (cut short, overwritten, wrong format):
# its MNIST reader checks the header with `assert` and looks the type code up in a dict.
UNREADABLE = (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError, AssertionError, KeyError,
              IndexError, TypeError)


def load_torchvision(name: str, root: Path) -> tuple[torch.Tensor, ...]:
    """(train images, train targets, test images, test targets) as uint8 (N, C, H, W) and int64."""
    out = []
    for train in (True, False):
        ds = _torchvision_dataset(name, root, train)
        data = torch.as_tensor(np.asarray(ds.data))
        images = data.unsqueeze(1) if name == "mnist" else data.permute(0, 3, 1, 2)
        targets = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
        if len(images) != len(targets) or images.shape[1:] != SHAPES[name] or images.dtype != torch.uint8:
            raise ValueError(f"{len(images)} images shaped {tuple(images.shape[1:])}, {len(targets)} labels")
        out += [images.contiguous(), targets]
    return out[0], out[1], out[2], out[3]


def _banner(requested: str, shape: tuple[int, int, int], root: Path, damaged: bool) -> str:
    why = ("its files there are damaged (cut short, or not in torchvision's format)" if damaged
           else "it is not there and could not be downloaded now")
    lines = [
        f"{PRETTY[requested]} is not available in {root}: {why}.",
        f"Using scikit-learn's bundled handwritten digits instead, shaped {shape[0]}x{shape[1]}x{shape[2]}.",
        "Results will differ from the real data set.",
        "Run `make data` to download MNIST and CIFAR-10 (data/README.md shows other ways).",
    ]
    width = max(map(len, lines))
    border = "+" + "-" * (width + 2) + "+"
    return "\n".join([border, *(f"| {line.ljust(width)} |" for line in lines), border])


def _missing_message(name: str, root: Path) -> str:
    missing = next((p for p in expected_files(name, root) if not p.exists()), expected_files(name, root)[0])
    return (f"{PRETTY[name]} is missing or damaged ({missing} could not be read) and could not be "
            f"downloaded now; run `make data`, or copy torchvision's files into {root} (see data/README.md).")


# ----------------------------------------------------------------------------------------------
# scikit-learn's digits


def digits_arrays(shape: tuple[int, int, int] = (1, 28, 28)) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as float images in [0, 1] shaped ``shape`` (bilinear resize, channels repeated)."""
    from sklearn.datasets import load_digits

    channels, height, width = shape
    if channels not in (1, 3) or height < 1 or width < 1:
        raise CourseError(f"shape must be (1 or 3, height, width) with positive sizes; got {shape}.")
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if (height, width) != (8, 8):
        images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    images = images.clamp(0.0, 1.0).repeat(1, channels, 1, 1).contiguous()
    return images, torch.tensor(bunch.target, dtype=torch.long)


def _load_digits(shape: tuple[int, int, int]) -> tuple[torch.Tensor, ...]:
    images, targets = digits_arrays(shape)
    train_idx, test_idx = train_test_split(np.arange(len(targets)), test_size=DIGITS_TEST_FRACTION,
                                           stratify=targets.numpy(), random_state=TEST_SPLIT_SEED)
    train_idx, test_idx = torch.as_tensor(np.sort(train_idx)), torch.as_tensor(np.sort(test_idx))
    return images[train_idx], targets[train_idx], images[test_idx], targets[test_idx]


# ----------------------------------------------------------------------------------------------
# Splits


def stratified_sample(targets: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """Indices of ``size`` items whose class proportions match ``targets`` (sorted; seeded).

    When fewer items than classes would be left out, they are left out at random instead."""
    everything = np.arange(len(targets))
    if size >= len(targets):
        return torch.as_tensor(everything)
    n_classes = len(torch.unique(targets))  # both parts must hold every class to stratify
    stratify = targets.numpy() if min(size, len(targets) - size) >= n_classes else None
    chosen, _ = train_test_split(everything, train_size=size, stratify=stratify, random_state=seed)
    return torch.as_tensor(np.sort(chosen))


def _split_valid(targets: torch.Tensor, n_valid: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random seeded (train, valid) index split; stratified whenever both parts hold every class."""
    everything = np.arange(len(targets))
    n_classes = len(torch.unique(targets))
    stratify = targets.numpy() if min(n_valid, len(targets) - n_valid) >= n_classes else None
    train, valid = train_test_split(everything, test_size=n_valid, stratify=stratify, random_state=seed)
    return torch.as_tensor(train), torch.as_tensor(valid)


class SeededLoader(DataLoader):
    """A DataLoader whose one seeded generator decides its order; its state can be saved and restored."""

    def state_dict(self) -> dict[str, Any]:
        """The shuffling state, which decides the next epoch's order."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from a :meth:`state_dict`."""
        self.generator.set_state(state["generator"])


def make_loader(dataset: TensorImages, batch_size: int, *, shuffle: bool, seed: int, num_workers: int = 0,
                device: torch.device | None = None) -> SeededLoader | DeviceLoader:
    """The loader :func:`get_dataloaders` builds for ``dataset``: a DataLoader that fetches whole
    batches on the CPU (seeded shuffling), or with ``device`` a :class:`DeviceLoader` there."""
    if device is not None:
        return DeviceLoader(dataset, batch_size, shuffle=shuffle, seed=seed, device=device)
    generator = torch.Generator().manual_seed(seed)
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return SeededLoader(
        dataset,
        batch_size=None,  # the sampler below already yields lists of indices
        sampler=BatchSampler(order, batch_size, drop_last=False),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=generator,
    )


def _check_arguments(name: str, batch_size: int, valid_fraction: float, subset: int | None,
                     test_subset: int | None, seed: int, num_workers: int, shape: tuple[int, int, int] | None,
                     download_budget_s: float | None, device: torch.device | None) -> None:
    if name not in DATASETS:
        raise CourseError(f"Unknown data set {name!r}; choose one of {', '.join(map(repr, DATASETS))}.")
    if not is_whole(batch_size) or batch_size < 1:
        raise CourseError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if not is_real(valid_fraction) or not 0.0 <= valid_fraction < 1.0:
        raise CourseError(f"valid_fraction must be a number in [0, 1); got {valid_fraction!r}.")
    for label, value in (("subset", subset), ("test_subset", test_subset)):
        if value is not None and (not is_whole(value) or value < 10):
            raise CourseError(f"{label} must be None or an integer of at least 10 (one image per class); "
                              f"got {value!r}.")
    if not is_whole(seed) or not 0 <= seed < 2**32:
        raise CourseError(f"seed must be an integer from 0 to 2**32 - 1; got {seed!r}.")
    if not is_whole(num_workers) or num_workers < 0:
        raise CourseError(f"num_workers must be an integer, 0 or more; got {num_workers!r}.")
    if num_workers and device is not None:
        raise CourseError("num_workers only applies to loaders on the CPU; with device= the data are "
                          "prepared on the device itself.")
    if shape is not None and name != "digits":
        raise CourseError(f"shape only applies to the digits data set; {name} images are {SHAPES[name]}.")
    well_formed = isinstance(shape, tuple | list) and len(shape) == 3 and all(map(is_whole, shape))
    if shape is not None and not well_formed:
        raise CourseError(f"shape must be (channels, height, width), such as (3, 32, 32); got {shape!r}.")
    budget_ok = is_real(download_budget_s) and download_budget_s >= 0
    if download_budget_s is not None and not budget_ok:
        raise CourseError(f"download_budget_s must be None (no budget) or a number of seconds, 0 or more; "
                          f"got {download_budget_s!r}.")


def data_device(mode: str) -> torch.device | None:
    """``device`` for :func:`get_dataloaders` in a notebook's ``MODE``: the GPU in full mode when
    CUDA is available, otherwise None (the CPU path, as in lecture mode)."""
    check_mode(mode)
    return torch.device("cuda") if mode == "full" and torch.cuda.is_available() else None


def download_budget(mode: str) -> float | None:
    """``download_budget_s`` for a notebook's ``MODE``: no budget in full mode, 20 s otherwise."""
    check_mode(mode)
    return None if mode == "full" else LECTURE_BUDGET_S


def get_dataloaders(
    name: str,
    batch_size: int,
    *,
    root: str | Path | None = None,
    valid_fraction: float = 0.1,
    subset: int | None = None,
    test_subset: int | None = None,
    augment: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    fallback: bool = True,
    download_budget_s: float | None = LECTURE_BUDGET_S,
    shape: tuple[int, int, int] | None = None,
    device: torch.device | str | None = None,
) -> Loaders:
    """Train/valid/test loaders for "mnist", "cifar10" or "digits", normalised per channel.

    - MNIST and CIFAR-10 are read from torchvision's files under ``root`` (default
      :func:`data_dir`; a relative root is taken from the checkout, see :func:`resolve_root`).
      When missing they are downloaded from verified sources (:mod:`helper.download`), but only
      if that can finish within ``download_budget_s`` seconds (20 by default, for lecture mode);
      ``None`` lifts the budget (full mode: a progress bar, up to the overall deadline); a
      notebook passes ``download_budget_s=data.download_budget(MODE)``. If that
      fails, ``fallback=True`` prints a banner and uses the digits shaped like the requested data
      (1x28x28 or 3x32x32); ``fallback=False`` raises :class:`CourseError`.
    - "digits" are scikit-learn's 1,797 8x8 digits resized to ``shape`` (default 1x28x28), with a
      fixed stratified 20% test split that does not depend on ``seed``.
    - ``subset``: a stratified, seeded sample of that many training images. ``test_subset``: a
      stratified sample of the test set (fixed, independent of ``seed``); when ``subset`` is given
      and ``test_subset`` is None, ``test_subset = max(subset // 4, number of classes)``. After a
      fallback, sizes larger than the digits offer are reduced to what exists.
    - The validation set is a seeded random (stratified when possible) ``valid_fraction`` of the
      (subset of the) training set; ``valid_fraction=0`` gives ``valid=None``.
    - ``augment``: random crop after zero padding (4 pixels for CIFAR-10, 2 for digit images) and,
      for CIFAR-10 only, a random horizontal flip (a flipped digit is a different symbol).
    - ``device``: keep the data sets on that device and prepare every batch there
      (:class:`DeviceLoader`, seeded by ``seed``); the default None prepares batches on the CPU.
      A notebook passes ``device=data.data_device(MODE)``.
    """
    device = resolve_device(device) if device is not None else None
    _check_arguments(name, batch_size, valid_fraction, subset, test_subset, seed, num_workers, shape,
                     download_budget_s, device)
    root = data_dir() if root is None else resolve_root(root)
    used, fell_back = name, False
    if name == "digits":
        data = _load_digits(shape or SHAPES["digits"])
    else:
        limits = full_limits() if download_budget_s is None else budget_limits(download_budget_s)
        try:
            if not all(p.exists() for p in expected_files(name, root)):
                fetch(name, root, limits)
            data = load_torchvision(name, root)
        except (DownloadError, *UNREADABLE) as error:
            if not fallback:
                raise CourseError(_missing_message(name, root)) from error
            used, fell_back = "digits", True
            print(_banner(name, SHAPES[name], root, damaged=not isinstance(error, DownloadError)))
            data = _load_digits(SHAPES[name])
    train_x, train_y, test_x, test_y = data
    image_shape = tuple(train_x.shape[1:])
    classes = CIFAR10_CLASSES if used == "cifar10" else DIGIT_CLASSES

    if subset is not None and test_subset is None:
        test_subset = min(max(subset // 4, len(classes)), len(test_y))
    sizes = (("subset", subset, len(train_y)), ("test_subset", test_subset, len(test_y)))
    for label, value, available in sizes:
        if value is not None and value > available and not fell_back:
            raise CourseError(f"{label}={value} is larger than the {available} images available in "
                              f"{PRETTY[used]}; choose {available} or fewer.")
    if subset is not None:
        keep = stratified_sample(train_y, subset, seed)
        train_x, train_y = train_x[keep], train_y[keep]
    if test_subset is not None:
        keep = stratified_sample(test_y, test_subset, TEST_SPLIT_SEED)
        test_x, test_y = test_x[keep], test_y[keep]

    if used == "digits":  # statistics of the training pool (grey values repeated over channels)
        mean = (float(data[0].mean()),) * image_shape[0]
        std = (float(data[0].std()),) * image_shape[0]
    else:
        mean, std = (MNIST_MEAN, MNIST_STD) if used == "mnist" else (CIFAR10_MEAN, CIFAR10_STD)

    n_valid = max(1, round(valid_fraction * len(train_y))) if valid_fraction > 0 else 0
    if n_valid >= len(train_y):
        raise CourseError(f"valid_fraction={valid_fraction} leaves no training images; choose a smaller one.")
    if n_valid:
        train_idx, valid_idx = _split_valid(train_y, n_valid, seed)
    else:
        train_idx, valid_idx = torch.arange(len(train_y)), torch.empty(0, dtype=torch.long)

    pad = 4 if used == "cifar10" else 2
    train_set = TensorImages(train_x[train_idx], train_y[train_idx], mean, std,
                             augment=augment, pad=pad, flip=used == "cifar10")
    valid_set = TensorImages(train_x[valid_idx], train_y[valid_idx], mean, std)
    test_set = TensorImages(test_x, test_y, mean, std)
    info = DatasetInfo(name=used, requested=name, classes=list(classes), shape=image_shape,  # type: ignore[arg-type]
                       mean=mean, std=std, fell_back=fell_back, num_train=len(train_set),
                       num_valid=len(valid_set), num_test=len(test_set))
    settings: dict[str, Any] = dict(seed=seed, num_workers=num_workers, device=device)
    return Loaders(
        train=make_loader(train_set, batch_size, shuffle=True, **settings),
        valid=make_loader(valid_set, batch_size, shuffle=False, **settings) if n_valid else None,
        test=make_loader(test_set, batch_size, shuffle=False, **settings),
        info=info,
    )


# ----------------------------------------------------------------------------------------------
# Photos for convolution demos

PHOTOS = ("astronaut", "brick", "camera", "cat", "chelsea", "coffee", "coins", "grass", "gravel", "moon",
          "page", "rocket", "text")


def photo(name: str = "camera", *, size: int | None = None, gray: bool = True) -> torch.Tensor:
    """One of scikit-image's bundled photos as a float tensor in [0, 1], shaped (1, H, W) or (3, H, W).

    ``gray=False`` gives three channels (grey photos are repeated); ``size`` cuts the central
    square and resizes it to ``size`` x ``size`` pixels (bilinear, antialiased).
    """
    import skimage.data

    if name not in PHOTOS:
        raise CourseError(f"Unknown photo {name!r}; choose one of {', '.join(PHOTOS)}.")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise CourseError(f"size must be None or a positive integer; got {size!r}.")
    array = getattr(skimage.data, name)()
    image = torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32) / 255.0
    image = image.permute(2, 0, 1) if image.ndim == 3 else image.unsqueeze(0)
    if gray and image.shape[0] == 3:
        weights = torch.tensor([0.2125, 0.7154, 0.0721]).view(3, 1, 1)  # ITU-R BT.709 luminance
        image = (image * weights).sum(0, keepdim=True)
    elif not gray and image.shape[0] == 1:
        image = image.repeat(3, 1, 1)
    if size is not None:
        height, width = image.shape[1:]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[:, top:top + side, left:left + side].unsqueeze(0)
        image = F.interpolate(square, size=(size, size), mode="bilinear", align_corners=False,
                              antialias=side > size)[0]
    return image.clamp(0.0, 1.0).contiguous()
