"""A run folder's files: every stage that writes or reads a run takes the names from here."""

import csv
from pathlib import Path

CONFIG = "config.json"  # every setting, the cache's manifest hash and settings, library versions
MODEL = "model.keras"  # the best epoch so far
HISTORY = "history.csv"  # one row per finished epoch (Keras's CSVLogger)
CURVES = "curves.png"
BACKUP = "backup"  # BackupAndRestore's state while training
REPORT, REPORT_PLOT = "report.json", "report.png"  # written by `evaluate`
LOGS = "logs"  # TensorBoard's, with `fit --tensorboard`


def history_rows(history: Path) -> list[dict]:
    """The rows of a history.csv (one per finished epoch); none when there is no file yet."""
    if not history.exists():
        return []
    with open(history, newline="") as f:
        return list(csv.DictReader(f))
