"""This framework against the Keras scripts it replaces: the seed000 CNN and the seed003 deep CNN, built layer for
layer in Keras, trained side by side with ``train.py model=baseline_cnn`` / ``model=deep_cnn`` on the same
synthetic 48x48 batches, alternating rounds, steady-state images/s after warm-up.

TensorFlow is the optional extra ``fer[compare]``; without it the section says so and measures nothing.
The framework runs in fp32 here (``trainer.precision=32-true``, as on a CPU without native bf16) and,
where the CPU has native bf16, also as it trains by default (bf16-mixed).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import native_precisions
from benchmarks.training import fit_rate, synthetic_npz, synthetic_run

PAIRS = {"seed000": "baseline_cnn", "seed003": "deep_cnn"}  # the report's Keras net -> our registered model
BATCH = {"seed000": 64, "seed003": 128}  # each report's batch size


def keras_model(report: str):
    """The report's network in Keras, as its script built it ('valid' padding, Adam)."""
    from tensorflow import keras
    from tensorflow.keras import layers

    if report == "seed000":
        body = [layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Dropout(0.25), layers.Conv2D(128, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Conv2D(128, 3, activation="relu"), layers.MaxPooling2D(2),
                layers.Dropout(0.25), layers.Flatten(), layers.Dense(1024, activation="relu"), layers.Dropout(0.5)]
        rate = 1e-4
    else:
        body = []
        for width in (128, 256, 512, 512):
            body += [layers.Conv2D(width, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.4)]
        body += [layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dropout(0.4),
                 layers.Dense(256, activation="relu"), layers.Dropout(0.3)]
        rate = 1e-3
    model = keras.Sequential([keras.Input((48, 48, 1)), *body, layers.Dense(7, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def keras_rate(model, images: np.ndarray, labels: np.ndarray, batch: int, steps: int) -> float:
    """Steady-state images/s of ``model.fit`` (the second of two epochs of ``steps`` batches: the first warms up)."""
    from tensorflow import keras

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    clock = Clock()
    n = batch * steps
    model.fit(images[:n], labels[:n], batch_size=batch, epochs=1, verbose=0, shuffle=True)
    model.fit(images[:n], labels[:n], batch_size=batch, epochs=1, verbose=0, shuffle=True, callbacks=[clock])
    return n / clock.seconds


def keras_comparison(quick: bool, rounds: int | None = None) -> dict:
    if importlib.util.find_spec("tensorflow") is None:
        return {"skipped": "TensorFlow is not installed: pip install 'fer[compare]' to compare with Keras"}
    import tensorflow as tf

    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))
    try:  # as many threads as torch gets; TensorFlow allows this only before its first op
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        threads = tf.config.threading.get_intra_op_parallelism_threads() or threads
    rounds = rounds or (1 if quick else 3)
    steps = 4 if quick else 20
    result = {"tensorflow": tf.__version__, "onednn": _onednn_state(), "threads": threads, "rounds": rounds}
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for report, name in PAIRS.items():
            batch = BATCH[report]
            images = rng.random((batch * steps, 48, 48, 1), dtype=np.float32)
            labels = np.eye(7, dtype=np.float32)[rng.integers(0, 7, batch * steps)]
            source = synthetic_npz(Path(tmp), batch * (steps + 5))
            rates: dict[str, list[float]] = {"keras": []}
            for _ in range(rounds):  # alternating, so drifting clocks or neighbours hit both alike
                rates["keras"].append(keras_rate(keras_model(report), images, labels, batch, steps))
                for precision in native_precisions():
                    rates.setdefault(precision, []).append(fit_rate(
                        [*synthetic_run(name, source, batch, f"{tmp}/cache"), "optimizer=adam",
                         f"trainer.precision={precision}"], steps))
            medians = {k: statistics.median(v) for k, v in rates.items()}
            result[report] = {"model": name, "batch_size": batch, "images_per_s": medians,
                              "ratio_vs_keras": {k: v / medians["keras"] for k, v in medians.items() if k != "keras"}}
    return result


def _onednn_state() -> str:
    """TensorFlow turns its oneDNN path on by default only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX."""
    flag = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if flag is not None:
        return f"{'on' if flag == '1' else 'off'} (TF_ENABLE_ONEDNN_OPTS={flag})"
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    native = flags & {"avx512_vnni", "avx512_bf16", "amx_bf16"}
    return f"on by default ({', '.join(sorted(native))})" if native else "off by default (no AVX512_VNNI/BF16/AMX)"


def compare_table(compare: dict) -> list[str]:
    if "skipped" in compare:
        return ["", f"Keras comparison: {compare['skipped']}"]
    lines = ["", f"Against Keras (TensorFlow {compare['tensorflow']}, oneDNN {compare['onednn']}), "
                 f"{compare['threads']} threads, median of {compare['rounds']} alternating rounds, images/s.", "",
             "| report net | ours | batch | Keras | ours fp32 (x Keras) | ours bf16-mixed (x Keras) |",
             "|---|---|---|---|---|---|"]
    for report in PAIRS:
        row = compare[report]
        rates, ratios = row["images_per_s"], row["ratio_vs_keras"]
        bf16 = (f"{rates['bf16-mixed']:.0f} ({ratios['bf16-mixed']:.2f}x)" if "bf16-mixed" in rates
                else "— (no native bf16)")
        lines.append(f"| {report} | {row['model']} | {row['batch_size']} | {rates['keras']:.0f} | "
                     f"{rates['32-true']:.0f} ({ratios['32-true']:.2f}x) | {bf16} |")
    return lines
