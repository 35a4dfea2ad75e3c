"""The reference notebook's network and training, as parameters of the CNN.

Plain dictionaries, importable without TensorFlow::

    make_cnn_pipeline(**REFERENCE_TOPOLOGY, **REFERENCE_TRAINING)

builds and trains the reference: 51,282,690 weights for 13 x 188 MFCC and
128 x 188 log-mel inputs and two classes (``tests/test_models.py`` counts them).
"""

__all__ = ["REFERENCE_TOPOLOGY", "REFERENCE_TRAINING"]

#: The reference network: per branch a 4x4 valid convolution of 32 filters
#: (stride 1) with BatchNorm, two residual blocks of 4x4 convolutions (with
#: biases, as Keras's ``Conv2D`` default), no pooling, and a flatten of the
#: full-resolution maps (125 x 185 x 32 values for the mel branch) into a
#: 64-unit dense layer, without dropout.
REFERENCE_TOPOLOGY = dict(
    filters=32, n_blocks=2, kernel_size=4, stem_kernel=4, stem_stride=1,
    pooling="flatten", dense_units=64, dropout=0.0, block_bias=True,
)

#: The reference training: 10 epochs of batch 16, Adam at Keras's default
#: learning rate 1e-3 (the notebook defines ``learning_rate = 0.00006`` but
#: passes ``optimizer='Adam'``, so it is never used), sparse categorical
#: cross-entropy on integer labels, no class weights, no augmentation, mixup,
#: early stopping or schedule.
REFERENCE_TRAINING = dict(
    epochs=10, batch_size=16, learning_rate=1e-3, loss="sparse_categorical_crossentropy",
    class_weight=None, augment=False, mixup=0.0, early_stopping=False,
    lr_schedule="constant",
)
