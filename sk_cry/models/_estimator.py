"""``CryCNNClassifier``: the residual CNN as a scikit-learn classifier (scikeras)."""

import inspect
from collections import defaultdict
from contextlib import nullcontext
from numbers import Integral, Real

import keras
import numpy as np
import scipy.sparse as sp
from scikeras._utils import route_params
from scikeras.utils.random_state import tensorflow_random_state
from scikeras.wrappers import KerasClassifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import Interval, StrOptions

from ..core import N_MELS, N_MFCC
from ..exceptions import ParameterError
from ..features import split_bands
from ._lite import lite_copy
from ._network import POOLINGS, build_residual_cnn
from ._scikeras_fixes import ScikerasFixes
from ._training import TrainingBatches, cosine_schedule

__all__ = ["CryCNNClassifier"]

_DIRECT_MAX = 64  # predictions for at most this many clips may bypass Model.predict

# scikeras routes these to Model.fit; the estimator sets them itself, or has its
# own parameter for them
_OWN_FIT_ARGS = {
    "x": "X is given to fit",
    "y": "y is given to fit",
    "epochs": "set epochs",
    "initial_epoch": "scikeras sets it (partial_fit, warm_start)",
    "sample_weight": "pass sample_weight to fit",
    "class_weight": "set class_weight",
    "validation_split": "set early_stopping=True and validation_fraction: the CNN "
                        "holds out a stratified share of the training clips itself",
    "validation_data": "set early_stopping=True and validation_fraction",
}


def _this_fit_only(callbacks):
    """``{"callbacks": [...]}`` for scikeras's route to ``_fit_keras_model``, or
    nothing; a callback that is not a Keras one is refused before any work."""
    if callbacks is None:
        return {}
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    wrong = [c for c in callbacks if not isinstance(c, keras.callbacks.Callback)]
    if wrong:
        raise ParameterError(
            f"callbacks passed to fit must be keras.callbacks.Callback instances, got "
            f"{wrong[0]!r}; subclass keras.callbacks.Callback and pass an instance")
    return {"callbacks": list(callbacks)}


