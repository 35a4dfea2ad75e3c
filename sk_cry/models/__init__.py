"""Models: the dual-input residual CNN, baselines, and the pipelines around them."""

from ._cnn import (
    REFERENCE_TOPOLOGY,
    REFERENCE_TRAINING,
    CryCNNClassifier,
    build_residual_cnn,
)
from ._training import SpecAugment, StatsPooling
from ._pipelines import make_cnn_pipeline, make_svm_pipeline

__all__ = [
    "CryCNNClassifier",
    "REFERENCE_TOPOLOGY",
    "REFERENCE_TRAINING",
    "SpecAugment",
    "StatsPooling",
    "build_residual_cnn",
    "make_cnn_pipeline",
    "make_svm_pipeline",
]
