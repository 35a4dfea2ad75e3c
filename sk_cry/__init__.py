"""sk_cry: scikit-learn compatible infant-cry audio classification.

Every public name loads on first use (``lazy_loader``, as librosa and
scikit-image do): ``import sk_cry`` imports neither scikit-learn nor librosa,
and only the CNN imports TensorFlow.
"""

import lazy_loader as lazy

from .exceptions import (
    AudioLoadError,
    DatasetError,
    ModelFileError,
    ModelVersionWarning,
    ParameterError,
    SkCryError,
    TruncatedAudioWarning,
)

__version__ = "0.1.0"

__getattr__, _, _lazy_all = lazy.attach(
    __name__,
    submodules=["datasets", "evaluation", "features", "io", "models"],
    submod_attrs={
        "evaluation": ["audit", "evaluate"],
        "features": [
            "FeatureScaler", "MelExtractor", "MFCCExtractor", "MFCCMelExtractor",
            "TimePooling",
        ],
        "io": ["AudioLoader"],
        "models": [
            "REFERENCE_TOPOLOGY", "REFERENCE_TRAINING", "CryCNNClassifier",
            "make_cnn_pipeline", "make_svm_pipeline", "predict_files", "save", "load",
        ],
    },
)

__all__ = sorted(
    set(_lazy_all) - {"features", "io", "models", "evaluation"}
    | {"AudioLoadError", "DatasetError", "ModelFileError", "ModelVersionWarning",
       "ParameterError", "SkCryError", "TruncatedAudioWarning"}
)


def __dir__():
    return sorted(set(_lazy_all) | set(__all__))
