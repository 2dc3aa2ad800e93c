"""What every command line of the project shares: exit statuses, option types and the words for failures.

Exit statuses (the same for `python -m preprocess`, `python -m train` and `python -m synth`):
0 done; 1 failed (a bug, a full disk, a damaged cache); 2 a usage error or an input the user must
change (a wrong option, a bad CSV, a cache that does not fit the run); 3 finished, with rejected
inputs listed; 130 interrupted by Ctrl-C.
"""

import errno
import os
import resource
from contextlib import contextmanager
from pathlib import Path

import click

from preprocess.lock import FolderBusy

DONE, FAILED, USAGE, REJECTED, INTERRUPTED = 0, 1, 2, 3, 130
EXIT_STATUSES = (
    "\b\nExit status: 0 done; 1 failed (a bug, a full disk, a damaged cache); 2 a usage error or an input to\n"
    "change (a wrong option, a bad CSV, a cache that does not fit the run); 3 finished, with rejected inputs\n"
    "listed; 130 interrupted (Ctrl-C)."
)
CONTEXT = {"help_option_names": ["-h", "--help"]}
POSITIVE = click.IntRange(min=1)
# errors that only a write can cause
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class BadInput(click.ClickException):
    """An input the user must change (a malformed CSV, a cache that does not fit the run): one line, status 2."""

    exit_code = USAGE


def rejected(message: str) -> SystemExit:
    """Finished, but some inputs were rejected: say so on stderr and exit with status 3."""
    click.echo(message, err=True)
    return SystemExit(REJECTED)


def interrupted(message: str) -> SystemExit:
    """Ctrl-C: say what was kept or not written, exit with the shell's status for it."""
    click.echo(f"\ninterrupted: {message}", err=True)
    return SystemExit(INTERRUPTED)


def _within(path: str | os.PathLike, folder: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(Path(os.path.abspath(folder)))


def os_failure(error: OSError, outputs: tuple[Path, ...] = ()) -> click.ClickException:
    """A failed read or a failed write, said as what it is. Files under `outputs` are the command's own:
    finished work there is kept, so the same command can resume once the cause is fixed."""
    if error.errno == errno.EMFILE:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return click.ClickException(
            f"too many open files: this shell allows {soft}; raise the limit (e.g. `ulimit -n 4096`) and rerun"
        )
    name = error.filename
    reason = error.strerror or str(error)
    if error.errno in WRITE_ERRNOS or (name and any(_within(name, out) for out in outputs)):
        where = f" writing {name}" if name else " writing"
        advice = "finished work is kept; fix the problem (e.g. free disk space) and rerun the same command"
        return click.ClickException(f"failed{where}: {reason}; {advice}")
    if name:
        return click.ClickException(f"failed reading {name}: {reason}; check that it exists and can be read")
    return click.ClickException(f"failed: {reason}")


@contextmanager
def reported(
    outputs: tuple[Path, ...] = (),
    on_interrupt: str | None = None,
    bad_input: tuple[type[Exception], ...] = (),
    failed: tuple[type[Exception], ...] = (),
):
    """What stops a command, said as every command says it: an error of a `bad_input` type is an input to change
    (one line, status 2); one of a `failed` type, or a folder that another process holds, one line with status 1;
    an OSError a failed read or write (os_failure, with the command's `outputs`); Ctrl-C says `on_interrupt`
    (what was kept or not written) and exits with status 130."""
    try:
        yield
    except bad_input as error:
        raise BadInput(str(error)) from None
    except (FolderBusy, *failed) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise os_failure(error, outputs=outputs) from None
    except KeyboardInterrupt:
        if on_interrupt is None:
            raise
        raise interrupted(on_interrupt) from None
