"""How far training is from what the CPU can do (part of `make bench-cpu`), and the table it prints.

A training step costs 3 forward passes of floating-point work (backward is counted as twice forward), a forward
pass's operations counted from the model's own graph by TensorFlow's profiler (2 per multiply-add). The step's
achieved rate goes beside the CPU's peak and a large float32 matrix product's measured rate. Where the default's
step goes is measured by taking its parts away one at a time, an epoch of each: the loader (model.fit fed by
ShardDataset, against the same batches already in memory), the augmentation (the same model without it), Keras's
fit loop (against a compiled training step called from a plain loop), the optimizer (a step that only computes
the gradients), and what is left: the network's forward and backward passes.
"""

import time

import numpy as np

MATRIX = 2048
ROUNDS = 3  # of each timing in step_parts, in turns; the fastest is kept


def forward_flops(model, shape: tuple[int, int, int]) -> float:
    """Floating-point operations of one image's forward pass (inference: no augmentation), from the graph."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    @tf.function(autograph=False)
    def forward(images):
        return model(images, training=False)

    graph = convert_variables_to_constants_v2(forward.get_concrete_function(tf.TensorSpec((1, *shape), tf.uint8)))
    options = {**tf.compat.v1.profiler.ProfileOptionBuilder.float_operation(), "output": "none"}
    return float(tf.compat.v1.profiler.profile(graph=graph.graph, cmd="op", options=options).total_float_ops)


def matmul_flops() -> float:
    """FLOP/s of a large float32 matrix product (best of 5)."""
    import tensorflow as tf

    a = tf.random.normal((MATRIX, MATRIX))
    best = np.inf
    for _ in range(6):
        started = time.perf_counter()
        np.asarray(tf.linalg.matmul(a, a))
        best = min(best, time.perf_counter() - started)
    return 2 * MATRIX**3 / best


def fit_epoch(model, data, steps: int):
    """A function timing an epoch of model.fit on `data`, in seconds per step."""

    def timed() -> float:
        started = time.perf_counter()
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
        return (time.perf_counter() - started) / steps

    return timed


def loop_epoch(step, batches):
    """A function timing a compiled `step` called in a plain Python loop over `batches`, in seconds per step."""

    def timed() -> float:
        started = time.perf_counter()
        for images, labels in batches:
            result = step(images, labels)
        np.asarray(result)
        return (time.perf_counter() - started) / len(batches)

    return timed


def step_parts(cache) -> dict[str, float]:
    """Seconds per step of the default's parts (see the module's docstring): each timing the fastest of ROUNDS
    epochs, the parts in turns."""
    import keras
    import tensorflow as tf

    from preprocess.cache import Cache
    from train.config import FitConfig
    from train.fitting.dataset import ShardDataset
    from train.fitting.fit import compiled_model

    opened, config = Cache.open(cache), FitConfig()
    dataset = ShardDataset(opened, "train", config.batch)
    images, labels = (np.concatenate(parts) for parts in zip(*(dataset[i] for i in range(len(dataset)))))
    steps = len(images) // config.batch  # whole batches
    batches = [
        (tf.constant(images[i : i + config.batch]), tf.constant(labels[i : i + config.batch]))
        for i in range(0, steps * config.batch, config.batch)
    ]
    in_memory = tf.data.Dataset.from_tensor_slices((images, labels)).batch(config.batch, drop_remainder=True).repeat()
    keras.utils.set_random_seed(0)
    plain = compiled_model(FitConfig(augment=False), opened.image_shape)

    def gradients(images, labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(plain.loss(labels, plain(images, training=True)))
        return tape.gradient(loss, plain.trainable_variables)

    @tf.function
    def gradients_only(images, labels):
        return gradients(images, labels)[0]

    @tf.function
    def updated(images, labels):
        plain.optimizer.apply(gradients(images, labels), plain.trainable_variables)
        return plain.trainable_variables[0]

    timings = {
        "fed": fit_epoch(compiled_model(config, opened.image_shape), dataset, steps),
        "resident": fit_epoch(compiled_model(config, opened.image_shape), in_memory, steps),
        "unaugmented": fit_epoch(plain, in_memory, steps),
        "stepped": loop_epoch(updated, batches),
        "network": loop_epoch(gradients_only, batches),
    }
    for timed in timings.values():
        timed()  # warm-up: tracing
    best = {name: float("inf") for name in timings}
    for _ in range(ROUNDS):
        for name, timed in timings.items():
            best[name] = min(best[name], timed())
    return {
        "step": best["fed"],
        "the loader (ShardDataset, fed through model.fit)": best["fed"] - best["resident"],
        "the augmentation": best["resident"] - best["unaugmented"],
        "Keras's fit loop and metrics (Python)": best["unaugmented"] - best["stepped"],
        "the optimizer": best["stepped"] - best["network"],
        "the network's forward and backward passes": best["network"],
    }


def limit(cache, peak: dict) -> dict:
    """Each model's achieved FLOP/s in training (through model.fit), the peak, the matrix product, the parts."""
    from preprocess.cache import Cache
    from train.backend import load_keras

    load_keras()
    import keras

    from train.config import FitConfig
    from train.fitting.dataset import ShardDataset
    from train.fitting.fit import compiled_model

    opened = Cache.open(cache)
    dataset = ShardDataset(opened, "train", FitConfig().batch)
    out: dict = {"peak": peak, "matmul_flops": matmul_flops(), "models": {}}
    for name, model_name in (("default", "centre"), ("compact", "compact"), ("winner", "viewpoints")):
        keras.utils.set_random_seed(0)
        config = FitConfig(model=model_name, head="tree")
        model = compiled_model(config, opened.image_shape)
        model.fit(dataset, epochs=1, verbose=0)  # warm-up: tracing
        started = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        images_per_second = dataset.size / (time.perf_counter() - started)
        flops = forward_flops(model, opened.image_shape)
        out["models"][name] = {
            "forward_flops": flops,
            "train_img_s": images_per_second,
            "achieved_flops": 3 * flops * images_per_second,
        }
    out["parts"] = step_parts(cache)
    return out


def limit_table(limit_: dict) -> list[str]:
    peak, matmul = limit_["peak"]["flops"], limit_["matmul_flops"]
    lines = [
        "",
        f"peak {peak / 1e9:.0f} GFLOP/s ({limit_['peak']['cores']} cores x {limit_['peak']['clock_ghz']:.2f} GHz x "
        f"2 FMA units x {limit_['peak']['lanes']} lanes x 2); {MATRIX}x{MATRIX} float32 matrix product "
        f"{matmul / 1e9:.0f} GFLOP/s ({matmul / peak:.0%} of peak)",
        f"{'model':<10} {'MFLOP/image':>12} {'train img/s':>12} {'GFLOP/s':>9} {'of peak':>8} {'of matmul':>10}",
    ]
    for name, model in limit_["models"].items():
        achieved = model["achieved_flops"]
        lines.append(
            f"{name:<10} {model['forward_flops'] / 1e6:>12.1f} {model['train_img_s']:>12.0f} {achieved / 1e9:>9.1f} "
            f"{achieved / peak:>8.1%} {achieved / matmul:>10.1%}"
        )
    parts = limit_["parts"]
    lines += ["", f"the default's step, {parts['step'] * 1000:.1f} ms of 64 images:"]
    lines += [f"  {name:<40} {seconds * 1000:>6.1f} ms" for name, seconds in parts.items() if name != "step"]
    return lines
