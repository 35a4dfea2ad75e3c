"""A fitted SVM pipeline as plain data: what :class:`sk_cry.runtime._svm.SVMEngine`
needs to give its probabilities with numpy alone.

The parameters are JSON-able and the arrays are ``.npy``-able (no pickle), so
that they can travel in a bundle beside the CNN's (:mod:`sk_cry.runtime._bundle`).
"""

import librosa
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from ..core import dct_matrix, hann_window
from ..exceptions import ParameterError
from ..features import MFCCExtractor, TimePooling, band_layout
from ..io import AudioLoader

__all__ = ["svm_parts"]

_KERNELS = ("rbf", "linear", "poly", "sigmoid")
_EXPORTABLE = (
    "make_svm_pipeline() with probability=True (loader, mfcc, pool, scaler, then "
    "CalibratedClassifierCV(SVC(kernel='rbf', 'linear', 'poly' or 'sigmoid'), "
    "method='sigmoid', ensemble=False))"
)


def _refuse(what):
    return ParameterError(f"only {_EXPORTABLE} can be exported, got {what}")


def _steps(pipeline):
    """The five steps, checked for their kinds and settings (not their fit)."""
    steps = getattr(pipeline, "steps", None)
    kinds = [AudioLoader, MFCCExtractor, TimePooling, StandardScaler,
             CalibratedClassifierCV]
    if (not steps or len(steps) != len(kinds)
            or not all(type(s) is k for (_, s), k in zip(steps, kinds))):
        # type(...) is: an MFCCMelExtractor is an MFCCExtractor with other maps
        shown = [type(s).__name__ for _, s in steps] if steps else type(pipeline).__name__
        hint = ("; SVC(probability=False) has no probabilities to export: build it "
                "with make_svm_pipeline(probability=True), the default"
                if steps and isinstance(steps[-1][1], SVC) else "")
        raise _refuse(f"{shown}{hint}")
    loader, mfcc, pool, scaler, clf = (s for _, s in steps)
    svc = clf.estimator
    if not isinstance(svc, SVC) or clf.method != "sigmoid" or clf.ensemble is not False:
        hint = ("; ensemble=True averages one SVM per fold, which the runtime does "
                "not" if clf.ensemble is not False else "")
        raise _refuse(f"CalibratedClassifierCV(estimator={svc!r}, method={clf.method!r}, "
                      f"ensemble={clf.ensemble!r}){hint}")
    if not isinstance(svc.kernel, str) or svc.kernel not in _KERNELS:
        raise _refuse(f"kernel={svc.kernel!r}")
    n_mfcc = band_layout(mfcc.n_mfcc, mfcc.n_mels)[0]
    if pool.n_bands != n_mfcc:
        raise ParameterError(f"pool__n_bands={pool.n_bands} but the mfcc step makes "
                             f"{n_mfcc} bands; set pool__n_bands={n_mfcc} and fit again")
    return mfcc, pool, scaler, clf


