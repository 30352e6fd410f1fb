"""Python Keras reference for `floe bench train`.

Trains the LeNet-style CNN described by the JSON spec Floe passes in, on the data file Floe wrote,
for a fixed number of steps, and prints one JSON line with its samples/s. Floe's own side trains the
identical network (tfjs on the native TensorFlow backend); the two are run one after the other.

usage: python bench_train_keras.py CONFIG.json
CONFIG: {"spec": {"inputShape": [75, 75, 2], "filters": [16, 32], "kernelSize": 5, "denseUnits": 128,
          "dropout": 0.25}, "steps": 50, "warmup": 5, "batch": 32, "threads": 2, "samples": 512,
          "seed": 42, "dataPath": "/tmp/.../data.f32", "learningRate": 0.001,
          "jitCompile": "auto" | true | false}
The data file holds samples*H*W*C float32 inputs followed by samples float32 labels (little-endian).
Progress goes to stderr; the result is the last line on stdout.
"""

import json
import os
import platform
import sys
import time


def log(message):
    print(f"keras: {message}", file=sys.stderr, flush=True)


def fail(message):
    print(f"keras reference: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def read_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        fail(f"cannot read config {path}: {err}")
    for key in ("spec", "steps", "warmup", "batch", "threads", "samples", "dataPath", "learningRate"):
        if key not in config:
            fail(f"config {path}: missing field '{key}'")
    return config


def build_lenet(keras, spec):
    """The same layers, in the same order and with the same defaults, as buildLenet() in Floe."""
    h, w, c = spec["inputShape"]
    layers = [
        keras.Input(shape=(h, w, c)),
        keras.layers.Conv2D(spec["filters"][0], spec["kernelSize"], activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(spec["filters"][1], spec["kernelSize"], activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(spec["denseUnits"], activation="relu", name="dense1"),
    ]
    if spec["dropout"] > 0:
        layers.append(keras.layers.Dropout(spec["dropout"], name="dropout"))
    layers.append(keras.layers.Dense(1, activation="sigmoid", name="output"))
    return keras.Sequential(layers, name="lenet")


def main():
    if len(sys.argv) != 2:
        fail("usage: bench_train_keras.py CONFIG.json")
    config = read_config(sys.argv[1])
    threads = int(config["threads"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    import tensorflow as tf

    # Thread pools must be sized before TensorFlow runs its first op.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    spec = config["spec"]
    h, w, c = spec["inputShape"]
    samples, batch = int(config["samples"]), int(config["batch"])
    raw = np.fromfile(config["dataPath"], dtype="<f4")
    expected = samples * h * w * c + samples
    if raw.size != expected:
        fail(f"data file {config['dataPath']}: expected {expected} float32 values, found {raw.size}")
    x = raw[: samples * h * w * c].reshape(samples, h, w, c)
    y = raw[samples * h * w * c :].reshape(samples, 1)

    # Seeded initial weights, dropout masks and shuffling, as on the Floe side (not the same numbers).
    keras.utils.set_random_seed(int(config.get("seed", 0)))
    model = build_lenet(keras, spec)
    jit = config.get("jitCompile", "auto")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(config["learningRate"])),
        loss="binary_crossentropy",
        jit_compile=jit,
    )
    # Reshuffled every epoch (seeded) and repeated, as Floe's train() serves its batches.
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(samples, seed=int(config.get("seed", 0)), reshuffle_each_iteration=True)
        .batch(batch, drop_remainder=True)
        .repeat()
    )

    warmup, steps = int(config["warmup"]), int(config["steps"])
    if warmup > 0:
        log(f"warm-up: {warmup} steps (graph tracing{', XLA compilation' if model.jit_compile else ''})")
        model.fit(dataset, steps_per_epoch=warmup, epochs=1, shuffle=False, verbose=0)
    log(f"timed: {steps} steps of batch {batch} on {threads} threads")
    cpu0, t0 = time.process_time(), time.perf_counter()
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - t0
    # CPU time of all the process's threads: the work done, steadier than wall time on a busy machine.
    cpu_seconds = time.process_time() - cpu0

    result = {
        "samplesPerSecond": steps * batch / seconds,
        "seconds": seconds,
        "cpuSeconds": cpu_seconds,
        "steps": steps,
        "batch": batch,
        "threads": threads,
        "intraOpThreads": tf.config.threading.get_intra_op_parallelism_threads(),
        "interOpThreads": tf.config.threading.get_inter_op_parallelism_threads(),
        "parameters": int(model.count_params()),
        "loss": float(history.history["loss"][-1]),
        # "auto" resolves per machine (Keras 3 turns XLA off on CPU-only machines): report what ran.
        "jitCompile": bool(model.jit_compile),
        "jitCompileRequested": jit,
        "tensorflowVersion": tf.__version__,
        "kerasVersion": keras.__version__,
        "pythonVersion": platform.python_version(),
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
