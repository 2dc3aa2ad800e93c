"""Stage 2: stream the HDF5 cache into Keras models; evaluate; write submissions."""

import os

# TensorFlow's log level once it has started (train.backend holds back what it prints while starting)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
