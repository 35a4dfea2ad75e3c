"""Models: the dual-input residual CNN, baselines, and the pipelines around them."""

from ._cnn import REFERENCE_TOPOLOGY, CryCNNClassifier, build_residual_cnn
from ._pipelines import make_cnn_pipeline, make_svm_pipeline

__all__ = [
    "CryCNNClassifier",
    "REFERENCE_TOPOLOGY",
    "build_residual_cnn",
    "make_cnn_pipeline",
    "make_svm_pipeline",
]
