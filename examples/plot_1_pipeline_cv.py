"""
A pipeline on file paths, cross-validated
=========================================

sk_cry's estimators take **file paths** as ``X``: a pipeline reads the audio,
turns it into feature maps and classifies it, so cross-validation, grid search
and ``predict`` all work on a plain list of paths. This example writes synthetic
cries as WAV files, builds the two ready-made pipelines (the CNN and the SVM
baseline), scores them with scikit-learn's :func:`~sklearn.model_selection.cross_val_score`
and predicts new files.

Everything here runs on :func:`sk_cry.datasets.make_cries`, synthetic cries of
two classes, with short clips and few epochs, so that it runs in seconds; the
figures it prints say nothing about real recordings.
"""

# %%
# Synthetic cries, written as WAV files
# -------------------------------------
# :func:`~sk_cry.datasets.make_cries` returns waveforms and labels, like
# :func:`sklearn.datasets.make_classification`. :func:`~sk_cry.datasets.write_folder`
# writes them in one sub-folder per class, and
# :func:`~sk_cry.datasets.load_folder` reads a folder of recordings back as
# ``paths``, ``target`` and ``target_names``, as it would a folder of real ones.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sk_cry import make_cnn_pipeline, make_svm_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder
from sk_cry.features import log_mel_spectrogram

SR, DURATION = 16000, 1.5  # seconds per clip; the reference clips are 6 s

workdir = tempfile.TemporaryDirectory()  # every file of this example goes here
tmp = Path(workdir.name)

X, y = make_cries(48, duration=DURATION, random_state=0)
names = np.array(["other", "hungry"])  # class 0 and class 1 of make_cries
write_folder(X, y, tmp / "cries", sr=SR, target_names=names)
data = load_folder(tmp / "cries")
print(len(data.paths), "files, classes", data.target_names.tolist())
print(Path(data.paths[0]).relative_to(tmp))

# %%
# ``load_folder`` sorts the class names, so its ``target`` numbers them its own
# way: from here on the labels are ``data.target``, named by
# ``data.target_names``.

# %%
# What the classes look like
# --------------------------
# The classes differ in pitch, in the length of the cry units and of the pauses,
# and in how much the pitch rises and falls within a unit
# (:data:`~sk_cry.datasets.CRY_CLASSES`). The log-mel spectrogram is one of the
# two maps the CNN reads.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, label in zip(axes, [0, 1]):
    wave = X[np.flatnonzero(y == label)[0]]
    mel = log_mel_spectrogram(wave, sr=SR)
    ax.imshow(mel, origin="lower", aspect="auto", cmap="magma",
              extent=[0, DURATION, 0, mel.shape[0]])
    ax.set_title(f"class {names[label]}")
    ax.set_xlabel("time (s)")
axes[0].set_ylabel("mel band")
fig.tight_layout()

# %%
# The SVM baseline
# ----------------
# :func:`~sk_cry.make_svm_pipeline` pools MFCCs over time (mean and standard
# deviation) into an SVM. Its steps are an ordinary scikit-learn ``Pipeline``
# whose first step, :class:`~sk_cry.AudioLoader`, reads the files; the
# ``duration`` of the loader is the clip length the models see.
svm = make_svm_pipeline(duration=DURATION)
print([name for name, _ in svm.steps])

cv = StratifiedKFold(3, shuffle=True, random_state=0)
scores = cross_val_score(svm, data.paths, data.target, cv=cv,
                         scoring="balanced_accuracy")
print("SVM balanced accuracy per fold:", scores.round(3))

# %%
# The CNN
# -------
# :func:`~sk_cry.make_cnn_pipeline` reads an MFCC map and a log-mel map with one
# residual branch each (:class:`~sk_cry.CryCNNClassifier`, wrapped by scikeras).
# Its defaults are for real data (100 epochs with early stopping); here a small
# network trains for a few epochs on 32 clips per fold. Creating the pipeline
# imports TensorFlow.
cnn = make_cnn_pipeline(duration=DURATION, filters=8, epochs=15, batch_size=8,
                        learning_rate=3e-3, early_stopping=False, random_state=0)
print([name for name, _ in cnn.steps])

scores = cross_val_score(cnn, data.paths, data.target, cv=cv,
                         scoring="balanced_accuracy")
print("CNN balanced accuracy per fold:", scores.round(3))

# %%
# Fit, then predict new files
# ---------------------------
# ``predict`` returns labels of the type of ``y`` (ints here, so
# ``data.target_names`` names them); ``predict_proba`` has one column per class,
# in the order of ``classes_``.
cnn.fit(data.paths, data.target)

X_new, y_new = make_cries(4, duration=DURATION, random_state=1)
write_folder(X_new, y_new, tmp / "new", sr=SR, target_names=["other", "hungry"])
new = load_folder(tmp / "new")
print("predicted:", data.target_names[cnn.predict(new.paths)].tolist())
print("true:     ", new.target_names[new.target].tolist())
print(cnn.predict_proba(new.paths).round(3))

# %%
# A pipeline also takes waveforms: a 2-D array with one clip per row, at the
# loader's sample rate (here with make_cries's labels, 0 for "other").
svm.fit(X, y)
print("predicted:", names[svm.predict(X_new)].tolist())
print("true:     ", names[y_new].tolist())

# %%
workdir.cleanup()
