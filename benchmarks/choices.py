"""The A/B timings behind sk_cry's design choices, each pair interleaved in one run.

- decoding mono 16-bit WAV files on two threads: sk_cry's own header check and one
  read of the samples (what ``AudioLoader`` uses for them) vs ``soundfile.read``;
- FFT of one clip's frames: ``ducc0.fft.r2c`` vs ``scipy.fft.rfft`` (float32);
- dB: ``np.log`` times a constant vs ``np.log10`` on a mel map;
- one training batch of 32 clips: the stem pooled before its BatchNorm and
  activation (the default) vs after them (the first compact stem);
- the network on one clip and on 32: a LiteRT copy (what ``predict`` uses for
  up to 64 clips) vs TensorFlow's graph runtime (a concrete function, what it
  used before) and vs XLA (``jit_compile=True``).

Each pair is timed call by call in alternation, so that both see the same state
of a noisy machine; prints the medians and their ratio.

    python benchmarks/choices.py            # 6-s clips, the reference map sizes
    python benchmarks/choices.py --smoke    # a few calls each
"""

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import ducc0
import keras
import numpy as np
import scipy.fft
import soundfile as sf
import tensorflow as tf

from _common import machine
from sk_cry.io._decode import _decode
from sk_cry.models import build_residual_cnn
from sk_cry.models._lite import _LiteNetwork
from sk_cry.models._network import _residual_block
from sk_cry.models._training import SpecAugment, StatsPooling

SHAPES = [(13, 188), (128, 188)]


def interleaved(calls, repeats):
    """Median seconds of each call, the calls alternating."""
    for call in calls.values():
        call()  # warm-up: tracing, caches
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def report(title, medians, unit=1e3, label="ms"):
    (first, a), (second, b) = medians.items()
    print(f"| {title} | {first}: {a * unit:.3f} {label} | {second}: {b * unit:.3f} "
          f"{label} | {b / a:.2f}x |", flush=True)


def stem_first_model():
    """The first compact default: the stem's BatchNorm and activation before pooling."""
    layers = keras.layers
    inputs, heads = [], []
    for i, (n_bands, n_frames) in enumerate(SHAPES):
        inp = keras.Input((n_bands, n_frames))
        x = SpecAugment(seed=i)(inp)
        x = layers.Reshape((n_bands, n_frames, 1))(x)
        x = layers.Conv2D(16, 3, strides=2, padding="valid")(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU()(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
        for j in range(2):
            x = _residual_block(x, 16, 3, False, name=f"b{i}_res{j}")
            x = layers.MaxPooling2D(2, padding="same")(x)
        inputs.append(inp)
        heads.append(StatsPooling()(x))
    x = layers.Dense(64, activation="relu")(layers.Concatenate()(heads))
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    repeats = 3 if args.smoke else args.repeats
    print(f"# choices: {machine()}")
    print("\n| choice | A | B | B / A |\n|---|---|---|---|")
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        paths = [f"{tmp}/{i}.wav" for i in range(32)]
        for path in paths:
            sf.write(path, rng.uniform(-0.5, 0.5, 96000), 16000, subtype="PCM_16")
        halves = [paths[:16], paths[16:]]

        def decode_all(read):
            list(pool.map(lambda half: [read(path) for path in half], halves))

        medians = interleaved({
            "header check + one read": lambda: decode_all(
                lambda p: _decode(p, n_out=96000, sr=16000)),
            "soundfile": lambda: decode_all(lambda p: sf.read(p, dtype="int16")),
        }, max(repeats // 4, 3))
        report("decode 32 mono 16-bit 6-s WAV files on 2 threads, per file",
               {name: t / len(paths) for name, t in medians.items()})

    frames = rng.normal(size=(188, 2048)).astype(np.float32)
    spectrum = np.empty((188, 1025), np.complex64)
    report("FFT, 188 frames of 2048 (one 6-s clip)", interleaved({
        "ducc0.fft.r2c": lambda: ducc0.fft.r2c(frames, axes=(1,), out=spectrum,
                                               nthreads=1),
        "scipy.fft.rfft": lambda: scipy.fft.rfft(frames, axis=1),
    }, repeats))

    mel = rng.uniform(1e-6, 1.0, size=(128, 188)).astype(np.float32)
    report("dB of a 128 x 188 mel map", interleaved({
        "np.log": lambda: np.log(mel),
        "np.log10": lambda: np.log10(mel),
    }, repeats))

    batch = tuple(rng.normal(size=(32, *shape)).astype(np.float32) for shape in SHAPES)
    target = keras.utils.to_categorical(rng.integers(0, 2, 32), 2)
    models = {"stem pooled first (default)": build_residual_cnn(SHAPES, 2, augment=True,
                                                                seed=0),
              "stem BatchNorm first": stem_first_model()}
    counts = {model.count_params() for model in models.values()}
    assert len(counts) == 1, f"the two stems must differ only in order: {counts}"
    for model in models.values():
        model.compile(optimizer="adam", loss="categorical_crossentropy")
    report("one training batch of 32 clips", interleaved(
        {name: (lambda m=model: m.train_on_batch(batch, target))
         for name, model in models.items()}, max(repeats // 8, 3)))

    model = models["stem pooled first (default)"]
    specs = [tf.TensorSpec(x.shape, x.dtype) for x in model.inputs]
    graph = tf.function(lambda parts: model(parts, training=False)).get_concrete_function(
        specs)
    start = time.perf_counter()
    lite = _LiteNetwork(model)
    convert_s = time.perf_counter() - start
    for n_clips in (1, 32):
        parts = [part[:n_clips] for part in batch]
        tensors = [tf.constant(part) for part in parts]
        report(f"the network on {n_clips} clip{'s' * (n_clips > 1)} (LiteRT copy made "
               f"in {convert_s:.1f} s)", interleaved({
                   "LiteRT": lambda: lite(parts),
                   "TF graph": lambda: graph(tensors).numpy(),
               }, repeats if n_clips == 1 else max(repeats // 8, 3)))
    xla = tf.function(lambda parts: model(parts, training=False),
                      jit_compile=True).get_concrete_function(specs)
    clip = [part[:1] for part in batch]
    tensors = [tf.constant(part) for part in clip]
    start = time.perf_counter()
    xla(tensors)
    compile_s = time.perf_counter() - start
    report(f"the network on one clip (XLA compiled in {compile_s:.1f} s, "
           "again at every new batch size)", interleaved({
               "LiteRT": lambda: lite(clip),
               "XLA": lambda: xla(tensors).numpy(),
           }, repeats))


if __name__ == "__main__":
    main()
