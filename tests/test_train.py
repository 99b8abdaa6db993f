"""helper.train and helper.report.summarize_training on tiny models and data (CPU, seconds)."""

from __future__ import annotations

import copy
import random
import shutil
import time

import matplotlib
import numpy as np
import pytest
import torch
from filelock import FileLock
from torch import nn

from helper import checkpoint, data, device, models, report, repro, train
from helper.errors import CourseError

matplotlib.use("Agg")


def toy_batches(n_batches: int = 6, batch_size: int = 16, seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """A linearly separable 2-class problem in 4 dimensions, as a list of batches (a valid loader)."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n_batches):
        x = torch.randn(batch_size, 4, generator=generator)
        batches.append((x, (x[:, 0] + x[:, 1] > 0).long()))
    return batches


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


class WithAuxiliaryHeads(nn.Module):
    """Returns GoogLeNetOutputs (main, aux1, aux2) in training mode and only the main logits in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Linear(4, 8)
        self.main, self.aux1, self.aux2 = nn.Linear(8, 2), nn.Linear(8, 2), nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.body(x))
        if self.training:
            return models.GoogLeNetOutputs(self.main(h), self.aux1(h), self.aux2(h))
        return self.main(h)


def sgd(model: nn.Module, lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr)


def quick_fit(model: nn.Module, train_loader, valid_loader, **options) -> train.History:
    """``train.fit`` as most tests call it: on the CPU, without progress bars; ``options`` as for fit."""
    return train.fit(model, train_loader, valid_loader, **{"progress": False, "device": "cpu", **options})


def test_default_device_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert train.default_device() == torch.device("cpu")


def test_fit_learns_and_fills_the_history():
    batches, valid = toy_batches(8), toy_batches(2, seed=1)
    model = tiny_model()
    history = quick_fit(model, batches, valid, epochs=4, optimizer=sgd(model, 0.5))
    assert history.epochs == 4 and not history.interrupted
    assert len(history.iteration_loss) == 4 * len(batches)
    for values in (history.train_loss, history.train_accuracy, history.valid_loss, history.valid_accuracy,
                   history.epoch_seconds):
        assert len(values) == 4
    assert history.train_loss[-1] < 0.6 * history.train_loss[0]
    assert history.valid_accuracy[-1] >= 0.9
    assert all(0.0 <= a <= 1.0 for a in history.train_accuracy)


def test_fit_without_validation_and_with_cpu_only_options(capsys):
    model = tiny_model()
    history = quick_fit(model, toy_batches(3), None, epochs=1, optimizer=sgd(model),
                        precision="bf16", channels_last=True, live_plot=True)
    assert history.epochs == 1 and history.valid_loss == [] and history.valid_accuracy == []


def test_auxiliary_loss_weights_heads_by_0_3():
    torch.manual_seed(0)
    main, aux1, aux2 = (torch.randn(5, 3) for _ in range(3))
    targets = torch.tensor([0, 1, 2, 1, 0])
    ce = nn.functional.cross_entropy
    expected = ce(main, targets) + 0.3 * ce(aux1, targets) + 0.3 * ce(aux2, targets)
    got = train.auxiliary_loss((main, aux1, aux2), targets, ce)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert train.auxiliary_loss((main, aux1), targets, ce, aux_weight=1.0).item() == pytest.approx(
        (ce(main, targets) + ce(aux1, targets)).item(), rel=1e-6)


def test_fit_uses_auxiliary_loss_for_tuple_outputs():
    batches = toy_batches(4)
    model = WithAuxiliaryHeads()
    before = copy.deepcopy(model).train()
    x, y = batches[0]
    expected_first = train.auxiliary_loss(before(x), y, nn.CrossEntropyLoss()).item()
    history = quick_fit(model, batches, batches, epochs=2, optimizer=sgd(model))
    assert history.iteration_loss[0] == pytest.approx(expected_first, rel=1e-5)
    model.eval()
    main_only = nn.functional.cross_entropy(model(x), y).item()
    assert history.valid_loss[-1] < 1.0 and main_only < 1.0  # validation uses the main logits


