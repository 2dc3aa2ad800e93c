"""TensorFlow's start-up settings (train.startup), checked on their effects in fresh processes: oneDNN, the
allocator, and TensorFlow's warnings after start-up."""

import os
import subprocess
import sys

from tests.helpers import ROOT

ONEDNN = """
import os
import train
from train.backend import load_keras
load_keras()
from tensorflow.python.util import _pywrap_util_port
print(_pywrap_util_port.IsMklEnabled(), os.environ.get("TF_ENABLE_ONEDNN_OPTS"))
"""

# where a fresh 16 MiB malloc lands: in the heap ([heap] in /proc/self/maps), or in a mapping of its own
HEAP = """
import ctypes
import train
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
address = libc.malloc(16 * 2**20)
for line in open("/proc/self/maps"):
    span, *rest = line.split()
    start, end = (int(x, 16) for x in span.split("-"))
    if start <= address < end:
        print("heap" if line.rstrip().endswith("[heap]") else "mapping")
"""

# a tf.data iterator over .cache() abandoned before the end: TensorFlow warns from C++ when it is destroyed
LATE_WARNING = """
import train
from train.backend import load_keras
load_keras()
import tensorflow as tf
iterator = iter(tf.data.Dataset.range(10).cache())
next(iterator)
del iterator
"""


def run_python(code: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "MALLOC_", "GALAXY_ZOO_"))}
    env.update(variables)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


def test_onednn_is_on_unless_the_user_turns_it_off():
    unset = run_python(ONEDNN)
    assert unset.returncode == 0, unset.stderr
    assert unset.stdout.split() == ["True", "1"]  # set by the project, whatever this CPU would have had
    off = run_python(ONEDNN, TF_ENABLE_ONEDNN_OPTS="0")
    assert off.stdout.split() == ["False", "0"], off.stderr


def test_a_16_mib_allocation_comes_from_the_heap():
    tuned = run_python(HEAP)
    assert tuned.returncode == 0, tuned.stderr
    assert tuned.stdout.split() == ["heap"]
    # glibc's default, as TensorFlow would have it: a mapping of its own (so the test can tell the two apart)
    assert run_python(HEAP, GALAXY_ZOO_STARTUP="tensorflow").stdout.split() == ["mapping"]
    # a user's own glibc setting wins
    assert run_python(HEAP, MALLOC_MMAP_THRESHOLD_="1048576").stdout.split() == ["mapping"]


def test_tensorflow_s_warnings_after_start_up_reach_stderr():
    done = run_python(LATE_WARNING)
    assert done.returncode == 0, done.stderr
    assert "did not fully read the dataset being cached" in done.stderr, done.stderr
    assert "absl::InitializeLog" not in done.stderr and "cuInit" not in done.stderr  # start-up lines held back
