"""Models: the dual-input residual CNN, baselines, and the pipelines around them.

TensorFlow loads at the first use of a name that needs it (``CryCNNClassifier``,
``build_residual_cnn``, ``SpecAugment``, ``StatsPooling``, or calling
``make_cnn_pipeline``), not at import.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "._estimator": ["CryCNNClassifier"],
    "._export": ["export"],
    "._files": ["FilePrediction", "detect", "predict_files", "predict_windows"],
    "._network": ["build_residual_cnn"],
    "._persist": ["ModelFileError", "ModelVersionWarning", "load", "save"],
    "._pipelines": ["CryPipeline", "make_cnn_pipeline", "make_svm_pipeline"],
    "._reference": ["REFERENCE_TOPOLOGY", "REFERENCE_TRAINING"],
    "._training": ["SpecAugment", "StatsPooling"],
})
