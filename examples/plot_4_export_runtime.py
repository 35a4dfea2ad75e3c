"""
Export a model, and run it without TensorFlow
=============================================

:func:`sk_cry.export` writes a fitted CNN or SVM pipeline as one **bundle**: a
ZIP archive of plain data (a CNN's network as a LiteRT flatbuffer, an SVM's
support vectors and calibration, the front end's arrays, the class names, a
manifest with the SHA-256 of every member), no pickle. :mod:`sk_cry.runtime`
runs it with numpy, soundfile, soxr, ducc0 and LiteRT only, which is what
``pip install sk-cry`` installs on a device such as a Raspberry Pi.

This example fits both pipelines on synthetic cries, exports them, checks that
the bundles give the pipelines' probabilities, and shows the per-file records
a device reports, bad files included.
"""

# %%
# Fit a CNN and an SVM
# --------------------
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

import sk_cry
from sk_cry import make_cnn_pipeline, make_svm_pipeline, runtime
from sk_cry.datasets import load_folder, make_cries, write_folder

SR, DURATION = 16000, 1.5
workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)

X, y = make_cries(48, duration=DURATION, random_state=0)
write_folder(X, y, tmp / "cries", sr=SR, target_names=["other", "hungry"])
data = load_folder(tmp / "cries")
labels = data.target_names[data.target]  # fit on names: predictions are names

cnn = make_cnn_pipeline(duration=DURATION, filters=8, epochs=25, batch_size=8,
                        learning_rate=3e-3, early_stopping=False, random_state=0)
cnn.fit(data.paths, labels)
svm = make_svm_pipeline(duration=DURATION).fit(data.paths, labels)

# %%
# Export
# ------
# One call per model; the manifest that comes back is what the bundle says
# about itself.
manifest = sk_cry.export(cnn, tmp / "cnn.skcry-bundle")
sk_cry.export(svm, tmp / "svm.skcry-bundle")
print(json.dumps({k: manifest[k] for k in ("format", "format_version",
                                           "sk_cry_version")}, indent=1))
with zipfile.ZipFile(tmp / "cnn.skcry-bundle") as bundle:
    for info in bundle.infolist():
        print(f"{info.file_size:>9,} B  {info.filename}")
for name in ("cnn", "svm"):
    print(name, f"{(tmp / f'{name}.skcry-bundle').stat().st_size / 1e3:.0f} kB")

# %%
# Load and predict with the runtime
# ---------------------------------
# :func:`sk_cry.runtime.load` checks every member against its hash before
# anything runs. The result has the pipeline's ``predict`` and
# ``predict_proba`` on paths (or waveforms at ``sr``).
cnn_bundle = runtime.load(tmp / "cnn.skcry-bundle")
svm_bundle = runtime.load(tmp / "svm.skcry-bundle")
print(cnn_bundle)
print(svm_bundle)

X_new, _ = make_cries(30, duration=DURATION, random_state=1)
write_folder(X_new, np.zeros(30, int), tmp / "new", sr=SR)
new = load_folder(tmp / "new").paths
print(cnn_bundle.predict(new[:5]))

# %%
# The bundle gives the pipeline's numbers: the CNN to LiteRT's float32
# round-off, the SVM (re-implemented in numpy) to about 1e-6.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, name, pipe, bundle in [(axes[0], "CNN", cnn, cnn_bundle),
                               (axes[1], "SVM", svm, svm_bundle)]:
    column = list(pipe.classes_).index("hungry")
    p_pipe = pipe.predict_proba(new)[:, column]
    p_bundle = bundle.predict_proba(new)[:, column]
    print(f"{name}: largest difference {np.abs(p_pipe - p_bundle).max():.1e}")
    ax.plot([0, 1], [0, 1], color="lightgray")
    ax.scatter(p_pipe, p_bundle, s=14)
    ax.set_title(name)
    ax.set_xlabel("pipeline: P(hungry)")
axes[0].set_ylabel("bundle: P(hungry)")
fig.tight_layout()

# %%
# One record per file
# -------------------
# ``predict`` raises on the first file it cannot read, as scikit-learn's
# estimators do. A device that watches a folder wants every file answered:
# ``predict_files`` (also :func:`sk_cry.predict_files` for a fitted pipeline)
# returns one :class:`~sk_cry.runtime.FilePrediction` per path, with the
# ``error`` of a file that cannot be read and ``silent=True`` for a clip below
# -60 dBFS.
(tmp / "broken.wav").write_bytes(b"RIFF....WAVEfmt not really")
sf.write(tmp / "silence.wav", np.zeros(SR), SR)
for record in svm_bundle.predict_files([new[0], tmp / "broken.wav",
                                        tmp / "silence.wav"]):
    print(Path(record.path).name, record.label, record.probabilities,
          record.silent, record.error)

# %%
# No TensorFlow on the device
# ---------------------------
# A fresh interpreter loads the bundle and predicts; neither TensorFlow nor
# scikit-learn is imported.
code = f"""
import sys
from sk_cry import runtime
model = runtime.load({str(tmp / "cnn.skcry-bundle")!r})
print(model.predict({new[:3]!r}))
print("tensorflow" in sys.modules, "sklearn" in sys.modules)
"""
print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                     check=True).stdout)

# %%
# A saved pipeline, by contrast, is a pickle (:func:`sk_cry.save`,
# :func:`sk_cry.load`): it needs the training stack, and loading one runs code
# from the file, so load only files you made or trust.
sk_cry.save(cnn, tmp / "cnn.skcry")
print(sk_cry.load(tmp / "cnn.skcry").predict(new[:3]))

# %%
# On the command line the same is ``sk-cry export cnn.skcry cnn.skcry-bundle``,
# and ``sk-cry serve cnn.skcry-bundle`` answers ``POST /predict`` over HTTP
# (see :doc:`/user_guide/deployment`).

# %%
workdir.cleanup()
