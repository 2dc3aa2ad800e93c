"""Starting TensorFlow (Keras's backend) without its C++ start-up lines.

TensorFlow 2.21 prints "All log messages before absl::InitializeLog() is called...", "oneDNN custom
operations are on...", "Could not find cuda drivers..." and the CPU-instruction notice while it loads,
before TF_CPP_MIN_LOG_LEVEL takes effect. So the commands import Keras through `load_keras`, which holds
back the stderr file descriptor meanwhile and passes on every held line but those notices: warnings and
errors still reach the user, then and later (train.startup sets the level to 1). A TF_CPP_MIN_LOG_LEVEL of
the user's own shows what TensorFlow shows at that level, start-up lines included.
"""

import importlib
import os
import re
import sys
import tempfile

from train.startup import USER_LOG_LEVEL

# TensorFlow's information lines ("I0000 00:00:..."), the start-up notices that come without that prefix, and the
# failed probe for a GPU on a machine without one (an error line, but only a notice that there is none)
START_UP_NOISE = re.compile(
    r"^(I\d{4} |WARNING: All log messages before absl::InitializeLog|To enable the following instructions"
    r"|E\d{4} .* cuda_platform\.cc:\d+\] failed call to cuInit)"
)


def wants_tensorflow_logs() -> bool:
    return USER_LOG_LEVEL


def load_keras() -> None:
    """Import Keras and TensorFlow and let TensorFlow look for its devices, holding back its start-up lines (see the
    module's docstring)."""
    quiet_import("keras", then=lambda: sys.modules["tensorflow"].config.list_physical_devices())


def quiet_import(module: str, then=None) -> None:
    """Import `module` (and call `then`) with what is written to the stderr file descriptor meanwhile held back,
    then passed on but for TensorFlow's start-up lines."""
    if module in sys.modules or wants_tensorflow_logs():
        importlib.import_module(module)
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            importlib.import_module(module)
            if then is not None:
                then()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines(keepends=True):
                if not START_UP_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
