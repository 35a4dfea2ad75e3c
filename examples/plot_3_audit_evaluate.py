"""
Honest evaluation: audit first, then grouped, chance-aware CV
=============================================================

A model can score well for the wrong reason. In the reference data every
*hungry* clip is 8 kHz audio from one corpus and every other clip 16 kHz audio
from another, so a model can reach ~100 % by hearing the recording source
instead of the cry. This example builds two small data sets with such traps,
on purpose, from synthetic cries **that carry no information about the label**
(``class_sep=0``):

1. a *source shortcut*: the two classes come from two "devices" (8 kHz, and
   16 kHz with a hiss above 4 kHz), as in the reference data;
2. *families*: each family's clips share a baby's voice and a label, so that a
   split that puts one family on both sides rewards recognising the baby.

:func:`sk_cry.audit` finds the first before any training, and
:func:`sk_cry.evaluate` says whether a score is distinguishable from chance,
with folds that keep groups apart.
"""

# %%
# A data set with a source shortcut
# ---------------------------------
# The cries are the same for both classes (``class_sep=0``); only the way they
# were recorded differs.
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf
import soxr

from sk_cry import audit, evaluate, make_svm_pipeline
from sk_cry.datasets import make_cries

DURATION = 1.5
workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)
rng = np.random.default_rng(0)  # the hiss, and the families' voices


def hiss_above_4k(n, level):
    """White noise with everything below 4 kHz removed (a 16-kHz device's hiss)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[: n // 4] = 0  # bins below sr / 4 = 4 kHz
    noise = np.fft.irfft(spectrum, n)
    return level * noise / noise.std()


X, _ = make_cries(40, sr=8000, duration=DURATION, class_sep=0, random_state=0)
paths, labels = [], []
for i, clip in enumerate(X):
    label = "hungry" if i % 2 else "other"
    if label == "hungry":  # device A: 8 kHz
        path, rate = tmp / "source" / f"hungry_{i:02d}.wav", 8000
    else:  # device B: 16 kHz, with its own hiss
        clip = soxr.resample(clip, 8000, 16000)
        clip = clip + hiss_above_4k(clip.size, 0.01)
        path, rate = tmp / "source" / f"other_{i:02d}.wav", 16000
    path.parent.mkdir(exist_ok=True)
    sf.write(path, clip, rate, subtype="PCM_16")
    paths.append(str(path))
    labels.append(label)

# and one clip filed twice, under both labels
copy = tmp / "source" / "other_copy.wav"
shutil.copy(paths[1], copy)
paths.append(str(copy))
labels.append("other")
labels = np.array(labels)

# %%
# The audit
# ---------
# :func:`~sk_cry.audit` checks whether a recording property alone predicts the
# label (a one-threshold classifier on it, cross-validated), and looks for
# duplicated audio, also re-encoded, trimmed or rescaled. It reads the files
# once and trains nothing.
report = audit(paths, labels)
print(report)

# %%
# Each finding has a ``kind``, a ``severity`` and the ``files`` involved:
for finding in report.by_kind("duplicate"):
    print([Path(f).name for f in finding.files])

# %%
# Chance-aware cross-validation
# -----------------------------
# :func:`~sk_cry.evaluate` cross-validates the pipeline and reports the balanced
# accuracy of the pooled out-of-fold predictions, its 95 % interval (bootstrap),
# the chance level, a permutation p-value and a verdict. As recorded, the SVM
# hears the devices (the duplicate is dropped first, as the audit advises):
paths, labels = paths[:-1], labels[:-1]
as_recorded = evaluate(make_svm_pipeline(duration=DURATION), paths, labels, cv=4)
print(as_recorded)

# %%
# Cutting every clip to the band they share, 4 kHz (``max_bandwidth=4000``, an
# :class:`~sk_cry.AudioLoader` parameter), takes the hiss away; what is left, the
# cries, says nothing about the label, and the verdict says so:
band_matched = evaluate(make_svm_pipeline(duration=DURATION, max_bandwidth=4000),
                        paths, labels, cv=4)
print(band_matched)

# %%
# Families: why folds must keep groups apart
# ------------------------------------------
# Eight families of six clips each. A family's clips share a label and the
# baby's voice (all its cries pitched up or down by one factor, by resampling);
# which family has which label is arbitrary, and the cries themselves again
# carry no information about it.
n_families, per_family, sr = 8, 6, 16000
n = int(sr * DURATION)
X, _ = make_cries(n_families * per_family, sr=sr, duration=2 * DURATION,
                  class_sep=0, random_state=1)
voices = rng.permutation(np.geomspace(0.55, 1.8, n_families))
family_paths, family_labels, families = [], [], []
for k in range(n_families):
    for j in range(per_family):
        # played voices[k] times faster: pitch times voices[k]
        clip = soxr.resample(X[k * per_family + j], sr * voices[k], sr)[:n]
        path = tmp / "families" / f"family{k:02d}_{j}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, clip, sr, subtype="PCM_16")
        family_paths.append(str(path))
        family_labels.append("hungry" if k % 2 else "other")
        families.append(f"family{k:02d}")

# %%
# Without groups, a family's clips land on both sides of a split, and the
# model is rewarded for recognising the baby:
ungrouped = evaluate(make_svm_pipeline(duration=DURATION), family_paths,
                     family_labels, cv=4)
print(ungrouped)

# %%
# With ``groups``, the folds come from ``StratifiedGroupKFold`` (no family on
# both sides) and the interval resamples whole families: the score is that of
# a new family, which is what a deployed model meets.
grouped = evaluate(make_svm_pipeline(duration=DURATION), family_paths,
                   family_labels, groups=families, cv=4)
print(grouped)

# %%
# Given a split, the audit also reports groups found on both sides of it:
from sklearn.model_selection import StratifiedKFold  # noqa: E402

split = next(StratifiedKFold(4, shuffle=True, random_state=0).split(
    family_paths, family_labels))
for finding in audit(family_paths, family_labels, families,
                     split=split).by_kind("group_overlap"):
    print(finding)

# %%
# The four results
# ----------------
# Only the band-matched and the grouped figures describe what the model would
# do on new recordings; both are at chance, as the data were built to be.
results = {"source shortcut\nas recorded": as_recorded,
           "source shortcut\nband-matched": band_matched,
           "families\nungrouped CV": ungrouped, "families\ngrouped CV": grouped}
fig, ax = plt.subplots(figsize=(7, 3.5))
for i, r in enumerate(results.values()):
    ax.errorbar(i, r.balanced_accuracy,
                yerr=[[r.balanced_accuracy - r.ci[0]], [r.ci[1] - r.balanced_accuracy]],
                fmt="o", capsize=6, color="C3" if r.p_value < 0.05 else "C0")
ax.axhline(as_recorded.chance, color="gray", linestyle="--", label="chance")
ax.set_xticks(range(len(results)), list(results))
ax.set_ylim(0, 1.05)
ax.set_ylabel("balanced accuracy\n(95 % interval)")
ax.legend(loc="lower left")
fig.tight_layout()

# %%
workdir.cleanup()