def test_max_steps_per_epoch_and_the_schedule_steps_per_batch():
    model = tiny_model()
    optimizer = sgd(model)
    built = {}

    def schedule(optimizer, total_steps):
        built["total_steps"] = total_steps
        built["scheduler"] = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
        return built["scheduler"]

    history = quick_fit(model, toy_batches(10), None, epochs=3, optimizer=optimizer, schedule=schedule,
                        max_steps_per_epoch=4)
    assert len(history.iteration_loss) == 12
    assert built["total_steps"] == 12 and built["scheduler"].last_epoch == 12
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 13)


def pasted_recipe(model: nn.Module, batches, epochs: int, optimizer, max_lr: float, smoothing: float) -> None:
    """What notebooks 07-13 pasted before ``fit`` owned the recipe: OneCycleLR per epoch and step."""
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, epochs=epochs,
                                                    steps_per_epoch=len(batches))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    for _ in range(epochs):
        for x, y in batches:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()


@pytest.mark.parametrize("optimizer_name", ["sgd_nesterov", "adamw"])
def test_one_cycle_and_label_smoothing_match_the_pasted_recipe(optimizer_name):
    def make_optimizer(model):
        if optimizer_name == "adamw":
            return torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05)
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)

    batches = toy_batches(5)
    expected, model = tiny_model(), tiny_model()
    pasted_recipe(expected, batches, 3, make_optimizer(expected), max_lr=0.1, smoothing=0.1)
    quick_fit(model, batches, None, epochs=3, optimizer=make_optimizer(model), schedule=train.one_cycle(0.1),
              label_smoothing=0.1)
    for got, want in zip(model.state_dict().values(), expected.state_dict().values(), strict=True):
        assert torch.equal(got, want)


def test_checkpoint_resumes_after_the_last_finished_epoch(tmp_path, capsys):
    path = tmp_path / "run" / "tiny.pt"
    batches = toy_batches(5)
    model = tiny_model()
    first = quick_fit(model, batches, batches, epochs=1, optimizer=sgd(model), checkpoint=path)
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    fresh = tiny_model(seed=1)  # different weights: resuming must load the saved ones
    second = quick_fit(fresh, batches, batches, epochs=2, optimizer=sgd(fresh), checkpoint=path)
    assert "Resuming" in capsys.readouterr().out
    assert second.epochs == 2 and len(second.iteration_loss) == 2 * len(batches)
    assert second.train_loss[0] == first.train_loss[0]
    assert second.iteration_loss[: len(batches)] == first.iteration_loss
    done = quick_fit(fresh, batches, batches, epochs=2, optimizer=sgd(fresh), checkpoint=path)
    assert done.epochs == 2 and done.iteration_loss == second.iteration_loss


def test_a_resumed_history_names_the_precision_it_goes_on_with(tmp_path):
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), precision="bf16", checkpoint=path)
    history = quick_fit(model, toy_batches(2), None, epochs=2, optimizer=sgd(model), checkpoint=path)
    assert (history.epochs, history.precision, history.channels_last) == (2, "fp32", False)


def _cut_short(path):
    path.write_bytes(path.read_bytes()[:200])  # e.g. by a full disk


def _diverged(path):
    state = torch.load(path, weights_only=True)
    next(iter(state["model"].values()))[0] = float("nan")  # as a run with too high a learning rate leaves it
    torch.save(state, path)


@pytest.mark.parametrize(("change", "message"), [
    (dict(model=lambda: nn.Linear(4, 2)), "does not fit this model"),
    (dict(optimizer=lambda model: torch.optim.Adam(model.parameters())), "this model, optimizer"),
    (dict(damage=_cut_short), "is damaged or does not fit"),
    (dict(damage=_diverged), "holds weights that are not finite"),
    (dict(epochs=1), "already holds 2 epochs, more than epochs=1"),
])
def test_a_checkpoint_that_cannot_resume_this_run_is_refused(change, message, tmp_path):
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    quick_fit(model, toy_batches(2), None, epochs=2, optimizer=sgd(model), checkpoint=path)
    change.get("damage", lambda _: None)(path)
    model = change.get("model", lambda: model)()
    optimizer = change.get("optimizer", sgd)(model)
    with pytest.raises(CourseError, match=message):
        quick_fit(model, toy_batches(2), None, epochs=change.get("epochs", 3), optimizer=optimizer,
                  checkpoint=path)
    FileLock(path.with_name("tiny.pt.lock")).acquire(timeout=0)  # the refusal let go of the checkpoint


