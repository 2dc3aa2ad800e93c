"""One process at a time per folder (a cache or a run), with a lock that dies with its holder."""

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"


class FolderBusy(RuntimeError):
    """Another live process holds the folder; the message names it."""


@contextmanager
def exclusive(folder: str | os.PathLike, command: str):
    """Hold `folder`'s lock for the duration, or raise FolderBusy at once naming the holder.

    The kernel releases the lock when its process dies, so a lock left by `kill -9` is simply taken over.
    """
    path = Path(folder) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text().strip() or "another process"
            raise FolderBusy(f"{folder} is in use by {holder}; wait for it to finish or stop it first") from None
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"`{command}` (pid {os.getpid()} on {socket.gethostname()}, started {started})\n".encode())
        yield
    finally:
        os.close(fd)
