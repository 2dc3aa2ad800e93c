"""Starting TensorFlow (Keras's backend) without its C++ start-up lines.

TensorFlow 2.21 prints "All log messages before absl::InitializeLog() is called...", "oneDNN custom
operations are on...", "Could not find cuda drivers..." and the CPU-instruction notice while it loads,
before TF_CPP_MIN_LOG_LEVEL takes effect. So the commands import Keras through `load_keras`, which holds
back the stderr file descriptor meanwhile and passes on every held line but TensorFlow's information
lines: warnings and errors still reach the user. `TF_CPP_MIN_LOG_LEVEL=0` (or 1, 2) shows everything.
"""

import importlib
import os
import re
import sys
import tempfile

# TensorFlow's information lines ("I0000 00:00:..."), and the start-up notices that come without that prefix
START_UP_NOISE = re.compile(
    r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog|To enable the following instructions)"
)


def wants_tensorflow_logs() -> bool:
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3").strip() in ("0", "1", "2")


def load_keras() -> None:
    """Import Keras and TensorFlow, holding back TensorFlow's start-up lines (see the module's docstring)."""
    quiet_import("keras")


def quiet_import(module: str) -> None:
    """Import `module` with what it writes to the stderr file descriptor held back, then passed on but for
    TensorFlow's start-up lines."""
    if module in sys.modules or wants_tensorflow_logs():
        importlib.import_module(module)
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            importlib.import_module(module)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not START_UP_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
