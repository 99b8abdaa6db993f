"""helper.modes (a notebook's MODE to its settings) and helper.results outside a notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from helper import modes, results
from helper.errors import CourseError

LECTURE, FULL = dict(epochs=3, batch_size=32), dict(epochs=30, batch_size=256)


def test_pick_gives_each_mode_its_settings():
    assert vars(modes.pick("lecture", lecture=LECTURE, full=FULL)) == dict(mode="lecture", **LECTURE)
    assert vars(modes.pick("full", lecture=LECTURE, full=FULL)) == dict(mode="full", **FULL)
    smoke = modes.pick("smoke", lecture=LECTURE, full=FULL, smoke=dict(epochs=1))
    assert (smoke.mode, smoke.epochs, smoke.batch_size) == ("smoke", 1, 32)


@pytest.mark.parametrize(("arguments", "message"), [
    (dict(mode="fast", lecture=LECTURE, full=FULL), "MODE must be one of"),
    (dict(mode="full", lecture=LECTURE, full=dict(epochs=30)), "must name the same keys"),
    (dict(mode="smoke", lecture=LECTURE, full=FULL, smoke=dict(epcohs=1)), "epcohs is not one"),
    (dict(mode="lecture", lecture=dict(mode=1), full=dict(mode=2)), "cannot be called 'mode'"),
])
def test_pick_refuses_inconsistent_settings_in_one_sentence(arguments, message):
    mode = arguments.pop("mode")
    with pytest.raises(CourseError, match=message):
        modes.pick(mode, **arguments)


def test_record_result_prints_only_the_headline_outside_a_notebook(capsys):
    assert results.record_result("VGG-16 97.8% on digits", dataset="digits") is None  # no dict as cell output
    assert capsys.readouterr().out == "VGG-16 97.8% on digits\n"


RECIPE = modes.Recipe(precision="bf16", channels_last=True, ema_decay=0.998, checkpoint_dir=Path("runs"))


def test_the_recipe_is_what_full_mode_adds_and_nothing_else():
    full = modes.pick("full", lecture=LECTURE, full=FULL, recipe=RECIPE)
    assert (full.epochs, full.augment, full.flip_tta) == (30, True, True)
    assert full.fit("07_vgg16") == dict(precision="bf16", channels_last=True, ema_decay=0.998,
                                         checkpoint=Path("runs") / "07_vgg16.pt")
    for mode in ("lecture", "smoke"):
        plain = modes.pick(mode, lecture=LECTURE, full=FULL, recipe=RECIPE)
        assert (plain.augment, plain.flip_tta, plain.fit("07_vgg16")) == (False, False, {})


def test_settings_may_not_repeat_what_the_recipe_sets():
    with pytest.raises(CourseError, match="The recipe sets augment; leave it out"):
        modes.pick("lecture", lecture={**LECTURE, "augment": False}, full={**FULL, "augment": True},
                   recipe=RECIPE)


def test_a_run_of_another_registered_model_takes_that_models_precision(monkeypatch):
    from helper import models

    monkeypatch.setitem(models.CIFAR_MODELS, "other", models.TrainedModel(lambda: None, "fp16"))
    full = modes.pick("full", lecture=LECTURE, full=FULL, recipe=RECIPE)
    assert full.fit("14_other", model="other")["precision"] == "fp16"
    assert full.fit("14_main")["precision"] == "bf16"
    with pytest.raises(CourseError, match="Unknown model 'nothing'"):
        full.fit("14_x", model="nothing")
    assert modes.pick("lecture", lecture=LECTURE, full=FULL, recipe=RECIPE).fit("14_x", model="nothing") == {}
