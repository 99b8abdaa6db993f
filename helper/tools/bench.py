"""Training speed of the course models: ``python -m helper.tools bench`` (``make bench``).

All figures are training images per second on :func:`helper.train.default_device`:

1. ``--grid`` (on by default on a GPU): the bare training step of every model in IEEE fp32, TF32
   and bf16, NCHW and channels-last, on batches already on the device. The fastest cell is what
   the registry entry (:data:`helper.models.CIFAR_MODELS`) should say for that model.
2. ``helper.train.fit`` against a bare loop (forward, loss, ``zero_grad``, ``backward``, ``step``)
   on the same model, optimizer and batches, at the model's full-mode precision and layout.
   Goal: ``fit`` costs at most 5%. A second column adds full mode's moving average of the weights
   (``ema_decay``), whose cost is shown apart: it is part of the recipe, not of the loop.
3. The data path: a full-mode epoch (synthetic CIFAR-shaped uint8 images in memory, through
   :func:`helper.data.make_loader` on the device where full mode keeps them, then ``fit`` with
   the weight average and validation, while the previous epoch's checkpoint is written) against
   the bare step on batches already on the device. Goal: at least 90%.
4. Our ResNet-34 (ImageNet stem) and VGG-16-BN against ``torchvision.models.resnet34`` and
   ``vgg16_bn`` on the same input. Goal: ours is no slower.

``--profile NAME`` prints instead what ``torch.profiler`` sees in ``fit`` and in the bare loop for
that model: operators, kernel launches and synchronisations per step, and the busiest operators.
Warm-up steps run first and are not timed; every measurement is repeated ``--repeats`` times,
alternating between the contenders, and the best run of each counts (a shared machine only ever
makes a run slower).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.profiler import ProfilerActivity, profile

from helper import data, models, train
from helper import device as device_settings
from helper.errors import CourseError

Batches = list[tuple[torch.Tensor, torch.Tensor]]
Loop = Callable[[nn.Module, Batches, torch.optim.Optimizer], None]

# Ours against torchvision, same architecture and input (ImageNet configurations, 1000 classes).
TORCHVISION_PAIRS: dict[str, tuple[Callable[[], nn.Module], Callable[[], nn.Module]]] = {
    "resnet34": (lambda: models.resnet34(), lambda: torchvision.models.resnet34(weights=None)),
    "vgg16_bn": (lambda: models.vgg16(batch_norm=True), lambda: torchvision.models.vgg16_bn(weights=None)),
}
# The grid's columns: (precision, channels_last).
GRID = (("fp32", False), ("tf32", False), ("tf32", True), ("bf16", False), ("bf16", True))
VALID_FRACTION = 0.1  # of the synthetic epoch, as get_dataloaders' default
# The CPU's default: the two fastest models (a step of the others takes seconds on a laptop CPU).
CPU_MODELS = ["nin", "all_conv"]
# What --profile counts per step: event names containing the marker.
PROFILE_COUNTS = {"operators": "aten::", "kernel launches": "LaunchKernel", "synchronisations": "Synchronize",
                  "memory copies": "Memcpy"}


@dataclass
class Settings:
    device: torch.device
    batch_size: int
    steps: int
    warmup: int
    repeats: int
    image_size: int
    epoch_images: int


def full_mode(name: str) -> tuple[str, bool]:
    """(precision, channels_last) of ``name``'s full-mode configuration."""
    return models.CIFAR_MODELS[name].precision, True


def make_batches(count: int, batch_size: int, image_size: int, classes: int, device: torch.device,
                 channels_last: bool = False) -> Batches:
    """``count`` batches of random images and labels, already on ``device``, in ``fit``'s layout."""
    return [
        (
            torch.randn(batch_size, 3, image_size, image_size, device=device).to(
                memory_format=device_settings.memory_format(channels_last, device)),
            torch.randint(classes, (batch_size,), device=device),
        )
        for _ in range(count)
    ]


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer,
              precision: str = "fp32") -> None:
    """The textbook training loop, with nothing else in it, under ``fit``'s numerics for ``precision``."""
    loss_fn = nn.CrossEntropyLoss()
    device = batches[0][0].device
    numerics = device_settings.numerics(precision, device)  # the very settings fit applies
    model.train()
    with device_settings.precision_scope(numerics, device):
        for inputs, targets in batches:
            with device_settings.autocast(numerics):
                outputs = model(inputs)
                if isinstance(outputs, models.GoogLeNetOutputs):
                    loss = train.auxiliary_loss(outputs, targets, loss_fn)
                else:
                    loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def helper_loop(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer,
                precision: str = "fp32", channels_last: bool = False, ema_decay: float | None = None) -> None:
    """The same steps through ``helper.train.fit`` (one epoch, no validation, no progress bar)."""
    train.fit(model, batches, None, epochs=1, optimizer=optimizer, device=device_settings.model_device(model),
              precision=precision, channels_last=channels_last, ema_decay=ema_decay, progress=False)


