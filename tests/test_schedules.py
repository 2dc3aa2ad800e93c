"""The learning-rate schedules, the time budget and the warm-up: their arithmetic checked directly, and where a
resumed run takes them up again (from history.csv's seconds, from the epoch it resumes at)."""

import csv
import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from train.config import SCHEDULES, FitConfig
from train.fitting.callbacks import TimeBudget, WarmUp, callbacks, schedule_callbacks
from train.fitting.schedules import cooldown_rate, cosine_rate, step_rate
from train.model.heads import DivisiveHead
from train.runs import Run

MONITOR = ("val_rmse", "min")


def test_the_step_schedule_divides_the_rate_by_ten_at_72_and_92_percent():
    rates = [step_rate(1e-3, done) for done in (0.0, 0.71, 0.72, 0.91, 0.92, 1.0)]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


def test_the_cosine_schedule_falls_along_half_a_cosine_to_a_hundredth():
    assert [cosine_rate(1e-3, done) for done in (0.0, 0.5, 1.0, 2.0)] == pytest.approx([1e-3, 5.05e-4, 1e-5, 1e-5])


def test_the_cooldown_schedule_holds_the_rate_then_lowers_it_along_one_minus_a_square_root():
    assert cooldown_rate(1e-3, 0.0) == cooldown_rate(1e-3, 0.7) == 1e-3
    assert cooldown_rate(1e-3, 0.8) == pytest.approx(1e-3 * (1.0 - math.sqrt(1 / 3)))
    assert cooldown_rate(1e-3, 0.9) == pytest.approx(1e-3 * (1.0 - math.sqrt(2 / 3)))
    assert cooldown_rate(1e-3, 1.0) == cooldown_rate(1e-3, 5.0) == pytest.approx(1e-5)


def test_every_schedule_the_command_line_offers_is_built():
    built = {name: schedule_callbacks(FitConfig(schedule=name), lambda epoch: 0.0, MONITOR) for name in SCHEDULES}
    assert built.pop("constant") == []
    assert all(len(chosen) == 1 for chosen in built.values())
    with pytest.raises(KeyError):
        schedule_callbacks(FitConfig(schedule="linear"), lambda epoch: 0.0, MONITOR)


def test_fit_s_schedule_follows_the_share_of_the_epochs_done(tmp_path):
    chosen = callbacks(Run(tmp_path), FitConfig(epochs=10, schedule="cooldown", lr=1e-3), backup=False)
    (scheduler,) = [c for c in chosen if isinstance(c, keras.callbacks.LearningRateScheduler)]
    assert [scheduler.schedule(epoch, None) for epoch in range(10)] == pytest.approx(
        [cooldown_rate(1e-3, epoch / 10) for epoch in range(10)]
    )


def write_history(run: Run, seconds: list[float]) -> None:
    with open(run.history, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "seconds", "val_rmse"])
        writer.writerows([epoch, s, 0.1] for epoch, s in enumerate(seconds))


def test_a_resumed_run_s_budget_and_schedule_count_the_minutes_already_trained(tmp_path):
    """Two epochs of 22.5 s were trained before the interruption: 45 s of a 1-minute budget, 75% of it."""
    run = Run(tmp_path)
    write_history(run, [22.5, 22.5])
    chosen = callbacks(run, FitConfig(minutes=1.0, epochs=10_000, schedule="steps", lr=1e-3), backup=False)
    (budget,) = [c for c in chosen if isinstance(c, TimeBudget)]
    (scheduler,) = [c for c in chosen if isinstance(c, keras.callbacks.LearningRateScheduler)]
    budget.on_train_begin()
    assert budget.progress(2) == pytest.approx(0.75, abs=0.01)
    assert scheduler.schedule(2, None) == pytest.approx(1e-4)  # past 72%: divided by ten, as the run was
    budget.set_model(SimpleNamespace(stop_training=False))
    budget.on_epoch_end(2)
    assert not budget.model.stop_training
    budget.spent = 60.0  # as if this epoch took the rest of the minute
    budget.on_epoch_end(2)
    assert budget.model.stop_training


def test_a_resumed_run_s_warm_up_ends_at_the_same_training_image():
    """10 steps of warm-up (100 images of 10); an epoch is 4 steps. A run resumed at epoch 2 (8 steps done) warms
    up for its first 2 steps, then divides."""
    head = DivisiveHead()
    head.build((None, 37))
    warm_up = WarmUp(images=100, batch=10)
    warm_up.set_model(SimpleNamespace(layers=[head]))
    warm_up.set_params({"steps": 4})
    warm_up.on_epoch_begin(2)
    seen = []
    for batch in range(4):
        warm_up.on_train_batch_begin(batch)
        seen.append(float(head.warming.numpy()))
    assert seen == [1.0, 1.0, 0.0, 0.0]


def test_the_plateau_schedule_halves_the_rate_when_the_score_stalls():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    (plateau,) = schedule_callbacks(FitConfig(schedule="plateau", patience=6), lambda epoch: 0.0, MONITOR)
    plateau.set_model(model)
    plateau.on_train_begin()
    rates = []
    for epoch, score in enumerate([0.5, 0.4, 0.4, 0.41, 0.3, 0.3, 0.3]):
        plateau.on_epoch_end(epoch, {"val_rmse": score})
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    # patience 6 // 3 = 2 epochs without a better score: after epochs 3 and 6
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4])