def svm_parts(pipeline):
    """The parameters and arrays that reproduce a fitted SVM pipeline's
    ``predict_proba`` without scikit-learn, scipy or librosa.

    Parameters
    ----------
    pipeline : CryPipeline
        A fitted :func:`~sk_cry.make_svm_pipeline` pipeline with
        ``probability=True`` (the default): its SVC may have any ``C``,
        ``gamma``, ``class_weight`` and an ``rbf``, ``linear``, ``poly`` or
        ``sigmoid`` kernel; its pooling any of TimePooling's statistics.

    Returns
    -------
    params : dict
        JSON-able: ``kind`` ("svm"), ``sr``, ``n_fft``, ``hop_length``,
        ``top_db`` (float or None), ``n_mels``, ``n_mfcc``, ``stats`` (list of
        str), ``kernel``, ``gamma`` (the fitted value), ``coef0``, ``degree``,
        ``n_classes``, ``decision_function_shape`` ("ovr" or "ovo").
    arrays : dict of ndarray
        ``window`` (n_fft,), ``mel_basis`` (n_mels, n_fft // 2 + 1) and ``dct``
        (n_mfcc, n_mels), float32; ``mean`` and ``scale`` (n_features,), the
        scaler's; ``support_vectors`` (n_SV, n_features), ``dual_coef``
        (n_classes - 1, n_SV), ``intercept`` (n_classes * (n_classes - 1) / 2,),
        float64, sklearn's public ``SVC`` attributes (sign already flipped for
        two classes); ``n_support`` (n_classes,), int64; ``calibration_a`` and
        ``calibration_b`` (n_calibrators,), float64, each sigmoid's ``a_``, ``b_``.

    Raises
    ------
    ParameterError
        If the pipeline is not of that shape: another classifier, a bare SVC
        (``probability=False``), ``ensemble=True``, isotonic calibration, a
        precomputed or callable kernel.
    sklearn.exceptions.NotFittedError
        If it is not fitted.

    See Also
    --------
    sk_cry.runtime._svm.SVMEngine : Runs them.

    Examples
    --------
    >>> from sk_cry import make_svm_pipeline
    >>> from sk_cry.datasets import make_cries
    >>> X, y = make_cries(30, duration=1.0, random_state=0)
    >>> params, arrays = svm_parts(make_svm_pipeline(duration=1.0).fit(X, y))
    >>> params["kernel"], params["n_classes"], arrays["dct"].shape
    ('rbf', 2, (13, 128))
    """
    mfcc, pool, scaler, clf = _steps(pipeline)
    try:
        check_is_fitted(scaler)
        check_is_fitted(clf)
    except NotFittedError as exc:
        raise NotFittedError("the pipeline is not fitted: fit it before taking its "
                             "parts") from exc
    calibrated, = clf.calibrated_classifiers_  # ensemble=False: one SVC on all clips
    svc = calibrated.estimator
    n_mfcc = band_layout(mfcc.n_mfcc, mfcc.n_mels)[0]
    n_features = scaler.n_features_in_
    params = {
        "kind": "svm", "sr": int(mfcc.sr), "n_fft": int(mfcc.n_fft),
        "hop_length": int(mfcc.hop_length),
        "top_db": None if mfcc.top_db is None else float(mfcc.top_db),
        "n_mels": int(mfcc.n_mels), "n_mfcc": int(n_mfcc),
        "stats": [str(s) for s in pool.stats],
        "kernel": svc.kernel, "gamma": float(svc._gamma), "coef0": float(svc.coef0),
        "degree": int(svc.degree), "n_classes": len(svc.classes_),
        "decision_function_shape": svc.decision_function_shape,
    }
    arrays = {
        "window": hann_window(mfcc.n_fft),
        "mel_basis": librosa.filters.mel(sr=mfcc.sr, n_fft=mfcc.n_fft,
                                         n_mels=mfcc.n_mels).astype(np.float32),
        "dct": dct_matrix(mfcc.n_mels, n_mfcc),
        # StandardScaler(with_mean=False) or (with_std=False): 0 and 1 change nothing
        "mean": (np.asarray(scaler.mean_, np.float64) if scaler.with_mean
                 else np.zeros(n_features)),
        "scale": (np.asarray(scaler.scale_, np.float64) if scaler.with_std
                  else np.ones(n_features)),
        "support_vectors": np.asarray(svc.support_vectors_, np.float64),
        "dual_coef": np.asarray(svc.dual_coef_, np.float64),
        "intercept": np.asarray(svc.intercept_, np.float64),
        "n_support": np.asarray(svc.n_support_, np.int64),
        "calibration_a": np.asarray([c.a_ for c in calibrated.calibrators], np.float64),
        "calibration_b": np.asarray([c.b_ for c in calibrated.calibrators], np.float64),
    }
    return params, arrays