def new_model(build: Callable[[], nn.Module], settings: Settings, channels_last: bool
              ) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A fresh model (seed 0) on the device, in the layout asked for, and its SGD optimizer."""
    torch.manual_seed(0)
    layout = device_settings.memory_format(channels_last, settings.device)
    model = build().to(settings.device, memory_format=layout)  # type: ignore[call-overload]  # torch's stub
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def images_per_second(build: Callable[[], nn.Module], loop: Loop, settings: Settings, classes: int,
                      channels_last: bool = False) -> float:
    """Build a fresh model, run the warm-up steps, then time ``settings.steps`` steps of ``loop``."""
    model, optimizer = new_model(build, settings, channels_last)
    size, device = settings.image_size, settings.device
    warmup = make_batches(settings.warmup, settings.batch_size, size, classes, device, channels_last)
    timed = make_batches(settings.steps, settings.batch_size, size, classes, device, channels_last)
    if warmup:
        loop(model, warmup, optimizer)
    synchronize(device)
    start = time.perf_counter()
    loop(model, timed, optimizer)
    synchronize(device)
    return settings.steps * settings.batch_size / (time.perf_counter() - start)


def synthetic_cifar(count: int, augment: bool) -> data.TensorImages:
    """``count`` random uint8 images shaped like CIFAR-10's, with its statistics and augmentation."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    targets = torch.randint(0, 10, (count,), generator=generator)
    return data.TensorImages(images, targets, data.CIFAR10_MEAN, data.CIFAR10_STD, augment=augment, pad=4,
                             flip=augment)


def epoch_images_per_second(name: str, settings: Settings) -> float:
    """Training images per second of a full-mode epoch of ``name``: synthetic CIFAR-10 in memory
    through the real loaders (on the device where full mode keeps them), ``fit`` with validation and
    a checkpoint, at the full-mode precision and layout. After a short warm-up, ``fit`` runs two
    epochs; the second one counts (it trains while the first one's checkpoint is being written)."""
    precision, channels_last = full_mode(name)
    where = data.data_device("full")
    n_valid = max(1, round(VALID_FRACTION * settings.epoch_images))
    loader = data.make_loader(synthetic_cifar(settings.epoch_images, True), settings.batch_size, shuffle=True,
                              seed=0, device=where)
    valid = data.make_loader(synthetic_cifar(n_valid, False), settings.batch_size, shuffle=False, seed=0,
                             device=where)
    model, optimizer = new_model(models.CIFAR_MODELS[name], settings, channels_last)
    run = partial(train.fit, model, loader, valid, optimizer=optimizer, device=settings.device,
                  precision=precision, channels_last=channels_last, ema_decay=train.FULL_EMA_DECAY,
                  progress=False)
    if settings.warmup:
        run(epochs=1, max_steps_per_epoch=settings.warmup)
    with tempfile.TemporaryDirectory() as folder:
        history = run(epochs=2, checkpoint=Path(folder) / f"{name}.pt")
    return settings.epoch_images / history.epoch_seconds[1]


def best_of(measurements: list[Callable[[], float]], repeats: int) -> list[float]:
    """Run the measurements in turn ``repeats`` times; the best rate of each."""
    rates = [[measure() for measure in measurements] for _ in range(repeats)]
    return [max(column) for column in zip(*rates, strict=True)]


