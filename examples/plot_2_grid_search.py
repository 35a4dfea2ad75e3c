"""
Grid search, and nested cross-validation
========================================

The steps of an sk_cry pipeline are addressable as ``<step>__<parameter>``, so
:class:`~sklearn.model_selection.GridSearchCV` tunes them as it tunes any
scikit-learn pipeline: here the SVM's ``C`` and ``gamma``, the number of MFCCs,
and a parameter of the CNN. The score of the best candidate of a grid search is
optimistic (the grid was chosen on those folds): nested cross-validation, at the
end, gives the figure to report.

A ``memory`` folder caches the features, so that the candidates of one fold
share one extraction instead of each reading and transforming the audio again.
"""

# %%
# Data and a cache
# ----------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from sk_cry import ParameterError, make_cnn_pipeline, make_svm_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder

SR, DURATION = 16000, 1.5

workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)
# class_sep=0.3: classes closer than make_cries's default, so that the
# parameters matter
X, y = make_cries(60, duration=DURATION, class_sep=0.3, noise=0.05, random_state=0)
write_folder(X, y, tmp / "cries", sr=SR)
data = load_folder(tmp / "cries")
cache = str(tmp / "cache")

# %%
# ``C`` and ``gamma`` of the SVM
# ------------------------------
# The SVM of :func:`~sk_cry.make_svm_pipeline` is wrapped in a
# :class:`~sklearn.calibration.CalibratedClassifierCV` (so that the pipeline has
# ``predict_proba``): its parameters are ``clf__estimator__<name>``.
svm = make_svm_pipeline(duration=DURATION, memory=cache)
grid = {"clf__estimator__C": [0.1, 1, 10, 100],
        "clf__estimator__gamma": ["scale", 0.01, 0.1, 1]}
cv = StratifiedKFold(3, shuffle=True, random_state=0)
search = GridSearchCV(svm, grid, cv=cv, scoring="balanced_accuracy").fit(
    data.paths, data.target)
print("best:", search.best_params_, f"{search.best_score_:.3f}")

# %%
# The mean score of each candidate over the folds:
scores = search.cv_results_["mean_test_score"].reshape(4, 4)
fig, ax = plt.subplots(figsize=(5, 3.8))
image = ax.imshow(scores, cmap="viridis", vmin=0.5, vmax=1.0)
ax.set_xticks(range(4), [str(g) for g in grid["clf__estimator__gamma"]])
ax.set_yticks(range(4), [str(c) for c in grid["clf__estimator__C"]])
ax.set_xlabel("gamma")
ax.set_ylabel("C")
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w")
fig.colorbar(image, label="balanced accuracy (3-fold mean)")
ax.set_title("SVM: C x gamma")
fig.tight_layout()

# %%
# The feature layout: steps that must agree
# -----------------------------------------
# The number of MFCCs is a parameter of the ``mfcc`` step, and the ``pool`` step
# must be told the same band count. A :class:`~sk_cry.models.CryPipeline` checks
# at ``fit`` that its steps agree, rather than training on a mis-split layout:
bad = make_svm_pipeline(duration=DURATION).set_params(mfcc__n_mfcc=20)
try:
    bad.fit(data.paths, data.target)
except ParameterError as exc:
    print(exc)

# %%
# So a grid over ``n_mfcc`` changes both, one dict per value:
grid = [{"mfcc__n_mfcc": [n], "pool__n_bands": [n]} for n in (13, 20, 30)]
search = GridSearchCV(make_svm_pipeline(duration=DURATION), grid, cv=cv,
                      scoring="balanced_accuracy").fit(data.paths, data.target)
for params, score in zip(search.cv_results_["params"],
                         search.cv_results_["mean_test_score"]):
    print(params["mfcc__n_mfcc"], "MFCCs:", f"{score:.3f}")

# %%
# A parameter of the CNN
# ----------------------
# The CNN's architecture and training are plain constructor parameters of
# :class:`~sk_cry.CryCNNClassifier`, ``cnn__<name>`` in the pipeline. With
# ``memory``, each fold's features are extracted once for both candidates.
# (Each CNN fit costs a few seconds of TensorFlow set-up whatever its epochs:
# two folds, and ``refit=False`` since no model is kept here.)
cnn = make_cnn_pipeline(duration=DURATION, filters=8, batch_size=8,
                        learning_rate=3e-3, early_stopping=False, random_state=0,
                        memory=cache)
search = GridSearchCV(cnn, {"cnn__epochs": [2, 25]},
                      cv=StratifiedKFold(2, shuffle=True, random_state=0),
                      scoring="balanced_accuracy", refit=False)
search.fit(data.paths, data.target)
for params, score in zip(search.cv_results_["params"],
                         search.cv_results_["mean_test_score"]):
    print(params, f"{score:.3f}")

# %%
# Nested cross-validation
# -----------------------
# ``best_score_`` above was measured on the folds that chose the parameters. To
# report how well *the procedure* (search, then refit) does on new clips, the
# search runs inside each outer training fold:
inner = StratifiedKFold(3, shuffle=True, random_state=1)
outer = StratifiedKFold(3, shuffle=True, random_state=2)
search = GridSearchCV(make_svm_pipeline(duration=DURATION, memory=cache),
                      {"clf__estimator__C": [0.1, 1, 10, 100]}, cv=inner,
                      scoring="balanced_accuracy")
nested = cross_val_score(search, data.paths, data.target, cv=outer,
                         scoring="balanced_accuracy")
print("nested balanced accuracy per outer fold:", nested.round(3))

# %%
# :func:`sk_cry.evaluate` takes such a search as its estimator, and adds an
# interval and a p-value against chance
# (:ref:`sphx_glr_auto_examples_plot_3_audit_evaluate.py`).

# %%
workdir.cleanup()
