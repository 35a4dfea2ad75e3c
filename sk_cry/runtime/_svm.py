"""An exported SVM pipeline (:func:`sk_cry.make_svm_pipeline`) run with numpy alone.

The parts come from :func:`sk_cry.models._svm_parts.svm_parts`. The MFCC map is
made by the kernel of :mod:`sk_cry.core` (the one the training extractor runs,
with the same FFT), then every step repeats scikit-learn's arithmetic in its
dtypes: TimePooling and StandardScaler in float32 (the scaler casts its
statistics to the data's dtype), the SVM in float64 as libsvm, the sigmoid
calibration as ``CalibratedClassifierCV(method="sigmoid", ensemble=False)``.
"""

import numpy as np

from ..core import MelSpectrum, best_rfft, floor_db, log_power
from ..exceptions import AudioLoadError, ParameterError

__all__ = ["SVMEngine"]

_STATS = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}


def _pair_coefficients(dual_coef, n_support):
    """libsvm's one-vs-one layout as one ``(n_pairs, n_SV)`` matrix.

    The support vectors are grouped by class; for the pair ``(i, j)``, ``i <
    j``, those of class ``i`` weigh ``dual_coef[j - 1]`` and those of class
    ``j`` weigh ``dual_coef[i]`` (libsvm's ``svm_predict_values``). Two
    classes: one pair, ``dual_coef[0]`` throughout.
    """
    starts = np.concatenate([[0], np.cumsum(n_support)])
    n_classes = len(n_support)
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    coef = np.zeros((len(pairs), dual_coef.shape[1]))
    for p, (i, j) in enumerate(pairs):
        coef[p, starts[i]:starts[i + 1]] = dual_coef[j - 1, starts[i]:starts[i + 1]]
        coef[p, starts[j]:starts[j + 1]] = dual_coef[i, starts[j]:starts[j + 1]]
    return pairs, coef