class CryCNNClassifier(ScikerasFixes, KerasClassifier):
    """Dual-input residual CNN on MFCC and log-mel maps, as an sklearn classifier.

    A thin :class:`scikeras.wrappers.KerasClassifier` subclass: the architecture
    knobs are constructor parameters (so ``GridSearchCV`` can tune them), the
    network is built by :func:`~sk_cry.models.build_residual_cnn`, and a
    picklable ``feature_encoder`` splits each flat input row into one map per
    branch.

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
        Dropout rate before the output layer; 0 leaves the layer out.
    block_bias : bool, default=False
        Biases in the residual convolutions. Redundant before BatchNorm (it
        removes them again), but the reference has them.
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
    n_iter_no_change : int, default=20
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"`` decays the learning rate to 0 over ``epochs``.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer.
    epochs : int, default=100
        Most epochs (early stopping may stop sooner). 100 epochs with patience
        20 were chosen over 40 with patience 8 by nested cross-validation on
        seed-cry (``benchmarks/cnn_levers.py``): a few hundred clips give a
        few hundred optimizer steps in 40 epochs, too few to train the network.
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
        scikeras's other parameters, all honoured: ``optimizer`` (a Keras
        optimizer name or class, default ``"adam"``) and its settings as
        ``optimizer__<name>`` (but ``learning_rate`` above), ``loss`` (default
        ``"categorical_crossentropy"`` on one-hot targets, which mixup needs;
        ``"sparse_categorical_crossentropy"`` trains on integer labels, with
        ``mixup=0``) and ``loss__*``, ``metrics``, ``callbacks`` (kept with the
        estimator: callbacks for one fit only, such as progress, go to
        :meth:`fit`), ``shuffle`` (default True), ``compile__*``, and
        ``fit__<name>`` for any further argument of ``keras.Model.fit``
        (``fit__steps_per_epoch``, ...).
        ``validation_split`` and the ``Model.fit`` arguments the estimator sets
        itself raise a :class:`~sk_cry.ParameterError` that names the parameter
        to use instead.

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
    Predictions for up to 64 clips run on a LiteRT copy of the network
    (:mod:`sk_cry.models._lite`: one clip in well under a millisecond instead of
    2-5 ms through TensorFlow; the same probabilities to about 1e-6), converted
    at the first such call after a fit (0.4-2 s; networks over 2 M weights, such
    as the reference's, keep ``Model.predict``). The copy is made again after
    any further training (``partial_fit``, a warm-started ``fit``, or
    ``model_.fit``), but not after weights are assigned to ``model_`` by hand
    (``set_weights``), which the estimator does not support.

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

    _parameter_constraints = {
        "input_bands": ["array-like"],
        "filters": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 0, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "stem_kernel": [Interval(Integral, 1, None, closed="left")],
        "stem_stride": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        "dense_units": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "block_bias": ["boolean"],
        "augment": ["boolean"],
        "mixup": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "shuffle": ["boolean"],
    }

    def __init__(
        self, input_bands=(N_MFCC, N_MELS), *, filters=16, n_blocks=2, kernel_size=3,
        stem_kernel=3, stem_stride=2, pooling="stats", dense_units=64, dropout=0.3,
        block_bias=False, augment=True, mixup=0.2, early_stopping=True,
        validation_fraction=0.15, n_iter_no_change=20, lr_schedule="cosine",
        learning_rate=1e-3, epochs=100, batch_size=32, class_weight="balanced",
        random_state=None, verbose=0, **kwargs,
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
        self.block_bias = block_bias
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

    def _sparse_targets(self):
        """Whether the loss takes integer labels rather than one-hot rows."""
        loss = self.loss
        name = loss if isinstance(loss, str) else getattr(loss, "__name__",
                                                          type(loss).__name__)
        return "sparse" in name.lower()

    def _check_params(self):
        """Parameter checks that need more than one parameter, or scikeras's."""
        self._validate_params()
        if self._sparse_targets() and self.mixup > 0:
            raise ParameterError(
                f"mixup={self.mixup} blends one-hot targets, but loss={self.loss!r} "
                "takes integer labels; set mixup=0 or loss='categorical_crossentropy'"
            )
        params = self.get_params()
        for name, how in _OWN_FIT_ARGS.items():
            if params.get(f"fit__{name}") is not None:
                raise ParameterError(f"fit__{name} is not supported: {how}")
        if params.get("validation_split"):
            raise ParameterError(
                f"validation_split={self.validation_split!r} is not supported: "
                + _OWN_FIT_ARGS["validation_split"])
        if "optimizer__learning_rate" in params:
            raise ParameterError("optimizer__learning_rate is not supported: set "
                                 "learning_rate")
        optimizer = self.optimizer
        if not (isinstance(optimizer, str) or (inspect.isclass(optimizer) and issubclass(
                optimizer, keras.optimizers.Optimizer))):
            raise ParameterError(
                f"optimizer must be a Keras optimizer name such as 'adam' or an "
                f"optimizer class (its learning rate is the learning_rate parameter, "
                f"its other settings optimizer__<name>), got {optimizer!r}"
            )

    def fit(self, X, y, sample_weight=None, *, callbacks=None, **kwargs):
        """Fit the network; see :meth:`scikeras.wrappers.KerasClassifier.fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat feature maps, ``sum(input_bands) * n_frames`` values per row.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        callbacks : list of keras.callbacks.Callback, default=None
            Called during this fit only, after the estimator's own (the
            ``callbacks`` parameter, early stopping, the learning-rate
            schedule): progress reporting, say. They are neither a parameter
            nor an attribute, so a saved, pickled or cloned estimator does not
            hold them and a later ``fit`` does not call them. Through a
            pipeline: ``pipe.fit(paths, y, cnn__callbacks=[...])``.
        **kwargs
            Further arguments of :meth:`keras.Model.fit` for this fit, as
            scikeras routes them (``fit__<name>`` parameters set them for
            every fit).

        Returns
        -------
        self : CryCNNClassifier

        Examples
        --------
        >>> import keras
        >>> import numpy as np
        >>> from sk_cry import CryCNNClassifier
        >>> X = np.random.default_rng(0).normal(size=(20, 2 * 8)).astype("float32")
        >>> y = np.arange(20) % 2
        >>> seen = []
        >>> class Epochs(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         seen.append(epoch)
        >>> clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, epochs=2,
        ...                        early_stopping=False, random_state=0)
        >>> clf = clf.fit(X, y, callbacks=[Epochs()])
        >>> seen
        [0, 1]
        """
        self._check_params()
        labels = np.asarray(y)
        if labels.ndim == 1 and np.unique(labels).size < 2:
            # scikeras would build a one-unit softmax that always says 1.0
            raise ParameterError(
                f"y holds one class only ({labels[:1].tolist()}); a classifier needs at "
                "least two classes to learn from"
            )
        return super().fit(X, y, sample_weight=sample_weight,
                           **_this_fit_only(callbacks), **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None, *, callbacks=None,
                    **kwargs):
        """One more epoch; see :meth:`scikeras.wrappers.KerasClassifier.partial_fit`.

        ``callbacks`` are called during this epoch only, as in :meth:`fit`.
        """
        self._check_params()
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight,
                                   **_this_fit_only(callbacks), **kwargs)

    def _keras_build_fn(self):
        model = build_residual_cnn(
            self._input_shapes(), self.n_classes_, filters=self.filters,
            n_blocks=self.n_blocks, kernel_size=self.kernel_size,
            stem_kernel=self.stem_kernel, stem_stride=self.stem_stride,
            pooling=self.pooling, dense_units=self.dense_units, dropout=self.dropout,
            block_bias=self.block_bias, augment=self.augment, seed=self._seed(),
        )
        # scikeras's routing: optimizer__*, loss__*, metrics(__*), compile__*
        compile_kwargs = self._get_compile_kwargs()
        optimizer = compile_kwargs["optimizer"]
        optimizer.learning_rate = self.learning_rate
        model.compile(**compile_kwargs)
        # the optimizer's slots made now, not inside the first traced training
        # step: a tf.function that creates variables is traced twice, and that
        # second trace was half of every fit (10.8 -> 5.9 s for a tiny network)
        optimizer.build(model.trainable_variables)
        return model

    def _seed(self):
        return None if self._random_state is None else int(self._random_state)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch,
                         *, callbacks=(), **kwargs):
        """Train on shuffled (mixed-up) batches, with early stopping and a schedule.

        Replaces scikeras's plain ``Model.fit(X, y)``; ``partial_fit`` (one
        epoch) gets neither early stopping nor the schedule. scikeras's
        ``fit__*`` arguments go to ``Model.fit``; ``callbacks`` (this fit's,
        from :meth:`fit`) follow the estimator's own.
        """
        this_fit = list(callbacks)
        fit_args = route_params(self.get_params(), destination="fit",
                                pass_filter=self._fit_kwargs)
        fit_args.update(kwargs)
        # the callbacks parameters are scikeras's, already in self._fit_callbacks
        fit_args = {k: v for k, v in fit_args.items() if not k.startswith("callbacks")}
        batch_size = fit_args.pop("batch_size")
        shuffle = fit_args.pop("shuffle", True)
        verbose = fit_args.pop("verbose", self.verbose)
        for own in ("epochs", "initial_epoch", "sample_weight", "class_weight",
                    "validation_split"):
            fit_args.pop(own, None)  # set below, or refused by _check_params
        unknown = set(fit_args) - set(inspect.signature(self.model_.fit).parameters)
        if unknown:
            raise ParameterError(
                f"fit__{sorted(unknown)[0]} is not an argument of keras.Model.fit")

        sparse = self._sparse_targets()
        y = np.asarray(y)
        if sparse:
            y = y.reshape(-1)
        elif y.ndim == 1 or y.shape[1] != self.n_classes_:  # scikeras keeps binary y ordinal
            y = keras.utils.to_categorical(y.reshape(-1), self.n_classes_)
        callbacks = list(self._fit_callbacks)
        validation = None
        if epochs > 1 and self.early_stopping:
            train, held = self._validation_split(y if sparse else np.argmax(y, axis=1))
            validation = ([part[held] for part in X], y[held],
                          None if sample_weight is None else sample_weight[held])
            X, y = [part[train] for part in X], y[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
            callbacks.append(keras.callbacks.EarlyStopping(
                patience=self.n_iter_no_change, restore_best_weights=True))
        if epochs > 1 and self.lr_schedule == "cosine":
            callbacks.append(cosine_schedule(self.learning_rate, epochs))
        callbacks += this_fit
        batches = TrainingBatches(X, y, sample_weight, batch_size=batch_size,
                                  mixup=self.mixup, shuffle=shuffle, seed=self._seed())
        seeded = (nullcontext() if self._random_state is None
                  else tensorflow_random_state(self._random_state))
        with seeded:
            hist = self.model_.fit(
                batches, validation_data=validation, epochs=initial_epoch + epochs,
                initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose,
                **fit_args,
            )
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = defaultdict(list)
        for key, values in hist.history.items():
            self.history_[key] += values

    def _validation_split(self, labels):
        """Stratified train/validation row indices."""
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

    def _predict_raw(self, X, **kwargs):
        """Network outputs; a few clips skip ``Model.predict``'s per-call set-up.

        ``Model.predict`` builds a data pipeline and a progress loop on every
        call, tens of milliseconds for one clip; up to ``_DIRECT_MAX`` clips go
        through a LiteRT copy of the network instead (:func:`lite_copy`).
        """
        if not self.initialized_:
            raise NotFittedError("Estimator needs to be fit before `predict` can be called")
        few = not (kwargs or self._predict_callbacks or len(X) > _DIRECT_MAX)
        lite = lite_copy(self.model_) if few else None
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
        return self._decoded_proba(outputs)

    def _validate_data(self, X=None, y=None, reset=False):
        if X is not None and sp.issparse(X):
            raise TypeError(
                "sparse input is not supported: the CNN needs dense feature maps; "
                "pass X.toarray()"
            )
        return super()._validate_data(X, y, reset=reset)

    def count_params(self):
        """Number of weights in the fitted network."""
        return int(self.model_.count_params())
