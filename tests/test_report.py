"""The HTML report: one self-contained page with the audit's findings, each
model's cross-validated scores and verdict, and the figures inlined."""

import re

import numpy as np

from sk_cry import audit, evaluate, make_svm_pipeline
from sk_cry.evaluation import write_report


def test_the_report_holds_the_audit_the_scores_and_the_figures(cry_folder, tmp_path):
    paths, y = cry_folder.paths, cry_folder.target_names[cry_folder.target]
    found = audit(paths, y)
    result = evaluate(make_svm_pipeline(duration=1.0), paths, y, cv=2, n_permutations=9,
                      random_state=0)
    waves = {"other": np.zeros(16000, np.float32),
             "hungry <b>": np.sin(np.arange(16000) / 5).astype(np.float32)}
    page = tmp_path / "report.html"
    write_report(page, title="Night & day", audit=found, results={"SVM": result},
                 examples=waves, sr=16000)
    text = page.read_text()
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    assert "<title>Night &amp; day</title>" in text  # escaped, not markup
    assert f"{found.n_files} files" in text and f"{found.chance:.2f}" in text
    row = re.search(r"<tr><td>SVM</td><td>([0-9.]+)</td>", text)
    assert row and float(row.group(1)) == round(result.balanced_accuracy, 3)
    assert result.verdict in text
    # one confusion matrix and one spectrogram per class, inlined: no other file
    assert text.count('src="data:image/png;base64,') == 1 + len(waves)
    assert "class hungry &lt;b&gt;" in text and "<b>" not in text.split("<body>")[1]
    assert list(tmp_path.iterdir()) == [page]
