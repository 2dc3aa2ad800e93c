"""TensorFlow's start-up settings, made once by `train/__init__.py` before anything imports Keras or TensorFlow
(TensorFlow reads them as it starts; its `tf.config.threading` setters fail once its runtime runs). A user's own
environment always wins, and all but the log level apply on Linux x86-64 alone:

- oneDNN (`TF_ENABLE_ONEDNN_OPTS=1`). Since 2.9 TensorFlow's x86 wheels turn it on only where the CPU has
  AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX; elsewhere its convolutions run on Eigen's generic kernels, which
  trained the default recipe 2.7 times slower on an AVX2-only AMD EPYC (family 25 model 1). `TF_ENABLE_ONEDNN_OPTS=0`
  turns it off.
- glibc's allocator (`mallopt`). Each training step's tensors of a few MiB are mapped and unmapped anew by default,
  and the kernel zeroes every fresh page: allocations up to MMAP_THRESHOLD come from the heap instead, which keeps
  TOP_PAD spare and returns memory only past TRIM_THRESHOLD. glibc reads its MALLOC_*_ variables when a process
  starts, so setting them here would do nothing; mallopt does the same from inside. Setting any of glibc's own
  variables (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_, MALLOC_MMAP_MAX_, GLIBC_TUNABLES)
  leaves the allocator to them.
- Threads (TF_NUM_INTRAOP_THREADS, TF_NUM_INTEROP_THREADS): see THREADS.
- The log level (`TF_CPP_MIN_LOG_LEVEL=1`, everywhere): TensorFlow's information lines are dropped, its warnings and
  errors shown. It prints a few notices while it starts, whatever the level: train.backend holds those back.

`GALAXY_ZOO_STARTUP=tensorflow` leaves all but the log level to TensorFlow (`make bench-cpu` compares both).
"""

import ctypes
import os
import platform
import sys

# glibc's mallopt parameters (malloc.h) and the values set
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = TOP_PAD = 256 * 2**20
ALLOCATOR_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
# (intra-op, inter-op) threads per core; measured by `make bench-cpu` (docs/experiments.md)
THREADS = (1, 1)
OFF = "GALAXY_ZOO_STARTUP"
LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
USER_LOG_LEVEL = LOG_LEVEL in os.environ  # the user's level: then train.backend holds nothing back


def tuned_here() -> bool:
    """Whether the CPU settings apply: Linux x86-64, and not left to TensorFlow."""
    linux_x86 = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
    return linux_x86 and os.environ.get(OFF, "").lower() != "tensorflow"


def enable_onednn() -> None:
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def tune_allocator() -> bool:
    """Large allocations from the heap, kept (see the module's docstring); False where the user's variables or a
    libc without mallopt decide."""
    if any(name in os.environ for name in ALLOCATOR_VARIABLES) or "malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, say): its allocator is left as it is
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)


def set_threads() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    intra, inter = THREADS
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, intra * cores)))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(max(1, inter * cores)))


def configure() -> None:
    """Every setting above, each where the user has not made it."""
    os.environ.setdefault(LOG_LEVEL, "1")
    if tuned_here():
        enable_onednn()
        tune_allocator()
        set_threads()
