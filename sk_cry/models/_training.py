"""What the CNN needs to train well on a few hundred clips.

Keras layers that act only while training (random time shifts, SpecAugment-style
masks), a statistics-pooling layer, and the batches fed to ``Model.fit`` (shuffled,
optionally mixed up). All randomness comes from seeds given at construction, so a
seeded fit is repeatable.
"""

import math

import keras
import numpy as np
from keras import ops

__all__ = ["SpecAugment", "StatsPooling", "TrainingBatches", "cosine_schedule"]


@keras.saving.register_keras_serializable(package="sk_cry")
class SpecAugment(keras.layers.Layer):
    """Random circular time shift, then time and band masks; identity at inference.

    Park et al. (2019), "SpecAugment": each training map is rolled by up to
    ``max_shift`` of its frames, then ``n_masks`` stripes of up to ``max_time``
    of the frames and ``n_masks`` of up to ``max_bands`` of the bands are set to
    zero (the mean, after :class:`~sk_cry.FeatureScaler`).

    Input and output: ``(batch, n_bands, n_frames)``.
    """

    def __init__(self, max_shift=0.1, max_time=0.1, max_bands=0.1, n_masks=2, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_shift = max_shift
        self.max_time = max_time
        self.max_bands = max_bands
        self.n_masks = n_masks
        self.seed = seed
        self._seeds = keras.random.SeedGenerator(seed)

    def _stripes(self, batch, length, max_fraction):
        """A (batch, length) mask, True inside ``n_masks`` random stripes per row."""
        width_max = int(max_fraction * length)
        where = ops.arange(length, dtype="float32")[None, :]
        masked = ops.zeros((batch, length), dtype="bool")
        if width_max < 1:
            return masked
        for _ in range(self.n_masks):
            width = ops.floor(keras.random.uniform((batch, 1), 0, width_max + 1,
                                                   seed=self._seeds))
            start = ops.floor(keras.random.uniform((batch, 1), seed=self._seeds)
                              * (length - width + 1))
            masked = ops.logical_or(masked, ops.logical_and(where >= start,
                                                            where < start + width))
        return masked

    def call(self, x, training=None):
        if not training:
            return x
        batch = ops.shape(x)[0]
        n_bands, n_frames = x.shape[1], x.shape[2]
        shift_max = int(self.max_shift * n_frames)
        if shift_max:
            shift = ops.floor(keras.random.uniform((batch, 1), -shift_max, shift_max + 1,
                                                   seed=self._seeds))
            source = ops.mod(ops.arange(n_frames, dtype="float32")[None, :] - shift,
                             n_frames)
            x = ops.take_along_axis(x, ops.cast(source, "int32")[:, None, :], axis=2)
        time_mask = self._stripes(batch, n_frames, self.max_time)[:, None, :]
        band_mask = self._stripes(batch, n_bands, self.max_bands)[:, :, None]
        return ops.where(ops.logical_or(time_mask, band_mask), 0.0, x)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift,
                "max_time": self.max_time, "max_bands": self.max_bands,
                "n_masks": self.n_masks, "seed": self.seed}


@keras.saving.register_keras_serializable(package="sk_cry")
class StatsPooling(keras.layers.Layer):
    """Average over bands, then mean and standard deviation over time, per channel.

    ``(batch, bands, frames, channels)`` -> ``(batch, 2 * channels)``: the
    x-vector "statistics pooling" (Snyder et al., 2018), which keeps how much a
    feature varies over the cry, not only its average.
    """

    def call(self, x):
        x = ops.mean(x, axis=1)
        mean = ops.mean(x, axis=1)
        std = ops.sqrt(ops.maximum(ops.mean(ops.square(x), axis=1) - ops.square(mean),
                                   1e-6))
        return ops.concatenate([mean, std], axis=-1)


class TrainingBatches(keras.utils.PyDataset):
    """Mini-batches of a multi-input training set, shuffled each epoch unless
    ``shuffle=False``, optionally mixed up.

    With ``mixup > 0`` every batch is blended with a shuffled copy of itself:
    ``x = lam * x_i + (1 - lam) * x_j``, and the same for the one-hot targets and
    the sample weights, ``lam ~ Beta(mixup, mixup)`` per sample (Zhang et al.,
    2018).
    """

    def __init__(self, X, y, sample_weight, *, batch_size, mixup=0.0, shuffle=True,
                 seed=None):
        super().__init__()
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.batch_size = batch_size
        self.mixup = mixup
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(len(self.y) / self.batch_size)

    def __getitem__(self, i):
        rows = self._order[i * self.batch_size:(i + 1) * self.batch_size]
        x = [part[rows] for part in self.X]
        y = self.y[rows]
        if y.dtype.kind == "f":  # one-hot rows; integer labels stay integers
            y = y.astype("float32")
        w = None if self.sample_weight is None else self.sample_weight[rows]
        if self.mixup > 0 and len(rows) > 1:
            partner = self._rng.permutation(len(rows))
            lam = self._rng.beta(self.mixup, self.mixup, size=len(rows)).astype("float32")
            x = [_blend(part, part[partner], lam) for part in x]
            y = _blend(y, y[partner], lam)
            if w is not None:
                w = _blend(w, w[partner], lam)
        x = tuple(x)  # Keras reads a list here as one nested structure per batch
        return (x, y) if w is None else (x, y, w)

    def on_epoch_end(self):
        n = len(self.y)
        self._order = self._rng.permutation(n) if self.shuffle else np.arange(n)


def _blend(a, b, lam):
    lam = lam.reshape((-1,) + (1,) * (a.ndim - 1))
    return lam * a + (1 - lam) * b


def cosine_schedule(learning_rate, epochs):
    """Per-epoch cosine decay from ``learning_rate`` to 0 over ``epochs``."""
    def schedule(epoch, lr=None):
        return float(learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / epochs)))

    return keras.callbacks.LearningRateScheduler(schedule)
