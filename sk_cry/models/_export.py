"""Export a fitted CNN or SVM pipeline to a bundle that :mod:`sk_cry.runtime` runs."""

import librosa
import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .. import __version__
from ..core import EVENT_HOP, dct_matrix, hann_window
from ..exceptions import ParameterError
from ..features import FeatureScaler, MFCCMelExtractor, band_layout
from ..io import AudioLoader
from ..runtime import write_bundle

__all__ = ["EXPORT_MAX_WEIGHTS", "QUANTIZE_MAX_CLIPS", "export"]

#: Networks above this many weights are not exported: converting one costs
#: memory and minutes that grow with it (the reference topology's 51 M weights:
#: 55 s and 7 GB to convert, a 205 MB flatbuffer; the default network's 24 k:
#: under a second and about 100 KB).
EXPORT_MAX_WEIGHTS = 2_000_000

#: Clips of ``representative`` that int8 quantization reads activation ranges
#: off: TensorFlow's guidance is 100 to 500; more only takes longer.
QUANTIZE_MAX_CLIPS = 300


def _is_cnn(pipeline):
    steps = getattr(pipeline, "steps", None)
    kinds = [AudioLoader, MFCCMelExtractor, FeatureScaler]
    return bool(steps) and len(steps) == 4 and all(
        isinstance(s, k) for (_, s), k in zip(steps, kinds)) and \
        hasattr(steps[3][1], "input_bands")


def _refuse(pipeline, why):
    steps = getattr(pipeline, "steps", None)
    shown = [type(s).__name__ for _, s in steps] if steps else type(pipeline).__name__
    return ParameterError(
        f"only a CNN pipeline (AudioLoader, MFCCMelExtractor, FeatureScaler, "
        f"CryCNNClassifier: what make_cnn_pipeline builds) or an SVM pipeline "
        f"({why}) can be exported, got {shown}; any other pipeline runs where "
        "scikit-learn does: keep it with sk_cry.save")


def _loader_settings(loader):
    """How the runtime reads files: as the pipeline's ``AudioLoader`` did."""
    return {"sr": int(loader.sr), "duration": float(loader.duration),
            "max_bandwidth": (None if loader.max_bandwidth is None
                              else float(loader.max_bandwidth))}


def _labels(classes):
    labels = np.asarray(classes).tolist()
    if not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in labels):
        raise ParameterError(f"class labels must be str or int to be exported, got "
                             f"{labels!r}; fit on str or int labels")
    return labels


def _detection_settings(detection, window):
    """``detection`` checked: ``{"hop": seconds, "rules": EventRules fields}``."""
    from ..core import EventRules

    unknown = set(detection) - {"hop", "rules"}
    hop = detection.get("hop", window * EVENT_HOP)
    if unknown or not (isinstance(hop, (int, float)) and 0 < hop <= window):
        raise ParameterError(f"detection must hold 'hop' (seconds, above 0 and at most "
                             f"the window, {window:g} s) and 'rules' (EventRules "
                             f"fields), got {detection!r}")
    rules = EventRules.from_dict(dict(detection.get("rules") or {}))
    return {"hop": float(hop), "rules": rules.to_dict()}


