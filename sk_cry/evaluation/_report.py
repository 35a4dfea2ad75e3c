"""A self-contained HTML report of an audit and of cross-validated models."""

import base64
import html
import io
import time

import numpy as np

from ..core import HOP_LENGTH

__all__ = ["write_report"]

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 62rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
td, th { padding: .25rem .7rem; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top; }
.critical { color: #b00020; font-weight: 600; } .warning { color: #a15c00; }
.verdict { font-weight: 600; } figure { display: inline-block; margin: 0 1rem 1rem 0; }
figcaption { color: #555; font-size: .9rem; }
"""


def _png(figure):
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _confusion(result, name):
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(figsize=(3.6, 3.2))
    ConfusionMatrixDisplay(result.confusion_matrix,
                           display_labels=[str(c) for c in result.classes]).plot(
        ax=axes, colorbar=False, cmap="Blues")
    axes.set_title(name)
    return _png(figure)


def _spectrogram(wave, sr, name):
    import librosa.display
    import matplotlib.pyplot as plt

    from ..features import log_mel_spectrogram

    figure, axes = plt.subplots(figsize=(4.2, 2.6))
    librosa.display.specshow(log_mel_spectrogram(wave, sr=sr), sr=sr,
                             hop_length=HOP_LENGTH, x_axis="time", y_axis="mel", ax=axes)
    axes.set_title(name)
    return _png(figure)


def write_report(path, *, title, audit, results, examples, sr):
    """Write the report to ``path``.

    Parameters
    ----------
    path : str or path-like
        The HTML file to write (self-contained: figures inlined).
    title : str
    audit : AuditReport
    results : dict of str -> EvaluationResult
        One per model, by name.
    examples : dict of str -> ndarray
        One waveform per class, by class name, at ``sr``.
    """
    e = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{e(title)}</h1><p>{time.strftime('%Y-%m-%d %H:%M')}, "
             f"{audit.n_files} files; chance (balanced accuracy) "
             f"{audit.chance:.2f}.</p>", "<h2>Audit</h2>"]
    if audit.findings:
        parts.append("<table><tr><th>severity</th><th>kind</th><th>finding</th></tr>")
        for f in audit.findings:
            parts.append(f"<tr class='{e(f.severity)}'><td>{e(f.severity)}</td>"
                         f"<td>{e(f.kind)}</td><td>{e(f.message)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>Nothing found.</p>")
    parts.append("<h2>Cross-validated models</h2><table><tr><th>model</th>"
                 "<th>balanced accuracy</th><th>95 % CI</th><th>chance</th>"
                 "<th>p-value</th><th>folds</th><th>fit s/fold</th><th>verdict</th></tr>")
    for name, r in results.items():
        folds = " ".join(f"{s:.2f}" for s in r.balanced_accuracy_folds)
        parts.append(
            f"<tr><td>{e(name)}</td><td>{r.balanced_accuracy:.3f}</td>"
            f"<td>{r.ci[0]:.3f}-{r.ci[1]:.3f}</td><td>{r.chance:.3f}</td>"
            f"<td>{r.p_value:.3g}</td><td>{folds}</td><td>{np.mean(r.fit_time):.1f}</td>"
            f"<td class='verdict'>{e(r.verdict)}</td></tr>")
    parts.append("</table><p>Balanced accuracy of the pooled out-of-fold "
                 "predictions; folds grouped by recording group when the folder "
                 "names them.</p>")
    for name, r in results.items():
        parts.append(f"<figure>{_confusion(r, name)}<figcaption>{e(name)}: pooled "
                     "out-of-fold confusion matrix (rows: true class)</figcaption>"
                     "</figure>")
    parts.append("<h2>One example per class</h2>")
    for name, wave in examples.items():
        parts.append(f"<figure>{_spectrogram(wave, sr, name)}<figcaption>log-mel "
                     f"spectrogram, class {e(name)}</figcaption></figure>")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(parts))