def print_table(title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
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


def cifar_step(name: str, loop: Loop, settings: Settings, channels_last: bool) -> Callable[[], float]:
    """A measurement of ``loop`` on ``name``'s CIFAR configuration (32x32 batches, 10 classes)."""
    cifar = replace(settings, image_size=32)
    return partial(images_per_second, models.CIFAR_MODELS[name], loop, cifar, 10, channels_last)


def _label(precision: str, channels_last: bool) -> str:
    return f"{precision} CL" if channels_last else precision


def grid_table(names: list[str], settings: Settings) -> None:
    """Images/s of the bare step per model and (precision, layout); the fastest against the registry's."""
    rows = []
    for name in names:
        cells = [cifar_step(name, partial(bare_loop, precision=precision), settings, channels_last)
                 for precision, channels_last in GRID]
        rates = best_of(cells, settings.repeats)
        chosen = full_mode(name)
        verdict = "ok" if rates[GRID.index(chosen)] >= 0.97 * max(rates) else "re-check"
        fastest = _label(*GRID[rates.index(max(rates))])
        rows.append((name, *(f"{rate:.1f}" for rate in rates), fastest, _label(*chosen), verdict))
        print(f"  measured {name}: precision and layout grid", flush=True)
    header = ("model", *(_label(*cell) for cell in GRID), "fastest", "full mode", "goal")
    print_table("Bare training step by precision and layout (CIFAR configurations, 32x32, images/s; "
                "goal: full mode within 3% of the fastest)", header, rows)


def overhead_table(names: list[str], settings: Settings) -> None:
    """fit (without and with the weight average) against the bare loop per model, at the full-mode
    precision and layout."""
    rows = []
    for name in names:
        precision, channels_last = full_mode(name)
        fit_loop = partial(helper_loop, precision=precision, channels_last=channels_last)
        ema_loop = partial(fit_loop, ema_decay=train.FULL_EMA_DECAY)
        loops = [fit_loop, ema_loop, partial(bare_loop, precision=precision)]
        helper_rate, ema_rate, bare_rate = best_of([cifar_step(name, loop, settings, channels_last)
                                                    for loop in loops], settings.repeats)
        overhead = bare_rate / helper_rate - 1
        rows.append((name, _label(precision, channels_last), f"{helper_rate:.1f}", f"{bare_rate:.1f}",
                     f"{overhead:+.1%}", "ok" if overhead <= 0.05 else "above goal", f"{ema_rate:.1f}",
                     f"{helper_rate / ema_rate - 1:+.1%}"))
        print(f"  measured {name}: fit vs bare loop", flush=True)
    print_table("helper.train.fit vs a bare loop (CIFAR configurations, 32x32, images/s; "
                "goal: overhead <= 5%), and fit with full mode's weight average (ema_decay)",
                ("model", "precision", "fit", "bare loop", "overhead", "goal", "fit + EMA", "EMA cost"), rows)


def pipeline_table(names: list[str], settings: Settings) -> None:
    """A full-mode epoch (loaders, fit, validation, checkpoint) against the bare step, per model."""
    rows = []
    for name in names:
        precision, channels_last = full_mode(name)
        step = cifar_step(name, partial(bare_loop, precision=precision), settings, channels_last)
        epoch_rate, step_rate = best_of([partial(epoch_images_per_second, name, settings), step],
                                        settings.repeats)
        efficiency = epoch_rate / step_rate
        rows.append((name, _label(precision, channels_last), f"{epoch_rate:.1f}", f"{step_rate:.1f}",
                     f"{efficiency:.1%}", "ok" if efficiency >= 0.9 else "below goal"))
        print(f"  measured {name}: data path", flush=True)
    where = data.data_device("full") or "cpu"
    print_table(f"Full-mode epoch of {settings.epoch_images:,} synthetic CIFAR-10 images (data prepared on "
                f"{where}, with validation and checkpoints) vs the bare step (images/s; goal: >= 90%)",
                ("model", "precision", "epoch", "bare step", "efficiency", "goal"), rows)


def torchvision_table(names: list[str], settings: Settings) -> None:
    """Our ImageNet configurations against torchvision's, with the bare loop."""
    rows = []
    for name in [n for n in names if n in TORCHVISION_PAIRS]:
        ours, theirs = TORCHVISION_PAIRS[name]
        our_rate, their_rate = best_of([partial(images_per_second, ours, bare_loop, settings, 1000),
                                        partial(images_per_second, theirs, bare_loop, settings, 1000)],
                                       settings.repeats)
        ratio = our_rate / their_rate
        rows.append((name, f"{our_rate:.1f}", f"{their_rate:.1f}", f"{ratio:.3f}",
                     "ok" if ratio >= 0.95 else "slower"))
    if rows:
        print_table(f"helper.models vs torchvision (ImageNet configurations at {settings.image_size}x"
                    f"{settings.image_size}, images/s; goal: ratio >= 1 within noise)",
                    ("model", "ours", "torchvision", "ours/tv", "goal"), rows)


def profile_report(name: str, settings: Settings) -> None:
    """What torch.profiler records per step in fit and in the bare loop for ``name`` (full-mode settings)."""
    precision, channels_last = full_mode(name)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if settings.device.type == "cuda" else [])
    loops = {"fit": partial(helper_loop, precision=precision, channels_last=channels_last),
             "bare loop": partial(bare_loop, precision=precision)}
    for label, loop in loops.items():
        model, optimizer = new_model(models.CIFAR_MODELS[name], settings, channels_last)
        batches = make_batches(settings.steps, settings.batch_size, 32, 10, settings.device, channels_last)
        loop(model, batches, optimizer)  # warm-up
        synchronize(settings.device)
        with profile(activities=activities) as profiler:
            loop(model, batches, optimizer)
            synchronize(settings.device)
        events = profiler.key_averages()
        counts = {kind: sum(event.count for event in events if marker in event.key) / settings.steps
                  for kind, marker in PROFILE_COUNTS.items()}
        summary = ", ".join(f"{n:.1f} {kind}" for kind, n in counts.items())
        print(f"\n{name}, {label} ({_label(precision, channels_last)}, batch {settings.batch_size}, "
              f"{settings.steps} steps), per step: {summary}")
        if label == "fit":
            sort = "self_cuda_time_total" if settings.device.type == "cuda" else "self_cpu_time_total"
            print(events.table(sort_by=sort, row_limit=15))


