"""Ready-made pipelines: file paths in, cry labels out."""

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..features import FeatureScaler, MFCCExtractor, MFCCMelExtractor, TimePooling
from ..io import AudioLoader
from ._cnn import CryCNNClassifier

__all__ = ["make_cnn_pipeline", "make_svm_pipeline"]


def make_cnn_pipeline(
    *, sr=16000, duration=6.0, max_bandwidth=None, n_fft=2048, hop_length=512,
    n_mfcc=13, n_mels=128, memory=None, n_jobs=None, **cnn_params,
):
    """The reference classifier as one sklearn Pipeline taking file paths.

    Steps (addressable by ``GridSearchCV`` as ``<step>__<param>``)::

        loader    AudioLoader              paths -> waveforms
        features  MFCCMelExtractor         waveforms -> [MFCC map | log-mel map]
        scaler    FeatureScaler            per-band standardisation (train only)
        cnn       CryCNNClassifier         one residual branch per map

    Parameters
    ----------
    sr, duration, max_bandwidth : see :class:`~sk_cry.AudioLoader`
    n_fft, hop_length, n_mfcc, n_mels : see :class:`~sk_cry.MFCCMelExtractor`
        The band counts are also given to the scaler and the CNN; change them
        here rather than through ``set_params`` on one step.
    memory : str, joblib.Memory or None, default=None
        Cache of the fitted transformer steps (sklearn's ``Pipeline(memory=)``)
        and of the extractor's maps, so that a grid search over CNN parameters
        extracts the features of each fold once, not once per candidate.
    n_jobs : int or None, default=None
        Parallel file decoding in the loader and threads in the extractor.
    **cnn_params
        Parameters of :class:`~sk_cry.CryCNNClassifier` (``epochs``,
        ``filters``, ``random_state``, ...); ``**REFERENCE_TOPOLOGY`` gives the
        reference network.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    Examples
    --------
    >>> from sk_cry import make_cnn_pipeline
    >>> pipe = make_cnn_pipeline(epochs=5, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['loader', 'features', 'scaler', 'cnn']
    """
    spectral = dict(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return Pipeline(
        [
            ("loader", AudioLoader(sr, duration, max_bandwidth=max_bandwidth,
                                   n_jobs=n_jobs)),
            ("features", MFCCMelExtractor(n_mfcc=n_mfcc, n_jobs=n_jobs, memory=memory,
                                          **spectral)),
            ("scaler", FeatureScaler(n_bands=min(n_mfcc, n_mels) + n_mels)),
            ("cnn", CryCNNClassifier(input_bands=(min(n_mfcc, n_mels), n_mels),
                                     **cnn_params)),
        ],
        memory=memory,
    )


def make_svm_pipeline(
    *, sr=16000, duration=6.0, max_bandwidth=None, n_fft=2048, hop_length=512,
    n_mfcc=13, n_mels=128, classifier=None, memory=None, n_jobs=None, **svc_params,
):
    """Baseline: MFCC mean and std over time, standardised, into an SVM.

    Steps: ``loader`` -> ``mfcc`` -> ``pool`` (:class:`~sk_cry.TimePooling`) ->
    ``scaler`` (``StandardScaler``) -> ``clf``.

    Parameters
    ----------
    sr, duration, max_bandwidth, n_fft, hop_length, n_mfcc, n_mels, memory, n_jobs :
        As in :func:`make_cnn_pipeline`.
    classifier : sklearn classifier or None, default=None
        Any classifier to put last; ``None`` builds ``SVC(**svc_params)`` with
        ``class_weight="balanced"`` unless given.
    **svc_params
        Parameters of :class:`sklearn.svm.SVC`; only without ``classifier``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_cry import make_svm_pipeline
    >>> make_svm_pipeline(classifier=LogisticRegression()).steps[-1][0]
    'clf'
    """
    if classifier is None:
        classifier = SVC(**{"class_weight": "balanced", **svc_params})
    elif svc_params:
        raise TypeError(f"svc_params {sorted(svc_params)} given with a classifier")
    n_bands = min(n_mfcc, n_mels)
    return Pipeline(
        [
            ("loader", AudioLoader(sr, duration, max_bandwidth=max_bandwidth,
                                   n_jobs=n_jobs)),
            ("mfcc", MFCCExtractor(sr, n_mfcc=n_mfcc, n_fft=n_fft,
                                   hop_length=hop_length, n_mels=n_mels, n_jobs=n_jobs,
                                   memory=memory)),
            ("pool", TimePooling(n_bands=n_bands)),
            ("scaler", StandardScaler()),
            ("clf", classifier),
        ],
        memory=memory,
    )
