"""Command line of the training stage: `python -m train --help`.

The rule of this folder: no module here imports TensorFlow when it is imported. Each command loads Keras
(train.backend) only once its options are checked, so `--help`, `score` and a wrong option are instant.
"""

import click

from preprocess.cli_support import CONTEXT, EXIT_STATUSES
from train.cli.calibrate import calibrate_command
from train.cli.evaluate import evaluate_command
from train.cli.finetune import finetune_command
from train.cli.fit import fit_command
from train.cli.predict import predict_command
from train.cli.score import score_command
from train.cli.submit import submit_command
from train.cli.suggest import suggest_command

TENSORFLOW_LOGS = "TensorFlow's start-up messages are hidden; TF_CPP_MIN_LOG_LEVEL=0 shows them."


@click.group(context_settings=CONTEXT, epilog=f"{EXIT_STATUSES}\n\n{TENSORFLOW_LOGS}")
def main() -> None:
    """Galaxy Zoo training: stream the HDF5 cache into Keras models.

    \b
    fit       train a model (resumes an interrupted run)
    evaluate  RMSE per question on the valid split, against the baselines
    calibrate calibrate a run's intervals on the cache's calibration split
    submit    predict the test split and write a Kaggle submission CSV
    score     score submissions against a solutions CSV (Kaggle's metric, locally)
    predict   a morphology catalog (CSV or HDF5) and gallery of any galaxy images
    finetune  a run of your own question: a new head on a trained run, from your labels
    suggest   which galaxies to label next for a finetuned run
    """


for command in (
    fit_command,
    evaluate_command,
    calibrate_command,
    submit_command,
    score_command,
    predict_command,
    finetune_command,
    suggest_command,
):
    main.add_command(command)