def main(argv: list[str] | None = None) -> int:
    device = device_settings.default_device()
    on_gpu = device.type == "cuda"  # the grid's precisions and layouts apply only there
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = ", ".join(models.CIFAR_MODELS)
    parser.add_argument("--models", nargs="+", default=list(models.CIFAR_MODELS) if on_gpu else CPU_MODELS,
                        metavar="NAME", help=f"architectures to measure, from {names} (default: all on a "
                        f"GPU, {' and '.join(CPU_MODELS)} on the CPU)")
    parser.add_argument("--batch-size", type=int, default=128 if on_gpu else 16)
    parser.add_argument("--steps", type=int, default=20 if on_gpu else 3, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5 if on_gpu else 1, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3 if on_gpu else 2,
                        help="runs per contender; best counts")
    parser.add_argument("--image-size", type=int, default=224 if on_gpu else 32,
                        help="input size for the comparison with torchvision")
    parser.add_argument("--epoch-images", type=int, default=45_000 if on_gpu else 48,
                        help="training images of the full-mode epoch (CIFAR-10: 45,000 after validation)")
    grid = parser.add_mutually_exclusive_group()
    grid.add_argument("--grid", dest="grid", action="store_true", default=on_gpu,
                      help="measure the precision and layout grid (default on a GPU)")
    grid.add_argument("--no-grid", dest="grid", action="store_false", help="skip the grid")
    parser.add_argument("--profile", metavar="NAME",
                        help="profile fit and the bare loop for one model instead of the tables")
    args = parser.parse_args(argv)
    for name in [*args.models, *([args.profile] if args.profile else [])]:
        if name not in models.CIFAR_MODELS:
            raise CourseError(f"Unknown model {name!r}; choose from {names}.")
    sizes = (args.batch_size, args.steps, args.repeats, args.image_size, args.epoch_images)
    if min(sizes) < 1 or args.warmup < 0:
        raise CourseError("--batch-size, --steps, --repeats, --image-size and --epoch-images must be "
                          "positive, --warmup >= 0.")
    settings = Settings(device, args.batch_size, args.steps, args.warmup, args.repeats, args.image_size,
                        args.epoch_images)
    print(f"device {device}, batch {settings.batch_size}, {settings.warmup} warm-up + {settings.steps} timed "
          f"steps, best of {settings.repeats}, torch {torch.__version__}")
    if device.type != "cuda":
        print("(precision and channels-last only apply on CUDA: here every setting trains in float32, NCHW)")
    if args.profile:
        profile_report(args.profile, settings)
        return 0
    if args.grid:
        grid_table(args.models, settings)
    overhead_table(args.models, settings)
    pipeline_table(args.models, settings)
    torchvision_table(args.models, settings)
    print("\nOn a busy or shared machine single runs vary by 10-30%; raise --repeats and --steps before "
          "reading a small difference as real.")
    return 0


if __name__ == "__main__":  # python -m helper.tools.bench, the same as python -m helper.tools bench
    from helper.tools.cli import main as cli

    raise SystemExit(cli(["bench", *sys.argv[1:]]))
