"""The dual-input residual CNN: one branch per feature map, built with Keras."""

import keras

from ..exceptions import ParameterError
from ._training import SpecAugment, StatsPooling

__all__ = ["build_residual_cnn"]

#: values of the ``pooling`` parameter
POOLINGS = ("avg", "stats", "flatten")


def _residual_block(x, filters, kernel_size, use_bias, name):
    """Conv-BN-ReLU-Conv-BN plus identity skip, then ReLU (He et al., 2016)."""
    layers = keras.layers
    y = layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias,
                      name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias,
                      name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


def build_residual_cnn(
    input_shapes, n_classes, *, filters=16, n_blocks=2, kernel_size=3, stem_kernel=3,
    stem_stride=2, pooling="stats", dense_units=64, dropout=0.3, block_bias=False,
    augment=False, seed=None,
):
    """Build (uncompiled) the multi-input residual CNN.

    One branch per input map: [SpecAugment, training only] -> Conv(stem_kernel,
    stem_stride, valid) -> BatchNorm -> LeakyReLU, then ``n_blocks`` residual
    blocks; with ``pooling="avg"`` or ``"stats"`` the stem convolution (before its
    BatchNorm, to save three quarters of that work) and each block are followed
    by 2x2 max pooling and the branch ends in global average pooling
    (``"avg"``) or mean and std over time (``"stats"``, :class:`StatsPooling`);
    with ``pooling="flatten"`` the full map is flattened (the reference). The
    branches are concatenated, then Dense(ReLU) -> Dropout (if ``dropout > 0``) ->
    Dense(softmax).

    Parameters
    ----------
    input_shapes : sequence of (int, int)
        ``(n_bands, n_frames)`` of each input map.
    n_classes : int
    filters, n_blocks, kernel_size, stem_kernel, stem_stride, pooling, dense_units, dropout, block_bias, augment :
        See :class:`CryCNNClassifier`.
    seed : int or None
        Seed of the augmentation's random numbers.

    Returns
    -------
    model : keras.Model
    """
    layers = keras.layers
    inputs, heads = [], []
    for i, (n_bands, n_frames) in enumerate(input_shapes):
        if stem_kernel > min(n_bands, n_frames):
            raise ParameterError(
                f"stem_kernel={stem_kernel} is larger than input {i}'s map "
                f"({n_bands} x {n_frames}); use a smaller stem_kernel"
            )
        inp = keras.Input((n_bands, n_frames), name=f"input_{i}")
        x = inp
        if augment:
            x = SpecAugment(seed=None if seed is None else seed + i, name=f"b{i}_augment")(x)
        x = layers.Reshape((n_bands, n_frames, 1), name=f"b{i}_channel")(x)
        x = layers.Conv2D(filters, stem_kernel, strides=stem_stride, padding="valid",
                          name=f"b{i}_stem")(x)
        if pooling != "flatten":  # pool first: BN and activation on a quarter of the map
            x = layers.MaxPooling2D(2, padding="same", name=f"b{i}_stem_pool")(x)
        x = layers.BatchNormalization(name=f"b{i}_stem_bn")(x)
        x = layers.LeakyReLU(name=f"b{i}_stem_act")(x)
        for j in range(n_blocks):
            x = _residual_block(x, filters, kernel_size, block_bias, name=f"b{i}_res{j}")
            if pooling != "flatten":
                x = layers.MaxPooling2D(2, padding="same", name=f"b{i}_pool{j}")(x)
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D(name=f"b{i}_gap")(x)
        elif pooling == "stats":
            x = StatsPooling(name=f"b{i}_stats")(x)
        else:
            x = layers.Flatten(name=f"b{i}_flatten")(x)
        inputs.append(inp)
        heads.append(x)
    x = layers.Concatenate(name="merge")(heads) if len(heads) > 1 else heads[0]
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="cry_cnn")
