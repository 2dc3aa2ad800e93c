"""The learning-rate schedules that `fit --schedule` names, as plain functions of the share of training done
(train.fitting.callbacks turns them into Keras callbacks). No TensorFlow here: the command line describes them."""

import math

STEPS = ((0.72, 0.1), (0.92, 0.1))  # the winner's schedule: at these fractions of training, multiply the rate
COOLDOWN = 0.3  # the last share of training over which the cooldown schedule lowers the rate
PLATEAU_FACTOR, PLATEAU_FLOOR = 0.5, 1e-5  # the plateau schedule halves the rate when stalled, down to this


def step_rate(lr: float, done: float) -> float:
    """The rate of the step schedule once `done` of training is done: multiplied by each factor of STEPS passed."""
    for fraction, factor in STEPS:
        lr *= factor if done >= fraction else 1.0
    return lr


def cosine_rate(lr: float, done: float) -> float:
    """The rate of the cosine schedule once `done` of training is done: from `lr` down to lr/100 at the end."""
    return lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(done, 1.0))))


def cooldown_rate(lr: float, done: float) -> float:
    """The rate of the cooldown schedule once `done` of training is done: `lr` until the last COOLDOWN of training,
    then down along 1 - sqrt to lr/100 at the end. Hägele et al. 2024 ("Scaling laws and compute-optimal training
    beyond fixed training durations") found this shape of cooldown better than a linear one; it passes lr/10 at
    81% of the cooldown, so the end is spent at low rates as the step schedule's."""
    into = min(max(done - (1.0 - COOLDOWN), 0.0) / COOLDOWN, 1.0)
    return lr * max(0.01, 1.0 - math.sqrt(into))


RATES = {"steps": step_rate, "cosine": cosine_rate, "cooldown": cooldown_rate}

SCHEDULES = {
    "plateau": f"multiply the rate by {PLATEAU_FACTOR:g} when the validation score stalls",
    "steps": f"divide it by {1 / STEPS[0][1]:g} at {STEPS[0][0]:.0%} and {STEPS[1][0]:.0%} of training",
    "cosine": "lower it along half a cosine to a hundredth at the end",
    "cooldown": f"hold it, then lower it over the last {COOLDOWN:.0%} of training along 1 - sqrt to a hundredth",
    "constant": "leave it",
}
