"""Run a command that stops mid-work at a known point, for interruption tests that must not depend on timing.

    python -m tests.pause MODULE:ATTRIBUTE CALLS FLAG COMMAND_MODULE [ARGS...]

wraps MODULE.ATTRIBUTE (a function, or a method as Class.method) so that once it has returned CALLS times, it
writes FLAG and sleeps until the process is killed or interrupted; then runs `python -m COMMAND_MODULE ARGS`.
A test waits for FLAG (see helpers.paused_command), so it interrupts the command exactly there.
"""

import functools
import importlib
import runpy
import sys
import time
from pathlib import Path


def pause_after(target: str, calls: int, flag: Path) -> None:
    module_name, attribute = target.split(":")
    owner = importlib.import_module(module_name)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original, count = getattr(owner, name), [0]

    @functools.wraps(original)
    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        count[0] += 1
        if count[0] == calls:
            flag.write_text("paused\n")
            while True:
                time.sleep(0.05)
        return result

    setattr(owner, name, paused)


if __name__ == "__main__":
    target, calls, flag, command, *args = sys.argv[1:]
    pause_after(target, int(calls), Path(flag))
    sys.argv = [command, *args]
    runpy.run_module(command, run_name="__main__", alter_sys=True)
