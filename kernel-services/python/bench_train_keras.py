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

Accuracy mode (config "mode": "epochs", from `floe bench train --epochs N`): trains for "epochs" epochs
on the Statoil JSON file "dataPath", with the train and validation records named by "trainIds" and
"validationIds" (the split Floe made), each band standardised with the train split's mean and standard
deviation as Floe's recordsTrainingData() does; prints per-epoch training times (validation excluded),
validation accuracy and log loss.
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
    if config.get("mode") == "epochs":
        required = ("spec", "epochs", "batch", "threads", "dataPath", "learningRate", "trainIds", "validationIds")
    else:
        required = ("spec", "steps", "warmup", "batch", "threads", "samples", "dataPath", "learningRate")
    for key in required:
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

    if config.get("mode") == "epochs":
        train_epochs(config, np, tf, keras)
        return

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


def load_split(config, np, ids):
    """Records named by ids, in that order, as [n, h, w, 2] float32 (HH, HV in dB) and [n, 1] labels."""
    path = config["dataPath"]
    try:
        with open(path, encoding="utf-8") as f:
            records = json.load(f)
    except (OSError, ValueError) as err:
        fail(f"cannot read Statoil JSON {path}: {err}")
    by_id = {r["id"]: r for r in records}
    h, w, c = config["spec"]["inputShape"]
    x = np.empty((len(ids), h * w, 2), dtype=np.float32)
    y = np.empty((len(ids), 1), dtype=np.float32)
    for k, rid in enumerate(ids):
        r = by_id.get(rid)
        if r is None:
            fail(f"{path}: no record with id {rid!r}")
        if len(r["band_1"]) != h * w or len(r["band_2"]) != h * w:
            fail(f"{path}: record {rid!r}: bands must have {h * w} values each")
        x[k, :, 0] = r["band_1"]
        x[k, :, 1] = r["band_2"]
        y[k, 0] = r["is_iceberg"]
    return x.reshape(len(ids), h, w, 2), y


def train_epochs(config, np, tf, keras):
    """Accuracy mode: fit for config["epochs"] epochs with validation, timing each epoch's training."""
    spec = config["spec"]
    if spec["inputShape"][2] != 2:
        fail(f"the accuracy mode trains on HH and HV (2 channels), the spec has {spec['inputShape'][2]}")
    x_train, y_train = load_split(config, np, config["trainIds"])
    x_val, y_val = load_split(config, np, config["validationIds"])
    # Per-channel mean and standard deviation over the train split, in float64, as Floe computes them.
    flat = x_train.reshape(-1, 2).astype(np.float64)
    mean = flat.mean(axis=0)
    std = np.sqrt(np.maximum((flat * flat).mean(axis=0) - mean * mean, 1e-12))
    x_train = ((x_train - mean) / std).astype(np.float32)
    x_val = ((x_val - mean) / std).astype(np.float32)

    seed = int(config.get("seed", 0))
    keras.utils.set_random_seed(seed)
    model = build_lenet(keras, spec)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(config["learningRate"])),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    epochs = int(config["epochs"])
    epoch_seconds, val_accuracy, val_loss = [], [], []

    class EpochTimer(keras.callbacks.Callback):
        # Training time of an epoch ends where its validation begins (fit runs evaluate with our callbacks).
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()
            self.trained = None

        def on_test_begin(self, logs=None):
            if self.trained is None:
                self.trained = time.perf_counter() - self.start

        def on_epoch_end(self, epoch, logs=None):
            seconds = self.trained if self.trained is not None else time.perf_counter() - self.start
            epoch_seconds.append(seconds)
            val_accuracy.append(float(logs["val_accuracy"]))
            val_loss.append(float(logs["val_loss"]))
            log(f"epoch {epoch + 1}: {seconds:.2f} s, loss {logs['loss']:.4f}, val_accuracy {logs['val_accuracy']:.4f}")

    log(f"{len(x_train)} train / {len(x_val)} validation records, {epochs} epoch(s) of batch {config['batch']}")
    model.fit(
        x_train,
        y_train,
        batch_size=int(config["batch"]),
        epochs=epochs,
        shuffle=True,
        validation_data=(x_val, y_val),
        validation_batch_size=max(int(config["batch"]), 128),
        callbacks=[EpochTimer()],
        verbose=0,
    )
    result = {
        "epochSeconds": epoch_seconds,
        "valAccuracy": val_accuracy,
        "valLogLoss": val_loss,
        "trainSize": int(len(x_train)),
        "validationSize": int(len(x_val)),
        "parameters": int(model.count_params()),
        "threads": int(config["threads"]),
        "intraOpThreads": tf.config.threading.get_intra_op_parallelism_threads(),
        "jitCompile": bool(model.jit_compile),
        "tensorflowVersion": tf.__version__,
        "kerasVersion": keras.__version__,
        "pythonVersion": platform.python_version(),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