def export(pipeline, path, *, detection=None, quantize=None, representative=None):
    """Write a fitted CNN or SVM pipeline as a bundle that runs without
    TensorFlow or scikit-learn.

    The bundle is one file (a ZIP archive of plain data, no pickle): a CNN's
    network as a LiteRT flatbuffer, or an SVM's support vectors, dual
    coefficients, intercepts, kernel parameters and sigmoid calibration; the
    loader's and the front end's parameters and the class names as JSON; the
    STFT window, mel filter bank, DCT rows and the scaler's statistics as
    ``.npy`` arrays; a manifest with the format version, the sk_cry version and
    the SHA-256 of every member. Load it with
    :func:`sk_cry.runtime.load`, which needs only numpy, soundfile, soxr and
    ``ai_edge_litert`` (``pip install sk-cry``, no extra) and gives the
    pipeline's probabilities to about 1e-6.

    Parameters
    ----------
    pipeline : CryPipeline
        A fitted :func:`~sk_cry.make_cnn_pipeline` pipeline, any parameters, or
        a fitted :func:`~sk_cry.make_svm_pipeline` pipeline with its default
        calibrated SVC (any kernel but a precomputed one, any ``C``, ``gamma``).
    path : str or path-like
        Where to write it (by convention ``*.skcry-bundle``).
    detection : dict or None, default=None
        For a cry detector: ``hop`` (seconds between windows) and ``rules``
        (the fields of :class:`~sk_cry.core.EventRules`) that
        :meth:`~sk_cry.runtime.BundleModel.detect` uses when not told
        otherwise.
    quantize : {None, "int8"}, default=None
        ``"int8"``: the CNN's network is quantized after training (int8
        weights and activations, float32 inputs and outputs), which needs
        ``representative``. The bundle is smaller and its probabilities differ
        from the float network's by a few hundredths
        (``benchmarks/quantize.py``). An SVM has no network to quantize.
    representative : array-like or None, default=None
        Clips from the training data, in the form ``pipeline.fit`` took them
        (file paths or waveforms): the range of each activation is read off
        them. At most :data:`QUANTIZE_MAX_CLIPS` are used (an even spread over
        the rest).

    Returns
    -------
    manifest : dict
        What was written: format version, versions, sizes and hashes.

    Raises
    ------
    ParameterError
        If the pipeline is neither (another classifier, an uncalibrated SVC),
        its network has more than :data:`EXPORT_MAX_WEIGHTS` weights, its
        class labels are neither str nor int, or ``quantize`` is not None or
        "int8", asked of an SVM, or without ``representative`` (or
        ``representative`` without it).
    sklearn.exceptions.NotFittedError
        If it is not fitted.

    Examples
    --------
    >>> import sk_cry
    >>> sk_cry.export(pipe, "cry.skcry-bundle")            # doctest: +SKIP
    >>> sk_cry.runtime.load("cry.skcry-bundle").predict(["clip.wav"])  # doctest: +SKIP
    """
    if quantize not in (None, "int8"):
        raise ParameterError(f"quantize must be None (a float network) or 'int8', got "
                             f"{quantize!r}")
    if quantize is None and representative is not None:
        raise ParameterError("representative clips are read only to quantize: pass "
                             "quantize='int8' with them, or leave them out")
    if detection is not None:
        loader = getattr(pipeline, "steps", [(None, None)])[0][1]
        detection = _detection_settings(detection, float(getattr(loader, "duration", 0)))
    if not _is_cnn(pipeline):
        if quantize is not None:
            raise ParameterError("quantize='int8' quantizes a CNN's network; an SVM "
                                 "pipeline has none (its bundle runs on numpy): "
                                 "export it with quantize=None")
        return _export_svm(pipeline, path, detection)
    loader, features, scaler, cnn = [s for _, s in pipeline.steps]
    try:
        check_is_fitted(scaler)
        check_is_fitted(cnn)
    except NotFittedError as exc:
        raise NotFittedError("the pipeline is not fitted: fit it before exporting "
                             "it") from exc
    n_weights = cnn.model_.count_params()
    if n_weights > EXPORT_MAX_WEIGHTS:
        raise ParameterError(
            f"the network has {n_weights:,} weights, more than the "
            f"{EXPORT_MAX_WEIGHTS:,} sk_cry exports (converting the reference "
            "topology's 51 M takes 7 GB of memory and a minute, for a 205 MB "
            "file no small device should load); export a smaller network, such as "
            "make_cnn_pipeline()'s default")
    if quantize is not None:
        representative = _representative(pipeline, representative)
    from ._lite import to_flatbuffer  # TensorFlow

    bands = band_layout(features.n_mfcc, features.n_mels)
    mel = librosa.filters.mel(sr=features.sr, n_fft=features.n_fft,
                              n_mels=features.n_mels).astype(np.float32)
    model = {
        "kind": "cnn",
        "classes": _labels(pipeline.classes_),
        "loader": _loader_settings(loader),
        "front_end": {"n_fft": int(features.n_fft),
                      "hop_length": int(features.hop_length),
                      "top_db": None if features.top_db is None else float(features.top_db),
                      "input_bands": [int(b) for b in bands]},
    }
    if detection is not None:
        model["detection"] = detection
    if quantize is not None:
        model["quantization"] = quantize
    arrays = {"window": hann_window(features.n_fft), "mel_basis": mel,
              "dct": dct_matrix(features.n_mels, bands[0]),
              "mean": np.asarray(scaler.mean_, np.float64),
              "scale": np.asarray(scaler.scale_, np.float64)}
    network = to_flatbuffer(cnn.model_, representative)
    return write_bundle(path, network=network, model=model, arrays=arrays,
                        sk_cry_version=__version__)


def _representative(pipeline, X):
    """The network's inputs for at most ``QUANTIZE_MAX_CLIPS`` of the clips ``X``
    (spread evenly over them): the pipeline's own steps up to the network."""
    n = 0 if X is None else len(X)
    if n == 0:
        raise ParameterError("quantize='int8' needs representative clips from the "
                             "training data (representative=paths or waveforms, "
                             f"{QUANTIZE_MAX_CLIPS} are used at most): int8 ranges are "
                             "read off them")
    keep = np.unique(np.linspace(0, n - 1, min(n, QUANTIZE_MAX_CLIPS)).round()
                     .astype(int))
    X = [X[i] for i in keep] if isinstance(X, (list, tuple)) else np.asarray(X)[keep]
    cnn = pipeline.steps[-1][1]
    maps = pipeline[:-1].transform(X)
    parts = cnn.feature_encoder_.transform(maps)
    return [np.ascontiguousarray(part, np.float32) for part in parts]


def _export_svm(pipeline, path, detection):
    from ._svm_parts import svm_parts

    try:
        params, arrays = svm_parts(pipeline)
    except ParameterError as exc:
        last = getattr(pipeline, "steps", [(None, None)])[-1][1]
        if type(last).__name__ in ("SVC", "CalibratedClassifierCV"):
            raise  # an SVM pipeline: its own message says what differs
        raise _refuse(pipeline, "make_svm_pipeline() with probability=True") from exc
    loader = pipeline.steps[0][1]
    model = {
        "kind": "svm",
        "classes": _labels(pipeline.classes_),
        "loader": _loader_settings(loader),
        "svm": params,
    }
    if detection is not None:
        model["detection"] = detection
    return write_bundle(path, model=model, arrays=arrays, sk_cry_version=__version__)
