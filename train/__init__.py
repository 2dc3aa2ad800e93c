"""Stage 2: stream the HDF5 cache into Keras models; evaluate; write submissions, catalogs and finetuned runs."""

from train.startup import configure

configure()  # TensorFlow's start-up settings, before anything imports it (train.startup)
