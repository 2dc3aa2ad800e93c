"""A run folder's files: every stage that writes or reads a run takes the names from here."""

CONFIG = "config.json"  # every setting, the cache's manifest hash and settings, library versions
MODEL = "model.keras"  # the best epoch so far
HISTORY = "history.csv"  # one row per finished epoch (Keras's CSVLogger)
CURVES = "curves.png"
BACKUP = "backup"  # BackupAndRestore's state while training
REPORT, REPORT_PLOT = "report.json", "report.png"  # written by `evaluate`
LOGS = "logs"  # TensorBoard's, with `fit --tensorboard`
