"""
Long recordings, window by window
=================================

A model is trained on clips of a fixed length (the loader's ``duration``); a
recording of a night is far longer. ``predict_windows`` classifies a recording
of any length window by window: windows of ``window`` seconds every ``hop``
seconds, plus one that ends with the recording so that every sample is heard,
read in blocks so that an hour never sits in memory whole. Windows below
-60 dBFS are reported ``silent`` instead of being given a class.

The same call exists for a fitted pipeline (:func:`sk_cry.predict_windows`) and
for an exported bundle (:meth:`sk_cry.runtime.BundleModel.predict_windows`),
with the same windows and records.
"""

# %%
# A model of 2-s clips
# --------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

import sk_cry
from sk_cry import make_svm_pipeline, predict_windows, runtime
from sk_cry.datasets import make_cries

SR = 16000
workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)
names = np.array(["other", "hungry"])

X, y = make_cries(60, duration=2.0, random_state=0)
svm = make_svm_pipeline(duration=2.0).fit(X, names[y])  # waveforms work as X too
sk_cry.export(svm, tmp / "svm.skcry-bundle")
bundle = runtime.load(tmp / "svm.skcry-bundle")

# %%
# A 40-s recording with known contents
# ------------------------------------
# Quiet room noise throughout, an *other* cry from 4 to 12 s, a dropout of
# digital silence from 16 to 20 s, and a *hungry* cry from 26 to 34 s.
rng = np.random.default_rng(1)
recording = 0.003 * rng.standard_normal(40 * SR).astype(np.float32)
(other,), _ = make_cries(1, n_classes=1, duration=8.0, random_state=2)
hungry = make_cries(2, duration=8.0, shuffle=False, random_state=3)[0][1]
recording[4 * SR:12 * SR] += other
recording[16 * SR:20 * SR] = 0.0
recording[26 * SR:34 * SR] += hungry
truth = {"other": (4, 12), "silence": (16, 20), "hungry": (26, 34)}
sf.write(tmp / "night.wav", recording, SR, subtype="PCM_16")

# %%
# Windows of 2 s every 0.5 s
# --------------------------
(night,) = bundle.predict_windows([tmp / "night.wav"], window=2.0, hop=0.5)
print(f"{night.duration:g} s, {len(night.windows)} windows, "
      f"{sum(w.silent for w in night.windows)} silent")
for w in night.windows[30:36]:
    print(f"{w.start:5.1f} s  {w.label}  {w.probabilities}  silent={w.silent}")

# %%
# The recording's own ``label`` and ``probabilities`` are the mean over its
# windows that are not silent: for a long recording, the windows say more.
print(night.label, night.probabilities)

# %%
# The pipeline gives the same windows and probabilities as its bundle:
(same,) = predict_windows(svm, [tmp / "night.wav"], window=2.0, hop=0.5)
difference = max(abs(a.probabilities["hungry"] - b.probabilities["hungry"])
                 for a, b in zip(night.windows, same.windows) if not a.silent)
print(f"{len(same.windows)} windows, largest difference {difference:.1e}")

# %%
# Over time
# ---------
# Each window's probability of *hungry* at its centre; silent windows at the
# bottom. Between the cries the model still answers one of its two classes:
# it was trained on cries only, and room noise is neither. Deciding whether a
# baby cries at all is the job of a cry detector
# (:ref:`sphx_glr_auto_examples_plot_7_detection.py`).
fig, ax = plt.subplots(figsize=(9, 3.2))
colors = {"other": "C0", "hungry": "C3", "silence": "lightgray"}
for name, (start, end) in truth.items():
    ax.axvspan(start, end, color=colors[name], alpha=0.15, label=name)
starts = np.array([w.start for w in night.windows]) + 1.0
p = np.array([np.nan if w.silent else w.probabilities["hungry"]
              for w in night.windows])
ax.plot(starts, p, ".-", color="k", label="P(hungry)")
silent = np.array([w.silent for w in night.windows])
ax.plot(starts[silent], np.zeros(silent.sum()), "x", color="gray", label="silent")
ax.set_xlabel("time (s)")
ax.set_ylim(-0.05, 1.05)
ax.legend(loc="upper left", ncols=5, fontsize="small")
fig.tight_layout()

# %%
# On the command line: ``sk-cry predict svm.skcry-bundle night.wav --window 2
# --hop 0.5``.

# %%
workdir.cleanup()
