"""sk_cry: scikit-learn compatible infant-cry audio classification."""

from . import datasets
from .evaluation import audit, evaluate
from .exceptions import AudioLoadError, DatasetError, ParameterError, SkCryError
from .features import (
    FeatureScaler,
    MelExtractor,
    MFCCExtractor,
    MFCCMelExtractor,
    TimePooling,
)
from .io import AudioLoader
from .models import (
    REFERENCE_TOPOLOGY,
    REFERENCE_TRAINING,
    CryCNNClassifier,
    make_cnn_pipeline,
    make_svm_pipeline,
)

__version__ = "0.1.0"

__all__ = [
    "AudioLoadError",
    "AudioLoader",
    "CryCNNClassifier",
    "DatasetError",
    "FeatureScaler",
    "MFCCExtractor",
    "MFCCMelExtractor",
    "MelExtractor",
    "ParameterError",
    "REFERENCE_TOPOLOGY",
    "REFERENCE_TRAINING",
    "SkCryError",
    "TimePooling",
    "audit",
    "datasets",
    "evaluate",
    "make_cnn_pipeline",
    "make_svm_pipeline",
]
