"""helper.train and helper.report.summarize_training on tiny models and data (CPU, seconds)."""

from __future__ import annotations

import copy

import matplotlib
import pytest
import torch
from torch import nn

from helper import data, report, train
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
    """Returns (main, aux1, aux2) logits in training mode and only the main logits in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Linear(4, 8)
        self.main, self.aux1, self.aux2 = nn.Linear(8, 2), nn.Linear(8, 2), nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.body(x))
        if self.training:
            return self.main(h), self.aux1(h), self.aux2(h)
        return self.main(h)


def sgd(model: nn.Module, lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=lr)


def test_default_device_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert train.default_device() == torch.device("cpu")


def test_fit_learns_and_fills_the_history():
    batches, valid = toy_batches(8), toy_batches(2, seed=1)
    model = tiny_model()
    history = train.fit(model, batches, valid, epochs=4, optimizer=sgd(model, 0.5), progress=False,
                        device="cpu")
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
    history = train.fit(model, toy_batches(3), None, epochs=1, optimizer=sgd(model), device="cpu",
                        amp=True, channels_last=True, live_plot=True, progress=False)
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
    history = train.fit(model, batches, batches, epochs=2, optimizer=sgd(model), progress=False, device="cpu")
    assert history.iteration_loss[0] == pytest.approx(expected_first, rel=1e-5)
    model.eval()
    main_only = nn.functional.cross_entropy(model(x), y).item()
    assert history.valid_loss[-1] < 1.0 and main_only < 1.0  # validation uses the main logits


def test_max_steps_per_epoch_and_scheduler_steps_per_batch():
    model = tiny_model()
    optimizer = sgd(model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    history = train.fit(model, toy_batches(10), None, epochs=3, optimizer=optimizer, scheduler=scheduler,
                        max_steps_per_epoch=4, progress=False, device="cpu")
    assert len(history.iteration_loss) == 12
    assert scheduler.last_epoch == 12
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 13)


def test_checkpoint_resumes_after_the_last_finished_epoch(tmp_path, capsys):
    path = tmp_path / "run" / "tiny.pt"
    batches = toy_batches(5)
    model = tiny_model()
    first = train.fit(model, batches, batches, epochs=1, optimizer=sgd(model), checkpoint=path,
                      progress=False, device="cpu")
    assert path.exists() and not path.with_name("tiny.pt.tmp").exists()
    fresh = tiny_model(seed=1)  # different weights: resuming must load the saved ones
    second = train.fit(fresh, batches, batches, epochs=2, optimizer=sgd(fresh), checkpoint=path,
                       progress=False, device="cpu")
    assert "Resuming" in capsys.readouterr().out
    assert second.epochs == 2 and len(second.iteration_loss) == 2 * len(batches)
    assert second.train_loss[0] == first.train_loss[0]
    assert second.iteration_loss[: len(batches)] == first.iteration_loss
    done = train.fit(fresh, batches, batches, epochs=2, optimizer=sgd(fresh), checkpoint=path,
                     progress=False, device="cpu")
    assert done.epochs == 2 and done.iteration_loss == second.iteration_loss


def test_checkpoint_of_another_model_is_refused(tmp_path):
    path = tmp_path / "tiny.pt"
    model = tiny_model()
    train.fit(model, toy_batches(2), None, epochs=1, optimizer=sgd(model), checkpoint=path, progress=False,
              device="cpu")
    other = nn.Linear(4, 2)
    with pytest.raises(CourseError, match="does not fit"):
        train.fit(other, toy_batches(2), None, epochs=2, optimizer=sgd(other), checkpoint=path,
                  progress=False, device="cpu")


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


def test_keyboard_interrupt_returns_the_history_so_far(capsys):
    model = tiny_model()
    history = train.fit(model, InterruptedLoader(), None, epochs=5, optimizer=sgd(model), progress=False,
                        device="cpu")
    assert history.interrupted
    assert history.epochs == 1
    assert len(history.iteration_loss) == 4 + 2
    assert "interrupted after 1 finished epoch" in capsys.readouterr().out


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


def test_summarize_training_reports_and_records(capsys, monkeypatch):
    recorded = []
    monkeypatch.setattr(report, "record_result", lambda headline, **facts: recorded.append((headline, facts)))
    loaders = data.get_dataloaders("digits", 64, subset=200, shape=(1, 8, 8))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    history = train.fit(model, loaders.train, loaders.valid, epochs=2,
                        optimizer=torch.optim.Adam(model.parameters(), lr=0.01), progress=False, device="cpu")
    result = report.summarize_training(model, loaders, history, title="linear")
    assert result == train.evaluate(model, loaders.test)
    out = capsys.readouterr().out
    assert f"test accuracy: {100 * result.accuracy:.1f}% on 50 images of digits" in out
    [(headline, facts)] = recorded
    assert headline == f"linear: test accuracy {100 * result.accuracy:.1f}% on digits"
    assert facts == dict(dataset="digits", fell_back=False, device="cpu", epochs=2,
                         test_accuracy=round(result.accuracy, 4))