def test_a_checkpoint_another_run_is_using_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "tiny.pt"
    other_run = FileLock(path.with_name("tiny.pt.lock"))
    other_run.acquire()
    model = tiny_model()
    with pytest.raises(CourseError, match="Another run is training with the checkpoint"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=path)
    assert not path.exists()
    other_run.release()
    quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=path)
    other_run.acquire(timeout=0)  # fit let go of it when it returned


def test_a_checkpoint_that_cannot_be_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(state, file):
        file.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    with pytest.raises(CourseError, match=r"Could not write the checkpoint .*No space left on device"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.pt.lock"]


def resumable_run(epochs: int, checkpoint, device: str | None, disturb: bool = False,
                  ema_decay: float | None = None, wrap=lambda loader: loader
                  ) -> tuple[nn.Module, train.History]:
    """A notebook's training cell in a fresh process: seed, shuffled + augmented loaders (on the CPU or
    kept on ``device``), dropout, schedule. ``disturb`` draws extra random numbers first, as other
    cells of a resumed notebook might.
    """
    repro.set_seed(0)
    loaders = data.get_dataloaders("digits", 32, subset=200, shape=(1, 8, 8), augment=True, seed=0,
                                   device=device)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(32, 10))
    if disturb:
        torch.rand(7)
        np.random.rand(3)
        random.random()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    history = train.fit(model, wrap(loaders.train), loaders.valid, epochs=epochs, optimizer=optimizer,
                        schedule=train.one_cycle(0.05), label_smoothing=0.1, ema_decay=ema_decay,
                        checkpoint=checkpoint, progress=False, device=device or "cpu")
    return model, history


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("ema_decay", [None, 0.9])
@pytest.mark.parametrize("device", [None, "cpu", pytest.param("cuda", marks=CUDA)])
def test_a_resumed_run_continues_exactly_like_an_uninterrupted_one(tmp_path, capsys, monkeypatch, device,
                                                                    ema_decay):
    straight, straight_history = resumable_run(3, None, device, ema_decay=ema_decay)
    after_straight = (torch.rand(3), np.random.rand(3), random.random())
    write = checkpoint.write_atomically

    def write_and_keep_epoch_1(path, state):  # the file as a disconnect after epoch 1 leaves it
        write(path, state)
        if len(state["history"]["train_loss"]) == 1:
            shutil.copy(path, tmp_path / "epoch1.pt")

    monkeypatch.setattr(checkpoint, "write_atomically", write_and_keep_epoch_1)
    resumable_run(3, tmp_path / "run.pt", device, ema_decay=ema_decay)
    resumed, resumed_history = resumable_run(3, tmp_path / "epoch1.pt", device, disturb=True,
                                             ema_decay=ema_decay)
    assert "Resuming from epoch1.pt after epoch 1 of 3" in capsys.readouterr().out
    for got, want in zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True):
        assert torch.equal(got, want)
    for name in ("iteration_loss", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy"):
        assert getattr(resumed_history, name) == getattr(straight_history, name), name
    after_resumed = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(after_resumed[0], after_straight[0])
    assert after_resumed[1].tolist() == after_straight[1].tolist() and after_resumed[2] == after_straight[2]


def test_a_checkpoint_for_another_schedule_length_is_refused(tmp_path):
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), schedule=train.one_cycle(0.1),
              checkpoint=path)
    with pytest.raises(CourseError, match="does not fit"):
        quick_fit(model, toy_batches(2), None, epochs=3, optimizer=sgd(model), schedule=train.one_cycle(0.1),
                  checkpoint=path)