class SVMEngine:
    """Waveforms, or dB mel frames, -> an exported SVM pipeline's probabilities.

    Not thread-safe: it writes into buffers of its own.

    Parameters
    ----------
    params : dict
        ``n_fft``, ``hop_length``, ``top_db`` (or None), ``stats``, ``kernel``
        ("rbf", "linear", "poly" or "sigmoid"), ``gamma``, ``coef0``, ``degree``,
        ``n_classes``, ``decision_function_shape``.
    arrays : dict of ndarray
        ``window``, ``mel_basis``, ``dct``, ``mean``, ``scale``,
        ``support_vectors``, ``dual_coef``, ``intercept``, ``n_support``,
        ``calibration_a``, ``calibration_b``.
    n_samples : int
        Length of every waveform.

    Attributes
    ----------
    n_frames : int
        Frames of each window's map.

    See Also
    --------
    sk_cry.models._svm_parts.svm_parts : Makes ``params`` and ``arrays``.

    Examples
    --------
    >>> from sk_cry import make_svm_pipeline
    >>> from sk_cry.datasets import make_cries
    >>> from sk_cry.models._svm_parts import svm_parts
    >>> X, y = make_cries(30, duration=1.0, random_state=0)
    >>> pipe = make_svm_pipeline(duration=1.0).fit(X, y)
    >>> engine = SVMEngine(*svm_parts(pipe), n_samples=X.shape[1])
    >>> bool(np.allclose(engine(X[0]), pipe.predict_proba(X[:1])[0], atol=1e-5))
    True
    """

    def __init__(self, params, arrays, n_samples):
        self.spectrum = MelSpectrum(
            n_samples, n_fft=int(params["n_fft"]), hop_length=int(params["hop_length"]),
            window=np.asarray(arrays["window"], np.float32),
            mel_basis=np.asarray(arrays["mel_basis"], np.float32), rfft=best_rfft())
        self.n_frames = self.spectrum.n_frames
        self.top_db = params["top_db"]
        self.dct = np.asarray(arrays["dct"], np.float32)
        self.mel = np.empty((self.dct.shape[1], self.n_frames), np.float32)
        # (1, bands, frames): the shape TimePooling reduces, so the same float32 sums
        self.mfcc = np.empty((1, self.dct.shape[0], self.n_frames), np.float32)
        self.stats = [_STATS[s] for s in params["stats"]]
        self.mean = np.asarray(arrays["mean"], np.float32)
        self.scale = np.asarray(arrays["scale"], np.float32)
        self.kernel, self.gamma = params["kernel"], float(params["gamma"])
        if self.kernel not in ("rbf", "linear", "poly", "sigmoid"):
            raise ParameterError(f"kernel {self.kernel!r} is not one SVMEngine runs "
                                 "(rbf, linear, poly, sigmoid); export the model again")
        self.coef0, self.degree = float(params["coef0"]), int(params["degree"])
        self.vectors = np.asarray(arrays["support_vectors"], np.float64)
        self.pairs, self.coef = _pair_coefficients(
            np.asarray(arrays["dual_coef"], np.float64), np.asarray(arrays["n_support"]))
        self.intercept = np.asarray(arrays["intercept"], np.float64)
        self.n_classes = int(params["n_classes"])
        self.ovr = params["decision_function_shape"] == "ovr" and self.n_classes > 2
        self.a = np.asarray(arrays["calibration_a"], np.float64)
        self.b = np.asarray(arrays["calibration_b"], np.float64)

    def __call__(self, clip):
        """The class probabilities, ``(n_classes,)`` float64, of one float32
        waveform of ``n_samples``."""
        log_power(self.spectrum.power(clip, self.mel))
        return self._proba()

    def from_db(self, db):
        """The class probabilities of a window whose dB mel frames (``log_power``
        of the mel power, no ``top_db`` floor yet; shape ``(n_mels, n_frames)``)
        were computed once for a whole recording
        (:class:`~sk_cry.core.FrameWindows`)."""
        self.mel[...] = db
        return self._proba()

    def decision_function(self, x):
        """``SVC.decision_function`` of one scaled feature vector ``x``: a scalar
        for two classes, else ``(n_classes,)`` ("ovr") or ``(n_pairs,)`` ("ovo")."""
        if self.kernel == "rbf":
            diff = self.vectors - x
            k = np.exp(-self.gamma * np.einsum("ij,ij->i", diff, diff))
        elif self.kernel == "linear":
            k = self.vectors @ x
        elif self.kernel == "poly":
            k = (self.gamma * (self.vectors @ x) + self.coef0) ** self.degree
        else:  # "sigmoid", checked in __init__
            k = np.tanh(self.gamma * (self.vectors @ x) + self.coef0)
        dec = self.coef @ k + self.intercept
        if not self.ovr:
            return dec[0] if self.n_classes == 2 else dec
        # sklearn.utils.multiclass._ovr_decision_function: votes, ties broken by
        # the summed confidences squashed into (-1/3, 1/3)
        votes, confidence = np.zeros(self.n_classes), np.zeros(self.n_classes)
        for (i, j), d in zip(self.pairs, dec):
            confidence[i] += d
            confidence[j] -= d
            votes[j if d < 0 else i] += 1
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def _proba(self):
        peak = floor_db(self.mel, self.top_db)
        if not np.isfinite(peak):
            raise AudioLoadError("clip", "contains NaN or infinite samples (or values "
                                 "too large for a float32 power spectrum); drop or "
                                 "repair it")
        np.matmul(self.dct, self.mel, out=self.mfcc[0])
        pooled = np.concatenate([stat(self.mfcc, axis=2) for stat in self.stats], axis=1)
        pooled -= self.mean
        pooled /= self.scale
        dec = np.atleast_1d(self.decision_function(pooled[0].astype(np.float64)))
        # _SigmoidCalibration.predict: expit(-(a * f + b)), calibrator k on column k
        with np.errstate(over="ignore"):  # exp -> inf: a probability of exactly 0
            p = 1 / (1 + np.exp(self.a * dec[:len(self.a)] + self.b))
        if self.n_classes == 2:
            proba = np.array([1 - p[0], p[0]])
        else:
            total = p.sum()  # every calibrator at 0: sklearn's uniform distribution
            proba = p / total if total else np.full(self.n_classes, 1 / self.n_classes)
        proba[(1 < proba) & (proba <= 1 + 1e-5)] = 1.0  # as sklearn: round-off above 1
        return proba
