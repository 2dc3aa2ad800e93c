"""Benchmarks behind `make bench`: ratios measured side by side in one run, not absolute times."""

import train  # noqa: F401  TensorFlow's start-up settings (train.startup), before any benchmark imports it
