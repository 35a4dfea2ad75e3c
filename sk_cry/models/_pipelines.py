"""Ready-made pipelines: file paths in, cry labels out."""

from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..core import DURATION, HOP_LENGTH, N_FFT, N_MELS, N_MFCC, SR
from ..exceptions import ParameterError
from ..features import (
    FeatureScaler,
    MFCCExtractor,
    MFCCMelExtractor,
    TimePooling,
    band_layout,
)
from ..io import AudioLoader

__all__ = ["CryPipeline", "make_cnn_pipeline", "make_svm_pipeline"]


class CryPipeline(Pipeline):
    """A scikit-learn ``Pipeline`` that checks, at ``fit``, that its steps agree.

    The loader's ``sr`` must be the extractor's (a mel filter bank built for
    16 kHz on 8 kHz waveforms gives wrong maps without any error), and the band
    counts the extractor makes must be the scaler's ``n_bands``, the pooling's
    ``n_bands`` and the CNN's ``input_bands``. So
    ``pipe.set_params(features__n_mels=64)`` raises a
    :class:`~sk_cry.ParameterError` at ``fit`` that says which steps disagree,
    instead of training on a silently mis-split layout; build the pipeline with
    :func:`make_cnn_pipeline` (``n_mfcc=``, ``n_mels=``, ``sr=``) to change them.
    Everything else is :class:`sklearn.pipeline.Pipeline`.
    """

    def fit(self, X, y=None, **params):
        self.check_steps()
        return super().fit(X, y, **params)

    def fit_transform(self, X, y=None, **params):
        self.check_steps()
        return super().fit_transform(X, y, **params)

    def fit_predict(self, X, y=None, **params):
        self.check_steps()
        return super().fit_predict(X, y, **params)

    def check_steps(self):
        """Raise :class:`~sk_cry.ParameterError` if the steps disagree on the
        sample rate or the band layout."""
        loader = extractor = None
        for name, step in self.steps:
            if isinstance(step, AudioLoader):
                loader = name, step
            elif hasattr(step, "get_band_counts"):
                extractor = name, step
                if loader is not None and loader[1].sr != step.sr:
                    raise ParameterError(
                        f"{loader[0]}__sr={loader[1].sr} but {name}__sr={step.sr}: the "
                        "extractor would read the waveforms at the wrong rate; set both "
                        "to one value (make_cnn_pipeline(sr=...) does)"
                    )
            elif extractor is not None:
                self._check_bands(extractor, name, step)

    @staticmethod
    def _check_bands(extractor, name, step):
        source, ext = extractor
        bands = ext.get_band_counts()
        if isinstance(step, (FeatureScaler, TimePooling)):
            param, given, expected = "n_bands", step.n_bands, sum(bands)
            if isinstance(step, FeatureScaler) and given is None:
                return  # one statistic per column fits any layout
        elif hasattr(step, "input_bands"):  # the CNN, without importing TensorFlow
            param, given, expected = "input_bands", tuple(step.input_bands), tuple(bands)
        else:
            return
        if given != expected:
            raise ParameterError(
                f"the {source} step makes maps of {' + '.join(map(str, bands))} bands "
                f"(n_mfcc={getattr(ext, 'n_mfcc', None)}, n_mels={ext.n_mels}), but "
                f"{name}__{param}={given!r}; build the pipeline with "
                "make_cnn_pipeline(n_mfcc=..., n_mels=...) (or make_svm_pipeline), or "
                f"set {name}__{param}={expected!r}"
            )


