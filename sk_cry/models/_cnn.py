"""The dual-input residual CNN and its scikeras wrapper."""

import os
import threading
import weakref

# TensorFlow prints several lines of C++ start-up chatter per process; keep a
# user's own setting if they chose one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections import defaultdict  # noqa: E402
from contextlib import contextmanager, nullcontext  # noqa: E402

import keras  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from scikeras.utils.random_state import tensorflow_random_state  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402
from sklearn.utils import ClassifierTags  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402
from tensorflow.python.framework.convert_to_constants import (  # noqa: E402
    convert_variables_to_constants_v2,
)

from ..exceptions import ParameterError  # noqa: E402
from ..features import split_bands  # noqa: E402
from ._training import (  # noqa: E402
    SpecAugment,
    StatsPooling,
    TrainingBatches,
    cosine_schedule,
)

__all__ = [
    "CryCNNClassifier", "REFERENCE_TOPOLOGY", "REFERENCE_TRAINING", "build_residual_cnn",
]

#: Parameters reproducing the reference notebook's network: a 4x4 valid stem, no
#: pooling, and a flatten of the full-resolution maps into the dense layer
#: (125 x 185 x 32 values for the mel branch): about 51 M weights.
REFERENCE_TOPOLOGY = dict(
    filters=32, n_blocks=2, kernel_size=3, stem_kernel=4, stem_stride=1, pooling="flatten",
    dense_units=64, dropout=0.5,
)

#: The reference notebook's plain training: fixed epochs at a constant learning
#: rate, no augmentation, no early stopping.
REFERENCE_TRAINING = dict(
    augment=False, mixup=0.0, early_stopping=False, lr_schedule="constant",
)

_POOLINGS = ("avg", "stats", "flatten")
_DIRECT_MAX = 64  # predictions for at most this many clips bypass Model.predict
# ... on a LiteRT copy, for networks of at most this many weights: converting
# takes 0.4-0.9 s for the default's 24 k, 2 s for 1.8 M, 55 s and 7 GB of memory for
# the reference's 51 M (measured 2026-11-26)
_LITE_MAX_WEIGHTS = 2_000_000


def _residual_block(x, filters, kernel_size, name):
    """Conv-BN-ReLU-Conv-BN plus identity skip, then ReLU (He et al., 2016)."""
    layers = keras.layers
    y = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False,
                      name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False,
                      name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