@pytest.mark.parametrize(("arguments", "message"), [
    (dict(precision="fp8"), "precision must be one of"),
    (dict(label_smoothing=1.0), "label_smoothing must be in"),
    (dict(label_smoothing=0.1, loss_fn=nn.CrossEntropyLoss()), "only with the default loss"),
    (dict(epochs=0), "epochs must be a positive integer"),
    (dict(max_steps_per_epoch=0), "max_steps_per_epoch must be None or a positive integer"),
    (dict(ema_decay=1.0), "ema_decay must be None or between 0 and 1"),
    (dict(label_smoothing="0.1"), "label_smoothing must be in"),
    (dict(ema_decay="0.999"), "ema_decay must be None or between 0 and 1"),
    (dict(optimizer=torch.optim.SGD), "optimizer must be a torch.optim optimizer"),
    (dict(optimizer=sgd(nn.Linear(4, 2))), "not this model's"),
    (dict(train_loader=[]), "gave no batches: check that its data set is not empty"),
    (dict(train_loader=iter(toy_batches(2)), epochs=2), "no batches in epoch 2: pass a DataLoader or a list"),
    (dict(schedule=train.one_cycle(0.1), train_loader=iter(toy_batches(2))), "needs the number of steps"),
    (dict(device="gpu"), "device must be a device such as"),
])
def test_bad_fit_arguments_raise_one_sentence(arguments, message):
    model = tiny_model()
    call = dict(train_loader=toy_batches(2), epochs=1, optimizer=sgd(model), progress=False, device="cpu")
    call.update(arguments)
    with pytest.raises(CourseError, match=message):
        train.fit(model, call.pop("train_loader"), None, **call)


@pytest.mark.parametrize(("max_lr", "pct_start"), [(0.0, 0.3), (0.1, 1.0), ("0.1", 0.3), (0.1, "x")])
def test_bad_one_cycle_arguments_raise_one_sentence(max_lr, pct_start):
    with pytest.raises(CourseError, match="must be"):
        train.one_cycle(max_lr, pct_start=pct_start)


@pytest.mark.parametrize(("precision", "bf16_supported", "expected"), [
    ("fp32", True, (None, False, False)),
    ("tf32", True, (None, True, False)),
    ("bf16", True, (torch.bfloat16, False, False)),
    ("bf16", False, (torch.float16, False, True)),
    ("fp16", True, (torch.float16, False, True)),
])
def test_precision_settings_on_cuda_and_float32_elsewhere(monkeypatch, precision, bf16_supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16_supported)
    assert tuple(device.numerics(precision, torch.device("cuda"))) == expected
    assert tuple(device.numerics(precision, torch.device("cpu"))) == (None, False, False)


def float32_math() -> tuple[str, str]:
    """How CUDA's float32 convolutions and matrix products compute now ("tf32" or "ieee")."""
    return torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision


def test_the_precision_scope_sets_tf32_on_cuda_only_and_restores_it():
    before = float32_math()
    for tf32 in (True, False):
        settings = device.Numerics(None, tf32, False)
        with device.precision_scope(settings, torch.device("cuda")):
            assert float32_math() == (("tf32", "tf32") if tf32 else ("ieee", "ieee"))
        assert float32_math() == before
        with device.precision_scope(settings, torch.device("cpu")):
            assert float32_math() == before, "off CUDA the scope changes nothing"


@CUDA
@pytest.mark.parametrize("precision", device.PRECISIONS)
def test_every_precision_trains_on_the_gpu_and_restores_the_switches(precision):
    before = float32_math()
    batches = [(x.cuda(), y.cuda()) for x, y in toy_batches(4)]
    model = tiny_model()
    history = train.fit(model, batches, batches, epochs=3, optimizer=sgd(model, 0.5), precision=precision,
                        progress=False, device="cuda")
    assert history.train_loss[-1] < history.train_loss[0] and all(map(np.isfinite, history.valid_loss))
    assert float32_math() == before


def test_every_registered_model_names_a_full_mode_precision():
    assert all(entry.precision in device.PRECISIONS for entry in models.CIFAR_MODELS.values())
    for name in models.CIFAR_MODELS:
        recipe = train.full_recipe(name)
        assert recipe.precision == models.CIFAR_MODELS[name].precision and recipe.channels_last
    assert train.full_recipe("resnet56", ema_decay=None).ema_decay is None, "notebook 08 keeps no average"
    with pytest.raises(CourseError, match="Unknown model 'densenet'"):
        train.full_recipe("densenet")