def make_cnn_pipeline(
    *, sr=SR, duration=DURATION, max_bandwidth=None, n_fft=N_FFT, hop_length=HOP_LENGTH,
    n_mfcc=N_MFCC, n_mels=N_MELS, memory=None, n_jobs=None, **cnn_params,
):
    """The reference classifier as one sklearn Pipeline taking file paths.

    Steps (addressable by ``GridSearchCV`` as ``<step>__<param>``)::

        loader    AudioLoader              paths -> waveforms
        features  MFCCMelExtractor         waveforms -> [MFCC map | log-mel map]
        scaler    FeatureScaler            per-band standardisation (train only)
        cnn       CryCNNClassifier         one residual branch per map

    Calling it imports TensorFlow (the CNN's).

    Parameters
    ----------
    sr, duration, max_bandwidth : see :class:`~sk_cry.AudioLoader`
    n_fft, hop_length, n_mfcc, n_mels : see :class:`~sk_cry.MFCCMelExtractor`
        The band counts are also given to the scaler and the CNN; change them
        here: a :class:`CryPipeline` whose steps disagree raises at ``fit``.
    memory : str, joblib.Memory or None, default=None
        Cache of the fitted transformer steps (sklearn's ``Pipeline(memory=)``)
        and of the extractor's maps, so that a grid search over CNN parameters
        extracts the features of each fold once, not once per candidate.
    n_jobs : int or None, default=None
        Parallel file decoding in the loader and threads in the extractor.
    **cnn_params
        Parameters of :class:`~sk_cry.CryCNNClassifier` (``epochs``,
        ``filters``, ``random_state``, ...); ``**REFERENCE_TOPOLOGY,
        **REFERENCE_TRAINING`` give the reference network and its training.

    Returns
    -------
    pipeline : CryPipeline

    Examples
    --------
    >>> from sk_cry import make_cnn_pipeline
    >>> pipe = make_cnn_pipeline(epochs=5, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['loader', 'features', 'scaler', 'cnn']
    """
    from ._estimator import CryCNNClassifier  # TensorFlow: only when asked for

    bands = band_layout(n_mfcc, n_mels)
    return CryPipeline(
        [
            ("loader", AudioLoader(sr, duration, max_bandwidth=max_bandwidth,
                                   n_jobs=n_jobs)),
            ("features", MFCCMelExtractor(sr, n_mfcc=n_mfcc, n_fft=n_fft,
                                          hop_length=hop_length, n_mels=n_mels,
                                          n_jobs=n_jobs, memory=memory)),
            ("scaler", FeatureScaler(n_bands=sum(bands))),
            ("cnn", CryCNNClassifier(input_bands=bands, **cnn_params)),
        ],
        memory=memory,
    )


def make_svm_pipeline(
    *, sr=SR, duration=DURATION, max_bandwidth=None, n_fft=N_FFT, hop_length=HOP_LENGTH,
    n_mfcc=N_MFCC, n_mels=N_MELS, classifier=None, probability=True, memory=None,
    n_jobs=None,
    **svc_params,
):
    """Baseline: MFCC mean and std over time, standardised, into an SVM.

    Steps: ``loader`` -> ``mfcc`` -> ``pool`` (:class:`~sk_cry.TimePooling`) ->
    ``scaler`` (``StandardScaler``) -> ``clf``. No TensorFlow.

    Parameters
    ----------
    sr, duration, max_bandwidth, n_fft, hop_length, n_mfcc, n_mels, memory, n_jobs :
        As in :func:`make_cnn_pipeline`.
    classifier : sklearn classifier or None, default=None
        Any classifier to put last; ``None`` builds ``SVC(**svc_params)`` with
        ``class_weight="balanced"`` unless given.
    probability : bool, default=True
        With the default SVC: wrap it in ``CalibratedClassifierCV(method="sigmoid",
        cv=5, ensemble=False)`` (one SVC on all training clips, a sigmoid fitted
        on its 5-fold out-of-fold scores), so that the pipeline has
        ``predict_proba`` and ``predict`` is its argmax. Measured on seed-cry
        (``benchmarks/svm_proba.py``): the log loss and balanced accuracy of
        ``SVC(probability=True)`` (deprecated in scikit-learn 1.9), never a
        ``predict`` that disagrees with the probabilities, about 0.6 ms more per
        clip. ``False`` keeps the bare SVC and its own votes (no
        ``predict_proba``); its steps are then ``clf__C``, ... instead of
        ``clf__estimator__C``, ...
    **svc_params
        Parameters of :class:`sklearn.svm.SVC`; only without ``classifier``.

    Returns
    -------
    pipeline : CryPipeline

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_cry import make_svm_pipeline
    >>> make_svm_pipeline(classifier=LogisticRegression()).steps[-1][0]
    'clf'
    """
    if classifier is None:
        classifier = SVC(**{"class_weight": "balanced", **svc_params})
        if probability:
            classifier = CalibratedClassifierCV(classifier, method="sigmoid", cv=5,
                                                ensemble=False)
    elif svc_params:
        raise TypeError(f"svc_params {sorted(svc_params)} given with a classifier")
    return CryPipeline(
        [
            ("loader", AudioLoader(sr, duration, max_bandwidth=max_bandwidth,
                                   n_jobs=n_jobs)),
            ("mfcc", MFCCExtractor(sr, n_mfcc=n_mfcc, n_fft=n_fft,
                                   hop_length=hop_length, n_mels=n_mels, n_jobs=n_jobs,
                                   memory=memory)),
            ("pool", TimePooling(n_bands=band_layout(n_mfcc, n_mels)[0])),
            ("scaler", StandardScaler()),
            ("clf", classifier),
        ],
        memory=memory,
    )
