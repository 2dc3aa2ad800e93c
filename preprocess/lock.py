"""Who may use a folder (a cache or a run) at once, with kernel locks that die with their holders.

A writer (`preprocess run` on a cache, `train fit` on a run) holds the folder's lock exclusively;
readers (`fit`, `evaluate`, `submit` on a cache) share it. Each holder leaves a note saying who it
is, so whoever is refused is told which command and pid to wait for.
"""

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"  # the writer's note, and the file every holder locks
READER_NOTE = ".reader-{pid}"


class FolderBusy(RuntimeError):
    """Another live process holds the folder; the message names it."""


def describe(command: str) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"`{command}` (pid {os.getpid()} on {socket.gethostname()}, started {started})"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holders(folder: Path) -> str:
    """The live readers' notes, else the writer's note."""
    readers = [
        note.read_text().strip()
        for note in sorted(folder.glob(READER_NOTE.format(pid="*")))
        if note.name.rsplit("-", 1)[1].isdigit() and alive(int(note.name.rsplit("-", 1)[1]))
    ]
    path = folder / LOCK_NAME
    return "; ".join(readers) or (path.read_text().strip() if path.exists() else "") or "another process"


@contextmanager
def _locked(folder: str | os.PathLike, mode: int):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(
                f"{folder} is in use by {holders(folder)}; wait for it to finish or stop it first"
            ) from None
        yield fd
    finally:
        os.close(fd)


@contextmanager
def exclusive(folder: str | os.PathLike, command: str):
    """Hold `folder` alone for the duration, or raise FolderBusy at once naming the holders.

    The kernel releases the lock when its process dies, so a lock left by `kill -9` is simply taken over.
    """
    with _locked(folder, fcntl.LOCK_EX) as fd:
        os.ftruncate(fd, 0)
        os.write(fd, (describe(command) + "\n").encode())
        yield


@contextmanager
def shared(folder: str | os.PathLike, command: str):
    """Hold `folder` together with other readers, or raise FolderBusy at once naming the writer that holds it."""
    note = Path(folder) / READER_NOTE.format(pid=os.getpid())
    with _locked(folder, fcntl.LOCK_SH):
        note.write_text(describe(command) + "\n")
        try:
            yield
        finally:
            note.unlink(missing_ok=True)