def test_checkpoints_are_snapshots_written_in_the_background(tmp_path, monkeypatch):
    after_one_epoch = tiny_model()
    quick_fit(after_one_epoch, toy_batches(3), None, epochs=1, optimizer=sgd(after_one_epoch))
    written, write = [], checkpoint.write_atomically

    def slow_write(path, state):  # the next epoch trains meanwhile
        time.sleep(0.2)
        written.append(state["model"])
        write(path, state)

    monkeypatch.setattr(checkpoint, "write_atomically", slow_write)
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    quick_fit(model, toy_batches(3), None, epochs=2, optimizer=sgd(model), checkpoint=path)
    saved = torch.load(path, weights_only=True)["model"]  # complete once fit returns
    assert all(torch.equal(saved[key], value) for key, value in model.state_dict().items())
    first = written[0]
    assert all(torch.equal(first[key], value) for key, value in after_one_epoch.state_dict().items())


def test_a_checkpoint_that_cannot_be_written_is_one_sentence(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    model = tiny_model()
    with pytest.raises(CourseError, match="Could not write the checkpoint"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model),
                  checkpoint=tmp_path / "file" / "run.pt")


def test_a_device_this_machine_lacks_is_one_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = tiny_model()
    for call in (lambda: train.fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), device="cuda",
                                   progress=False),
                 lambda: train.evaluate(model, toy_batches(2), device="cuda")):
        with pytest.raises(CourseError, match="This machine has no cuda device; leave device unset"):
            call()


def test_a_checkpoint_that_torch_fails_to_write_is_one_sentence(tmp_path, monkeypatch):
    def full_disk(state, path):  # what torch.save raises when the disk fills up
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    model = tiny_model()
    with pytest.raises(CourseError, match="Could not write the checkpoint .*free some disk space"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=tmp_path / "run.pt")


def test_a_checkpoint_path_that_is_a_folder_or_a_whole_model_is_one_sentence(tmp_path):
    model = tiny_model()
    with pytest.raises(CourseError, match="is a folder"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=tmp_path)
    torch.save(model, tmp_path / "model.pt")  # a pickled model, not a checkpoint of fit's
    with pytest.raises(CourseError, match="does not fit this model"):
        quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model),
                  checkpoint=tmp_path / "model.pt")


class InterruptedValidation:
    """A validation loader whose second pass is stopped with Ctrl-C."""

    def __init__(self) -> None:
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        if self.passes == 2:
            raise KeyboardInterrupt
        yield from toy_batches(1)


def test_ctrl_c_during_validation_keeps_the_per_epoch_lists_in_step():
    model = tiny_model()
    with pytest.raises(train.TrainingInterrupted, match="interrupted after 1 of 4 epochs") as stopped:
        quick_fit(model, toy_batches(3), InterruptedValidation(), epochs=4, optimizer=sgd(model))
    history = stopped.value.history
    assert history.interrupted and history.epochs == 1
    per_epoch = (history.train_loss, history.train_accuracy, history.valid_loss, history.valid_accuracy,
                 history.epoch_seconds)
    assert [len(values) for values in per_epoch] == [1] * 5
    assert len(history.iteration_loss) == 2 * 3, "the second epoch's steps did happen"


def test_accuracy_with_batch_statistics_uses_each_batch_and_leaves_the_model_alone():
    model = bn_model().eval()
    model[1].running_mean.fill_(5.0)  # running averages far from any batch's statistics
    batches = toy_batches(3)
    before = copy.deepcopy(model.state_dict())
    probe = copy.deepcopy(model).train()
    correct = sum((probe(x).argmax(1) == y).sum().item() for x, y in batches)
    expected = correct / sum(len(y) for _, y in batches)
    assert train.accuracy_with_batch_statistics(model, batches) == expected
    assert not model.training
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    with pytest.raises(CourseError, match="The loader is empty"):
        train.accuracy_with_batch_statistics(model, [])


class InterruptedLoader:
    """Two good epochs' worth of batches, then Ctrl-C in the middle of the second epoch."""

    def __init__(self) -> None:
        self.batches = toy_batches(4)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        self.epoch += 1
        for index, batch in enumerate(self.batches):
            if self.epoch == 2 and index == 2:
                raise KeyboardInterrupt
            yield batch


