"""Fitting a model to a cache: the fit loop, its callbacks and schedules, the shard dataset, tf.distribute."""
