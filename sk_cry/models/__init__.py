"""Models: the dual-input residual CNN, baselines, and the pipelines around them.

TensorFlow loads at the first use of a name that needs it (``CryCNNClassifier``,
``build_residual_cnn``, ``SpecAugment``, ``StatsPooling``, or calling
``make_cnn_pipeline``), not at import.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "_estimator": ["CryCNNClassifier"],
        "_files": ["FilePrediction", "predict_files"],
        "_network": ["build_residual_cnn"],
        "_persist": ["ModelFileError", "ModelVersionWarning", "load", "save"],
        "_pipelines": ["CryPipeline", "make_cnn_pipeline", "make_svm_pipeline"],
        "_reference": ["REFERENCE_TOPOLOGY", "REFERENCE_TRAINING"],
        "_training": ["SpecAugment", "StatsPooling"],
    },
)
