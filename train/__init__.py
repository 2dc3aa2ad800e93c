"""Stage 2: stream the HDF5 cache into Keras models; evaluate; write submissions."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the output