def build_residual_cnn(
    input_shapes, n_classes, *, filters=16, n_blocks=2, kernel_size=3, stem_kernel=3,
    stem_stride=2, pooling="stats", dense_units=64, dropout=0.3, augment=False, seed=None,
):
    """Build (uncompiled) the multi-input residual CNN.

    One branch per input map: [SpecAugment, training only] -> Conv(stem_kernel,
    stem_stride, valid) -> BatchNorm -> LeakyReLU, then ``n_blocks`` residual
    blocks; with ``pooling="avg"`` or ``"stats"`` the stem convolution (before its
    BatchNorm, to save three quarters of that work) and each block are followed
    by 2x2 max pooling and the branch ends in global average pooling
    (``"avg"``) or mean and std over time (``"stats"``, :class:`StatsPooling`);
    with ``pooling="flatten"`` the full map is flattened (the reference). The
    branches are concatenated, then Dense(ReLU) -> Dropout -> Dense(softmax).

    Parameters
    ----------
    input_shapes : sequence of (int, int)
        ``(n_bands, n_frames)`` of each input map.
    n_classes : int
    filters, n_blocks, kernel_size, stem_kernel, stem_stride, pooling, dense_units, dropout, augment :
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
            x = _residual_block(x, filters, kernel_size, name=f"b{i}_res{j}")
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
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="cry_cnn")


# model -> its LiteRT copy; kept outside the estimator (predict must not change
# it, a pickle must not carry it) and weakly keyed, so it goes with the model
_LITE = weakref.WeakKeyDictionary()


def _training_steps(model):
    """How many optimizer steps ``model`` has taken: a copy of its weights made at
    another count is stale."""
    optimizer = getattr(model, "optimizer", None)
    # int() of the tf.Variable: 35 us, half of Keras's .numpy()
    return None if optimizer is None else int(optimizer.iterations.value)


class _LiteNetwork:
    """``model(inputs, training=False)`` converted to LiteRT, for a few clips a call.

    The network's weights are frozen into a LiteRT flatbuffer (0.4-0.9 s for the
    default network) and run by LiteRT's interpreter on the calling thread: one
    clip in 0.2-0.7 ms, where TensorFlow's graph runtime takes 2-5 ms, most of it
    handing each small operation to its thread pool and back (see the README's
    Performance section). The outputs match TensorFlow's to about 1e-6.
    """

    def __init__(self, model):
        specs = [tf.TensorSpec(x.shape, x.dtype, name=f"input_{i}")
                 for i, x in enumerate(model.inputs)]
        function = tf.function(lambda parts: model(parts, training=False))
        frozen = convert_variables_to_constants_v2(function.get_concrete_function(specs))
        # a frozen function holds no variables: an empty module is all the
        # converter needs to take its current (not its deprecated) path
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
        interpreter = Interpreter(model_content=converter.convert(), num_threads=1)
        self._run = interpreter.get_signature_runner()  # inputs by name: input_0, ...
        self._lock = threading.Lock()  # an interpreter serves one call at a time
        self.training_steps = _training_steps(model)

    def __call__(self, parts):
        with self._lock:
            outputs = self._run(**{f"input_{i}": part for i, part in enumerate(parts)})
        (output,) = outputs.values()  # a copy, not the interpreter's buffer
        return output


def _lite(model):
    """The LiteRT copy of ``model``, made anew once it has trained further; None
    for a network too large to convert quickly."""
    if model not in _LITE:
        too_large = model.count_params() > _LITE_MAX_WEIGHTS  # 0.3 ms: asked once
        _LITE[model] = None if too_large else _LiteNetwork(model)
    lite = _LITE[model]
    if lite is not None and lite.training_steps != _training_steps(model):
        lite = _LITE[model] = _LiteNetwork(model)
    return lite


@contextmanager
def _op_determinism_restored():
    """Leave TensorFlow's global op-determinism switch as it was found.

    scikeras 0.13 turns determinism on for a seeded fit and means to turn it off
    afterwards, but it asks ``is_op_determinism_enabled`` after setting
    ``TF_DETERMINISTIC_OPS=1``, which TF 2.21 reads as "already on": the switch
    stays on, and every later unseeded fit in the process fails with "Random ops
    require a seed" (seen here with TF 2.21, Keras 3.15).
    """
    was_enabled = tf_config.is_op_determinism_enabled()
    try:
        yield
    finally:
        if not was_enabled:
            tf_config.disable_op_determinism()


class CryCNNClassifier(KerasClassifier):
    """Dual-input residual CNN on MFCC and log-mel maps, as an sklearn classifier.

    A thin :class:`scikeras.wrappers.KerasClassifier` subclass: the architecture
    knobs are constructor parameters (so ``GridSearchCV`` can tune them), the
    network is built by :func:`build_residual_cnn`, and a picklable
    ``feature_encoder`` splits each flat input row into one map per branch.

    Parameters
    ----------
    input_bands : tuple of int, default=(13, 128)
        Band count of each concatenated input map, one branch each: 13 MFCCs and
        128 mel bands in the reference. Each row of ``X`` must hold
        ``sum(input_bands) * n_frames`` values, band-major.
    filters : int, default=16
        Convolution channels in every layer of a branch.
    n_blocks : int, default=2
        Residual blocks per branch.
    kernel_size : int, default=3
        Kernel of the residual convolutions.
    stem_kernel : int, default=3
        Kernel of the first (valid-padded) convolution of each branch.
    stem_stride : int, default=2
        Stride of that convolution. With the 2x2 pooling after it, the default
        shrinks a 128 x 188 mel map 4-fold per axis before the residual blocks:
        most of the compact network's speed (the reference used 1).
    pooling : {"avg", "stats", "flatten"}, default="stats"
        ``"avg"``: 2x2 max pooling after the stem and every block, and global
        average pooling at the end. ``"stats"``: the same pooling, but each
        branch ends in the mean and standard deviation over time of its
        channels. ``"flatten"``: no pooling, flatten into the dense layer, as the
        reference (see ``REFERENCE_TOPOLOGY``).
    dense_units : int, default=64
    dropout : float, default=0.3
    augment : bool, default=True
        Random time shifts and SpecAugment time/band masks of each training
        batch (:class:`~sk_cry.models.SpecAugment`); never at prediction.
    mixup : float, default=0.2
        Beta parameter of mixup between training clips (their targets and
        weights mixed alike); 0 turns it off.
    early_stopping : bool, default=True
        Hold out a stratified ``validation_fraction`` of the training clips, stop
        when their loss has not improved for ``n_iter_no_change`` epochs, and keep
        the weights of the best epoch.
    validation_fraction : float, default=0.15
    n_iter_no_change : int, default=8
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"`` decays the learning rate to 0 over ``epochs``.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer (``optimizer="adam"`` unless given in
        ``kwargs`` as another Keras optimizer name).
    epochs : int, default=40
        Most epochs (early stopping may stop sooner).
    batch_size : int, default=32
    class_weight : dict, "balanced" or None, default="balanced"
        Passed to scikeras, which turns it into sample weights.
    random_state : int or None, default=None
        Seeds Python, NumPy and TensorFlow (and the validation split, shuffling,
        mixup and augmentation) and turns on deterministic ops, so that two fits
        with the same seed give the same network.
    verbose : int, default=0
        Keras's progress output: 0 silent, 1 progress bar, 2 one line per epoch.
    **kwargs
        Any other scikeras parameter (``callbacks``, ``validation_split``, ...).

    Attributes
    ----------
    model_ : keras.Model
        The fitted network.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    history_ : dict
        Per-epoch training metrics.

    See Also
    --------
    sk_cry.make_cnn_pipeline : The whole pipeline, from file paths to labels.

    Notes
    -----
    Predictions for up to 64 clips run on a LiteRT copy of the network (one clip
    in well under a millisecond instead of 2-5 ms through TensorFlow; the same
    probabilities to about 1e-6), converted at the first such call after a fit
    (0.4-2 s; networks over 2 M weights, such as the reference's, keep
    ``Model.predict``). The copy is made again after any further training
    (``partial_fit``, a warm-started ``fit``, or ``model_.fit``), but not after
    weights are assigned to ``model_`` by hand (``set_weights``), which the
    estimator does not support.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import CryCNNClassifier
    >>> X = np.random.default_rng(0).normal(size=(20, 2 * 8)).astype("float32")
    >>> y = np.arange(20) % 2
    >>> clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, epochs=1,
    ...                        random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (20, 2)
    """

    def __init__(
        self, input_bands=(13, 128), *, filters=16, n_blocks=2, kernel_size=3,
        stem_kernel=3, stem_stride=2, pooling="stats", dense_units=64, dropout=0.3,
        augment=True, mixup=0.2, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=8, lr_schedule="cosine", learning_rate=1e-3, epochs=40,
        batch_size=32, class_weight="balanced", random_state=None, verbose=0, **kwargs,
    ):
        # one-hot targets, so that mixup can blend them
        kwargs = {"optimizer": "adam", "loss": "categorical_crossentropy", **kwargs}
        super().__init__(
            epochs=epochs,
            batch_size=batch_size, class_weight=class_weight,
            random_state=random_state, verbose=verbose, **kwargs,
        )
        self.input_bands = input_bands
        self.filters = filters
        self.n_blocks = n_blocks
        self.kernel_size = kernel_size
        self.stem_kernel = stem_kernel
        self.stem_stride = stem_stride
        self.pooling = pooling
        self.dense_units = dense_units
        self.dropout = dropout
        self.augment = augment
        self.mixup = mixup
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.lr_schedule = lr_schedule
        self.learning_rate = learning_rate

    @property
    def feature_encoder(self):
        """Split each flat row into one ``(bands, frames)`` map per branch."""
        return FunctionTransformer(
            split_bands, kw_args={"input_bands": tuple(self.input_bands)}
        )

    def _input_shapes(self):
        bands = tuple(int(b) for b in self.input_bands)
        if not bands or min(bands) < 1:
            raise ParameterError(f"input_bands must be positive ints, got {self.input_bands!r}")
        n_frames, rest = divmod(self.n_features_in_, sum(bands))
        if rest or n_frames == 0:
            raise ParameterError(
                f"each row has {self.n_features_in_} values, which is not a whole "
                f"number of frames of {sum(bands)} bands (input_bands={bands}); make "
                "input_bands match the extractors (n_mfcc, n_mels)"
            )
        return [(b, n_frames) for b in bands]

    def _keras_build_fn(self):
        if self.pooling not in _POOLINGS:
            raise ParameterError(f"pooling must be one of {_POOLINGS}, got {self.pooling!r}")
        model = build_residual_cnn(
            self._input_shapes(), self.n_classes_, filters=self.filters,
            n_blocks=self.n_blocks, kernel_size=self.kernel_size,
            stem_kernel=self.stem_kernel, stem_stride=self.stem_stride,
            pooling=self.pooling, dense_units=self.dense_units, dropout=self.dropout,
            augment=self.augment, seed=self._seed(),
        )
        if not isinstance(self.optimizer, str):
            raise ParameterError(
                f"optimizer must be a Keras optimizer name such as 'adam' (its "
                f"learning rate is the learning_rate parameter), got {self.optimizer!r}"
            )
        optimizer = keras.optimizers.get(
            {"class_name": self.optimizer, "config": {"learning_rate": self.learning_rate}}
        )
        model.compile(optimizer=optimizer, loss=self.loss)
        # the optimizer's slots made now, not inside the first traced training
        # step: a tf.function that creates variables is traced twice, and that
        # second trace was half of every fit (10.8 -> 5.9 s for a tiny network)
        optimizer.build(model.trainable_variables)
        return model

    def _seed(self):
        return None if self._random_state is None else int(self._random_state)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch,
                         **kwargs):
        """Train on shuffled (mixed-up) batches, with early stopping and a schedule.

        Replaces scikeras's plain ``Model.fit(X, y)``; ``partial_fit`` (one
        epoch) gets neither early stopping nor the schedule.
        """
        if self.lr_schedule not in ("cosine", "constant"):
            raise ParameterError(
                f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}"
            )
        y = np.asarray(y)
        if y.ndim == 1 or y.shape[1] != self.n_classes_:  # scikeras keeps binary y ordinal
            y = keras.utils.to_categorical(y.reshape(-1), self.n_classes_)
        callbacks = list(self._fit_callbacks)
        validation = None
        if epochs > 1 and self.early_stopping:
            train, held = self._validation_split(y)
            validation = ([part[held] for part in X], y[held],
                          None if sample_weight is None else sample_weight[held])
            X, y = [part[train] for part in X], y[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
            callbacks.append(keras.callbacks.EarlyStopping(
                patience=self.n_iter_no_change, restore_best_weights=True))
        if epochs > 1 and self.lr_schedule == "cosine":
            callbacks.append(cosine_schedule(self.learning_rate, epochs))
        batches = TrainingBatches(X, y, sample_weight, batch_size=self.batch_size,
                                  mixup=self.mixup, seed=self._seed())
        seeded = (nullcontext() if self._random_state is None
                  else tensorflow_random_state(self._random_state))
        with seeded:
            hist = self.model_.fit(
                batches, validation_data=validation, epochs=initial_epoch + epochs,
                initial_epoch=initial_epoch, callbacks=callbacks, verbose=self.verbose,
            )
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = defaultdict(list)
        for key, values in hist.history.items():
            self.history_[key] += values

    def _validation_split(self, y):
        """Stratified train/validation row indices (y is one-hot)."""
        labels = np.argmax(y, axis=1)
        try:
            return train_test_split(
                np.arange(len(labels)), test_size=self.validation_fraction,
                stratify=labels, random_state=self._seed(),
            )
        except ValueError as exc:
            raise ParameterError(
                f"early stopping needs a stratified validation split of "
                f"{self.validation_fraction} of {len(labels)} training clips ({exc}); "
                "pass more clips per class or early_stopping=False"
            ) from exc

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit the network; see :meth:`scikeras.wrappers.KerasClassifier.fit`.

        Returns
        -------
        self : CryCNNClassifier
        """
        with _op_determinism_restored():
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One more epoch; see :meth:`scikeras.wrappers.KerasClassifier.partial_fit`."""
        with _op_determinism_restored():
            return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def _predict_raw(self, X, **kwargs):
        """Network outputs; a few clips skip ``Model.predict``'s per-call set-up.

        ``Model.predict`` builds a data pipeline and a progress loop on every
        call, tens of milliseconds for one clip; up to ``_DIRECT_MAX`` clips go
        through a LiteRT copy of the network instead (:class:`_LiteNetwork`,
        the same numbers to about 1e-6), made at the first such call after each
        fit or further training, unless the network has more than
        ``_LITE_MAX_WEIGHTS`` weights.
        """
        if not self.initialized_:
            raise NotFittedError("Estimator needs to be fit before `predict` can be called")
        few = not (kwargs or self._predict_callbacks or len(X) > _DIRECT_MAX)
        lite = _lite(self.model_) if few else None
        if lite is None:
            return super()._predict_raw(X, **kwargs)
        X, _ = self._validate_data(X=X, y=None)
        parts = self.feature_encoder_.transform(X)
        inputs = [np.ascontiguousarray(part, dtype=spec.dtype)
                  for part, spec in zip(parts, self.model_.inputs)]
        return lite(inputs)

    def predict(self, X, **kwargs):
        """Class labels: the most probable class of each clip.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        if kwargs:  # scikeras's route to Model.predict
            return super().predict(X, **kwargs)
        # classes_[argmax] is what scikeras's label decoder returns, without the
        # millisecond its encoder pipeline takes on every call
        proba = self.predict_proba(X)  # first: raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X, **kwargs):
        """Class probabilities, of shape ``(n_samples, n_classes)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        outputs = self._predict_raw(X, **kwargs)
        n_classes = len(self.classes_)
        if self.target_type_ in ("binary", "multiclass") and outputs.shape[1:] == (n_classes,):
            # the softmax already is one column per class; scikeras's decoder would
            # also decode labels it then discards (0.45 ms of a one-clip predict)
            return outputs
        # scikeras 0.13 squeezes the result for a single sample to (n_classes,)
        proba = self.target_encoder_.inverse_transform(outputs, return_proba=True)
        return np.asarray(proba).reshape(-1, n_classes)

    def _validate_data(self, X=None, y=None, reset=False):
        if X is not None and sp.issparse(X):
            raise TypeError(
                "sparse input is not supported: the CNN needs dense feature maps; "
                "pass X.toarray()"
            )
        return super()._validate_data(X, y, reset=reset)

    def __sklearn_tags__(self):
        # scikeras 0.13 defines only the old `_more_tags` and puts ClassifierMixin
        # after BaseEstimator in its bases, so sklearn >= 1.6 sees no classifier:
        # `is_classifier` is False and `cross_val_score(cv=3)` silently uses
        # KFold instead of StratifiedKFold. Declare the tags here.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        tags.input_tags.sparse = False
        return tags

    def count_params(self):
        """Number of weights in the fitted network."""
        return int(self.model_.count_params())