def test_ctrl_c_stops_a_loop_of_fits_and_later_claims_are_skipped(capsys):
    trained = []
    with pytest.raises(KeyboardInterrupt) as stopped:
        for name, loader in [("first", toy_batches(4)), ("second", InterruptedLoader()),
                             ("third", toy_batches(4))]:
            model = tiny_model()
            quick_fit(model, loader, None, epochs=5, optimizer=sgd(model),
                      label=name)
            trained.append(name)
    assert trained == ["first"], "one interrupt should end the loop, not only the second run"
    assert isinstance(stopped.value, train.TrainingInterrupted)
    assert str(stopped.value) == ("second: Training interrupted after 1 of 5 epochs; without a checkpoint "
                                  "there is nothing to resume from.")
    assert stopped.value._render_traceback_() == [str(stopped.value)], "Jupyter should show this one line"
    history = stopped.value.history
    assert history.interrupted and history.epochs == 1 and len(history.iteration_loss) == 4 + 2
    capsys.readouterr()
    assert not train.finished()
    assert capsys.readouterr().out.startswith("skipped: training was interrupted")
    model = tiny_model()
    quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model))
    assert train.finished() and capsys.readouterr().out == "", "a run to the end makes the claims count again"
    with pytest.raises(CourseError):
        quick_fit(model, toy_batches(2), None, epochs=0, optimizer=sgd(model))
    assert not train.finished(), "a fit that stopped before training leaves no run to make claims about"
    assert capsys.readouterr().out.startswith("skipped: no training has run to its end")


def test_ctrl_c_says_what_the_checkpoint_holds(tmp_path):
    model = tiny_model()
    with pytest.raises(train.TrainingInterrupted) as stopped:
        quick_fit(model, InterruptedLoader(), None, epochs=5, optimizer=sgd(model),
                  checkpoint=tmp_path / "run.pt")
    assert str(stopped.value) == (f"Training interrupted after 1 of 5 epochs; {tmp_path / 'run.pt'} holds "
                                  "them: running the cell again resumes from there.")
    saved = torch.load(tmp_path / "run.pt", weights_only=True)["history"]
    assert saved["train_loss"] == stopped.value.history.train_loss

    class InterruptedAtOnce(InterruptedLoader):
        def __iter__(self):
            raise KeyboardInterrupt
            yield

    with pytest.raises(train.TrainingInterrupted, match="no epoch finished, so .*other.pt has"):
        quick_fit(model, InterruptedAtOnce(), None, epochs=5, optimizer=sgd(model),
                  checkpoint=tmp_path / "other.pt")
    assert not (tmp_path / "other.pt").exists()


class StopsInEpoch2:
    """A train loader that is stopped with Ctrl-C after two batches of its second epoch."""

    def __init__(self, loader) -> None:
        self.loader, self.epoch = loader, 0

    def __len__(self) -> int:
        return len(self.loader)

    def state_dict(self):
        return self.loader.state_dict()

    def load_state_dict(self, state) -> None:
        self.loader.load_state_dict(state)

    def __iter__(self):
        self.epoch += 1
        for index, batch in enumerate(self.loader):
            if self.epoch == 2 and index == 2:
                raise KeyboardInterrupt
            yield batch


def test_a_run_interrupted_mid_epoch_resumes_exactly(tmp_path):
    straight, straight_history = resumable_run(3, None, None)
    with pytest.raises(train.TrainingInterrupted, match="holds them"):
        resumable_run(3, tmp_path / "run.pt", None, wrap=StopsInEpoch2)
    resumed, resumed_history = resumable_run(3, tmp_path / "run.pt", None)
    for got, want in zip(resumed.state_dict().values(), straight.state_dict().values(), strict=True):
        assert torch.equal(got, want)
    assert resumed_history.iteration_loss == straight_history.iteration_loss
    assert resumed_history.valid_accuracy == straight_history.valid_accuracy


