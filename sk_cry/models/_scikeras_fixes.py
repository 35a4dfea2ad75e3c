"""Repairs for scikeras 0.13 (its last release) under newer TensorFlow and sklearn.

Each repair names the versions and the symptom it was written for; remove it once
the symptom no longer appears with the pinned versions.
"""

from contextlib import contextmanager

import numpy as np
from sklearn.utils import ClassifierTags
from tensorflow.python.framework import config as tf_config

__all__ = ["ScikerasFixes"]


@contextmanager
def _op_determinism_restored():
    """Leave TensorFlow's global op-determinism switch as it was found.

    scikeras 0.13 turns determinism on for a seeded fit and means to turn it off
    afterwards, but it asks ``is_op_determinism_enabled`` after setting
    ``TF_DETERMINISTIC_OPS=1``, which TF 2.21 reads as "already on": the switch
    stays on, and every later unseeded fit in the process fails with "Random ops
    require a seed" (seen with TF 2.21, Keras 3.15).
    """
    was_enabled = tf_config.is_op_determinism_enabled()
    try:
        yield
    finally:
        if not was_enabled:
            tf_config.disable_op_determinism()


class ScikerasFixes:
    """Mixin placed before ``KerasClassifier`` in the bases of an estimator."""

    def fit(self, X, y, sample_weight=None, **kwargs):
        with _op_determinism_restored():
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        with _op_determinism_restored():
            return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight,
                                       **kwargs)

    def _decoded_proba(self, outputs):
        """Probabilities from the target encoder, always 2-D.

        scikeras 0.13 squeezes the result for a single sample to ``(n_classes,)``.
        """
        proba = self.target_encoder_.inverse_transform(outputs, return_proba=True)
        return np.asarray(proba).reshape(-1, len(self.classes_))

    def __sklearn_tags__(self):
        # scikeras 0.13 defines only the old `_more_tags` and puts ClassifierMixin
        # after BaseEstimator in its bases, so sklearn >= 1.6 sees no classifier:
        # `is_classifier` is False and `cross_val_score(cv=3)` silently uses
        # KFold instead of StratifiedKFold. Declare the tags here.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        tags.input_tags.sparse = False
        return tags
