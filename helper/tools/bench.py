"""Training speed of the course models: ``python -m helper.tools bench`` (``make bench``).

Two comparisons, both in training images per second on :func:`helper.train.default_device`:

1. ``helper.train.fit`` against a bare PyTorch loop (forward, loss, ``zero_grad``, ``backward``,
   ``step``) on the same model, optimizer and in-memory batches. Goal: ``fit`` costs at most 5%.
2. Our ResNet-34 (ImageNet stem) and VGG-16-BN against ``torchvision.models.resnet34`` and
   ``vgg16_bn`` on the same input. Goal: ours is no slower.

The data are random tensors already on the device, so no data loading is measured. Warm-up steps run
first and are not timed; every measurement is repeated ``--repeats`` times, alternating between the
two contenders, and the best run of each counts (a shared machine only ever makes a run slower).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import torch
import torchvision
from torch import nn

from helper import models
from helper.errors import CourseError
from helper.train import auxiliary_loss, default_device, fit, model_device

Batches = list[tuple[torch.Tensor, torch.Tensor]]

# Ours against torchvision, same architecture and input (ImageNet configurations, 1000 classes).
TORCHVISION_PAIRS: dict[str, tuple[Callable[[], nn.Module], Callable[[], nn.Module]]] = {
    "resnet34": (lambda: models.resnet34(), lambda: torchvision.models.resnet34(weights=None)),
    "vgg16_bn": (lambda: models.vgg16(batch_norm=True), lambda: torchvision.models.vgg16_bn(weights=None)),
}


@dataclass
class Settings:
    device: torch.device
    batch_size: int
    steps: int
    warmup: int
    repeats: int
    image_size: int


def make_batches(count: int, batch_size: int, image_size: int, classes: int, device: torch.device) -> Batches:
    """``count`` batches of random images and labels, already on ``device``."""
    return [
        (
            torch.randn(batch_size, 3, image_size, image_size, device=device),
            torch.randint(classes, (batch_size,), device=device),
        )
        for _ in range(count)
    ]


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer) -> None:
    """The textbook training loop, with nothing else in it."""
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for inputs, targets in batches:
        outputs = model(inputs)
        if isinstance(outputs, tuple):
            loss = auxiliary_loss(outputs, targets, loss_fn)
        else:
            loss = loss_fn(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def helper_loop(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer) -> None:
    """The same steps through ``helper.train.fit`` (one epoch, no validation, no progress bar)."""
    fit(model, batches, None, epochs=1, optimizer=optimizer, device=model_device(model), progress=False)


def images_per_second(
    build: Callable[[], nn.Module],
    loop: Callable[[nn.Module, Batches, torch.optim.Optimizer], None],
    settings: Settings,
    classes: int,
) -> float:
    """Build a fresh model (seed 0), run the warm-up steps, then time ``settings.steps`` steps."""
    torch.manual_seed(0)
    model = build().to(settings.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    size = settings.image_size
    warmup = make_batches(settings.warmup, settings.batch_size, size, classes, settings.device)
    timed = make_batches(settings.steps, settings.batch_size, size, classes, settings.device)
    loop(model, warmup, optimizer)
    synchronize(settings.device)
    start = time.perf_counter()
    loop(model, timed, optimizer)
    synchronize(settings.device)
    return settings.steps * settings.batch_size / (time.perf_counter() - start)


def best_of(first: Callable[[], float], second: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Run the two measurements alternately ``repeats`` times; the best rate of each."""
    a, b = [], []
    for _ in range(repeats):
        a.append(first())
        b.append(second())
    return max(a), max(b)


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` under ``header``: first column left-aligned, numbers right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            text.rjust(width) for text, width in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells)

    print(f"\n{title}")
    print(line(header))
    print("-" * len(line(header)))
    for row in rows:
        print(line(row))


def run(names: list[str], settings: Settings) -> None:
    """Measure and print both tables for the architectures in ``names``."""
    print(
        f"device {settings.device}, batch {settings.batch_size}, {settings.warmup} warm-up + "
        f"{settings.steps} timed steps, best of {settings.repeats}"
    )
    cifar = replace(settings, image_size=32)
    rows = []
    for name in names:
        build = models.CIFAR_MODELS[name]
        helper_rate, bare_rate = best_of(
            partial(images_per_second, build, helper_loop, cifar, 10),
            partial(images_per_second, build, bare_loop, cifar, 10),
            settings.repeats,
        )
        overhead = bare_rate / helper_rate - 1
        verdict = "ok" if overhead <= 0.05 else "above goal"
        rows.append((name, f"{helper_rate:.1f}", f"{bare_rate:.1f}", f"{overhead:+.1%}", verdict))
        print(f"  measured {name}: fit vs bare loop", flush=True)
    print_table(
        "helper.train.fit vs a bare loop (CIFAR configurations, 32x32, images/s; goal: overhead <= 5%)",
        ("model", "fit", "bare loop", "overhead", "goal"),
        rows,
    )

    rows = []
    for name in [n for n in names if n in TORCHVISION_PAIRS]:
        ours, theirs = TORCHVISION_PAIRS[name]
        our_rate, their_rate = best_of(
            partial(images_per_second, ours, bare_loop, settings, 1000),
            partial(images_per_second, theirs, bare_loop, settings, 1000),
            settings.repeats,
        )
        ratio = our_rate / their_rate
        rows.append(
            (
                name,
                f"{our_rate:.1f}",
                f"{their_rate:.1f}",
                f"{ratio:.3f}",
                "ok" if ratio >= 0.95 else "slower",
            )
        )
    if rows:
        print_table(
            f"helper.models vs torchvision (ImageNet configurations at {settings.image_size}x"
            f"{settings.image_size}, images/s; goal: ratio >= 1 within noise)",
            ("model", "ours", "torchvision", "ours/tv", "goal"),
            rows,
        )
    print(
        "\nOn a busy or shared machine single runs vary by 10-30%; raise --repeats and --steps before "
        "reading a small difference as real."
    )


def main(argv: list[str] | None = None) -> int:
    device = default_device()
    on_gpu = device.type != "cpu"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(models.CIFAR_MODELS),
        metavar="NAME",
        help=f"architectures to measure, from {', '.join(models.CIFAR_MODELS)} (default: all)",
    )
    parser.add_argument("--batch-size", type=int, default=128 if on_gpu else 32)
    parser.add_argument("--steps", type=int, default=20 if on_gpu else 3, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5 if on_gpu else 1, help="untimed steps first")
    parser.add_argument(
        "--repeats", type=int, default=3 if on_gpu else 2, help="runs per contender; best counts"
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=224 if on_gpu else 32,
        help="input size for the comparison with torchvision",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.models if name not in models.CIFAR_MODELS]
    if unknown:
        raise CourseError(f"Unknown model {unknown[0]!r}; choose from {', '.join(models.CIFAR_MODELS)}.")
    if min(args.batch_size, args.steps, args.repeats, args.image_size) < 1 or args.warmup < 0:
        raise CourseError(
            "--batch-size, --steps, --repeats and --image-size must be positive, --warmup >= 0."
        )
    settings = Settings(device, args.batch_size, args.steps, args.warmup, args.repeats, args.image_size)
    run(args.models, settings)
    return 0
