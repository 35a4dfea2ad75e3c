"""sk_cry: scikit-learn compatible infant-cry audio classification.

Every public name loads on first use (PEP 562, as librosa and scikit-image do):
``import sk_cry`` imports neither scikit-learn nor librosa, only the CNN imports
TensorFlow, and ``sk_cry.runtime`` needs none of them.
"""

from ._lazy import attach
from .exceptions import (
    AudioLoadError,
    DatasetError,
    ModelFileError,
    ModelVersionWarning,
    ParameterError,
    SkCryError,
    TruncatedAudioWarning,
)

__version__ = "0.2.0.dev0"

__getattr__, _, _lazy_all = attach(__name__, {
    "": ["datasets", "evaluation", "features", "io", "models", "runtime"],
    ".evaluation": ["audit", "choose_model", "evaluate"],
    ".features": ["FeatureScaler", "MelExtractor", "MFCCExtractor", "MFCCMelExtractor",
                  "TimePooling"],
    ".io": ["AudioLoader"],
    ".models": ["REFERENCE_TOPOLOGY", "REFERENCE_TRAINING", "CryCNNClassifier",
                "detect", "export", "make_cnn_pipeline", "make_svm_pipeline", "predict_files",
                "predict_windows", "save", "load"],
})

__all__ = sorted(
    set(_lazy_all) - {"datasets", "features", "io", "models", "evaluation", "runtime"}
    | {"AudioLoadError", "DatasetError", "ModelFileError", "ModelVersionWarning",
       "ParameterError", "SkCryError", "TruncatedAudioWarning"}
)


def __dir__():
    return sorted(set(_lazy_all) | set(__all__))
