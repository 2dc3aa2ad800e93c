"""Stage 2: stream the HDF5 cache into Keras models; evaluate; write submissions."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter (e.g. "no CUDA") out