def test_evaluate_and_predict_restore_the_training_flag_and_count_correctly():
    x = torch.eye(4)
    targets = torch.tensor([0, 1, 2, 0])  # the identity "model" predicts 0, 1, 2, 3
    model = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(4))
    loader = [(x[:2], targets[:2]), (x[2:], targets[2:])]
    for flag in (True, False):
        model.train(flag)
        result = train.evaluate(model, loader)
        assert model.training is flag
        assert result.accuracy == 0.75
        expected_loss = nn.functional.cross_entropy(x, targets).item()
        assert result.loss == pytest.approx(expected_loss, rel=1e-6)
        predictions, truth = train.predict(model, loader)
        assert model.training is flag
        assert predictions.tolist() == [0, 1, 2, 3] and truth.tolist() == targets.tolist()
        assert predictions.device.type == "cpu"
        both, predicted, true = train.evaluate_and_predict(model, loader)  # the two in one pass
        assert model.training is flag
        assert both == result and torch.equal(predicted, predictions) and torch.equal(true, truth)
    assert train.evaluate(model, []).accuracy != train.evaluate(model, []).accuracy  # NaN for no data
    assert [t.tolist() for t in train.predict(model, [])] == [[], []]


def bn_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_ema_is_the_warmed_up_moving_average_of_every_step():
    batches = toy_batches(6)
    model = bn_model()
    history = quick_fit(model, batches, batches[:2], epochs=2, optimizer=sgd(model, lr=0.5), ema_decay=0.8)

    manual = bn_model()  # the same steps by hand, averaging every float tensor of the state
    optimizer = sgd(manual, lr=0.5)
    average = copy.deepcopy(manual.state_dict())
    manual.train()
    for step, (x, y) in enumerate(batches * 2, start=1):
        optimizer.zero_grad()
        nn.functional.cross_entropy(manual(x), y).backward()
        optimizer.step()
        decay = min(0.8, (1 + step) / (10 + step))
        for name, value in manual.state_dict().items():
            average[name] = (decay * average[name] + (1 - decay) * value if value.is_floating_point()
                             else value.clone())
    for name, value in model.state_dict().items():  # fit leaves the average in the model
        assert torch.allclose(value, average[name], atol=1e-6), name
    assert model.state_dict()["1.num_batches_tracked"].item() == 12
    assert not torch.allclose(model[0].weight, manual[0].weight), "the average differs from the last weights"
    validated = train.evaluate(model, batches[:2]).accuracy
    assert history.valid_accuracy[-1] == validated, "validation measured the average"


def test_without_ema_fit_leaves_the_last_weights():
    batches = toy_batches(3)
    model, manual = bn_model(), bn_model()
    quick_fit(model, batches, None, epochs=1, optimizer=sgd(model))
    optimizer = sgd(manual)
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.cross_entropy(manual(x), y).backward()
        optimizer.step()
    for got, want in zip(model.state_dict().values(), manual.state_dict().values(), strict=True):
        assert torch.allclose(got, want, atol=1e-6)


def test_a_checkpoint_without_the_weight_average_is_refused_for_a_run_with_one(tmp_path):
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    quick_fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=path)
    with pytest.raises(CourseError, match="does not fit"):
        quick_fit(model, toy_batches(2), None, epochs=2, optimizer=sgd(model), ema_decay=0.9, checkpoint=path)


class Mirrored(nn.Module):
    """Scores class 0 by the left half of the image and class 1 by the right half."""

    def forward(self, x):
        half = x.shape[-1] // 2
        return torch.stack([x[..., :half].sum((1, 2, 3)), x[..., half:].sum((1, 2, 3))], 1)


def test_flip_tta_averages_the_probabilities_of_the_image_and_its_mirror():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(8, 1, 4, 4, generator=generator)
    targets = torch.randint(2, (8,), generator=generator)
    loader = [(images, targets)]
    logits = Mirrored()(images)
    mean_probabilities = (logits.softmax(1) + logits.flip(1).softmax(1)) / 2  # the mirror swaps the halves
    expected = nn.functional.nll_loss(mean_probabilities.log(), targets).item()
    result = train.evaluate(Mirrored(), loader, flip_tta=True)
    assert result.loss == pytest.approx(expected, rel=1e-5)
    assert result.loss != pytest.approx(train.evaluate(Mirrored(), loader).loss, rel=1e-3)
    symmetric = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 3))  # mirror-blind
    plain, averaged = train.evaluate(symmetric, loader), train.evaluate(symmetric, loader, flip_tta=True)
    assert averaged.accuracy == plain.accuracy and averaged.loss == pytest.approx(plain.loss, rel=1e-5)
    predictions, _ = train.predict(symmetric, loader, flip_tta=True)
    assert predictions.tolist() == train.predict(symmetric, loader)[0].tolist()


