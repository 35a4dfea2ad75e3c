"""
An HTML report of an audit and of cross-validated models
========================================================

``sk-cry evaluate recordings/ --report report.html`` audits a folder,
cross-validates the CNN and the SVM against chance on the same folds, and
writes one self-contained HTML file: the audit's findings, a table of the
models' scores with their intervals, p-values and verdicts, each model's pooled
out-of-fold confusion matrix and a log-mel spectrogram of one clip per class.
This example does the same in Python with :func:`sk_cry.evaluation.write_report`,
the function the command calls.
"""

# %%
# Audit and evaluate, as ``sk-cry evaluate`` does
# -----------------------------------------------
import base64
import re
import tempfile
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold

from sk_cry import audit, evaluate, make_cnn_pipeline, make_svm_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder
from sk_cry.evaluation import write_report
from sk_cry.io import load_audio

SR, DURATION = 16000, 1.5
workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)

X, y = make_cries(48, duration=DURATION, class_sep=0.5, noise=0.05, random_state=0)
write_folder(X, y, tmp / "recordings", sr=SR, target_names=["other", "hungry"])
data = load_folder(tmp / "recordings")
labels = data.target_names[data.target]

report = audit(data.paths, labels, data.groups)
print(report)

# %%
# A property the audit reports here belongs to the synthetic cries themselves:
# :func:`~sk_cry.datasets.make_cries`'s *hungry* class cries in short bursts
# with short pauses, its *other* class in long wails, so their loudness
# differs too. In real recordings, every finding deserves a look before the
# scores below do.

# %%
# Both models are scored on the same folds (one splitter, drawn once).
folds = StratifiedKFold(3, shuffle=True, random_state=0)
models = {
    "CNN": make_cnn_pipeline(duration=DURATION, filters=8, epochs=25, batch_size=8,
                             learning_rate=3e-3, early_stopping=False,
                             random_state=0),
    "SVM": make_svm_pipeline(duration=DURATION),
}
results = {name: evaluate(model, data.paths, labels, cv=folds)
           for name, model in models.items()}
for name, result in results.items():
    print(f"{name}: {result.verdict}")

# %%
# Write the report
# ----------------
# ``examples`` holds one waveform per class, read as the models read them.
examples = {str(label): load_audio(data.paths[np.flatnonzero(labels == label)[0]],
                                   sr=SR, duration=DURATION)
            for label in np.unique(labels)}
path = tmp / "report.html"
write_report(path, title="sk_cry evaluation of synthetic cries", audit=report,
             results=results, examples=examples, sr=SR)
html = path.read_text(encoding="utf-8")
print(f"{path.name}: {len(html) / 1e3:.0f} kB, one file, figures inlined")

# %%
# What it says
# ------------
# The report's text, without its markup:


class Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lines, self.skip = [""], False

    def handle_starttag(self, tag, attrs):
        self.skip = tag in ("style", "title")
        if tag in ("h1", "h2", "tr", "p", "figcaption"):
            self.lines.append("")

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.lines[-1] += ("  " if self.lines[-1] else "") + data.strip()


reader = Text()
reader.feed(html)
print("\n".join(line for line in reader.lines if line))

# %%
# Its figures
# -----------
# The confusion matrices and spectrograms are PNG images inlined in the page;
# here they are, read back from it.
images = [plt.imread(BytesIO(base64.b64decode(data)))
          for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
fig, axes = plt.subplots(1, len(images), figsize=(3.2 * len(images), 3))
for ax, image in zip(axes, images):
    ax.imshow(image)
    ax.axis("off")
fig.tight_layout()

# %%
workdir.cleanup()