def test_wilson_interval_matches_scipy_and_refuses_impossible_counts():
    from scipy.stats import binomtest

    interval = report.wilson_interval(330, 360)
    reference = binomtest(330, 360).proportion_ci(method="wilson")
    assert (interval.low, interval.high) == pytest.approx((reference.low, reference.high))
    assert interval.low < 330 / 360 < interval.high
    wider = report.wilson_interval(330, 360, confidence=0.99)
    assert wider.low < interval.low and wider.high > interval.high
    for correct, total in [(5, 4), (-1, 4), (1, 0), (0.5, 4), (True, 4)]:
        with pytest.raises(CourseError, match="wilson_interval needs whole numbers"):
            report.wilson_interval(correct, total)
    assert report.wilson_interval(np.int64(330), np.int64(360)) == interval  # e.g. from a tensor's sum
    for confidence in (95, 0.0, "0.95"):
        with pytest.raises(CourseError, match="confidence must be a fraction between 0 and 1"):
            report.wilson_interval(330, 360, confidence=confidence)


def test_summarize_training_evaluates_as_fit_trained(monkeypatch):
    seen = []
    real_pass = train.evaluate_and_predict

    def spy(*args, **kwargs):
        seen.append({k: kwargs[k] for k in ("precision", "channels_last", "flip_tta")})
        return real_pass(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate_and_predict", spy)
    monkeypatch.setattr(report, "record_result", lambda headline, **facts: None)
    loaders = data.get_dataloaders("digits", 64, subset=200, shape=(1, 8, 8))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    history = quick_fit(model, loaders.train, None, epochs=1, optimizer=sgd(model), precision="bf16",
                        channels_last=True)
    assert (history.precision, history.channels_last) == ("bf16", True)
    report.summarize_training(model, loaders, history, flip_tta=True)
    assert seen == [dict(precision="bf16", channels_last=True, flip_tta=True)]


def test_summarize_training_reports_and_records(capsys, monkeypatch):
    recorded = []
    monkeypatch.setattr(report, "record_result", lambda headline, **facts: recorded.append((headline, facts)))
    loaders = data.get_dataloaders("digits", 64, subset=200, shape=(1, 8, 8))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    history = quick_fit(model, loaders.train, loaders.valid, epochs=2,
                        optimizer=torch.optim.Adam(model.parameters(), lr=0.01))
    result = report.summarize_training(model, loaders, history, title="linear")
    assert result == train.evaluate(model, loaders.test)
    out = capsys.readouterr().out
    assert f"test accuracy: {100 * result.accuracy:.1f}% on 50 images of digits" in out
    [(headline, facts)] = recorded
    assert headline == f"linear: test accuracy {100 * result.accuracy:.1f}% on digits"
    assert facts == dict(dataset="digits", fell_back=False, device="cpu", epochs=2,
                         test_accuracy=round(result.accuracy, 4), flip_tta=False)


class Recorder(nn.Module):
    """A tiny classifier of 1x8x8 images that keeps every training batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(64, 10)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.detach().clone())
        return self.linear(x.flatten(1))


def test_fit_sees_the_batches_a_plain_loop_over_the_loader_yields():
    def loaders():
        return data.get_dataloaders("digits", 32, subset=200, shape=(1, 8, 8), augment=True, seed=0)

    model = Recorder()
    torch.manual_seed(0)  # the augmentation draws from torch's global generator
    loader = loaders().train
    plain = [x for _ in range(2) for x, _ in loader]
    torch.manual_seed(0)
    train.fit(model, loaders().train, None, epochs=2, optimizer=sgd(model), device="cpu", progress=True)
    assert len(model.seen) == len(plain)
    assert all(torch.equal(got, want) for got, want in zip(model.seen, plain, strict=True))
