"""Probabilities from the SVM baseline: ``SVC(probability=True)`` or calibration.

Compares, under one 5-fold ``StratifiedKFold(shuffle=True, random_state=0)``:

- ``SVC(class_weight="balanced")``, no probabilities: the reference fit time;
- (a) the same with ``probability=True`` (libsvm's internal 5-fold Platt scaling;
  deprecated in scikit-learn 1.9, removed in 1.11);
- (b) ``CalibratedClassifierCV(SVC(...), method="sigmoid", cv=5)`` (5 SVCs kept);
- (c) the same with ``method="isotonic"``;
- (d) (b) with ``ensemble=False``: one SVC on all the data, a sigmoid fitted on
  its 5-fold out-of-fold scores; scikit-learn 1.9's stated replacement for (a);
- a class-prior dummy, the log loss and Brier score of knowing nothing.

The features are those of ``make_svm_pipeline(max_bandwidth=4000)``: every clip cut
to the band of 8-kHz audio, so the hungry/other task is not won by the recording
rate. Loading, MFCC and pooling are stateless and computed once for all clips; the
``StandardScaler`` and the classifier are fitted on each training fold, as in the
pipeline. Per method: balanced accuracy of ``predict``, log loss and Brier score of
``predict_proba`` (pooled over the folds' test clips), classifier fit time (best of
``--repeats`` per fold, summed over folds) and its ratio to the plain SVC, one-clip
``predict_proba`` time, and how many clips ``predict`` gives a class other than the
argmax of ``predict_proba``. A second table does the same for the five non-hungry
reasons (one 16-kHz source; the three duplicated pairs are kept).

    python benchmarks/svm_proba.py           # seed-cry, 453 clips (35 s on 2 cores)
    python benchmarks/svm_proba.py --smoke   # 40 synthetic 1-s clips (12 s)
"""

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.metrics import balanced_accuracy_score, brier_score_loss, log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from _common import SEED_CRY, load_split
from sk_cry import make_svm_pipeline


def _methods():
    svc = SVC(class_weight="balanced")
    return {
        "SVC (no proba)": svc,
        "(a) SVC(probability=True)": SVC(class_weight="balanced", probability=True,
                                         random_state=0),
        "(b) Calibrated sigmoid, cv=5": CalibratedClassifierCV(svc, method="sigmoid",
                                                               cv=5),
        "(c) Calibrated isotonic, cv=5": CalibratedClassifierCV(svc, method="isotonic",
                                                                cv=5),
        "(d) Calibrated sigmoid, cv=5, ensemble=False": CalibratedClassifierCV(
            svc, method="sigmoid", cv=5, ensemble=False),
        "class-prior dummy": DummyClassifier(strategy="prior"),
    }


def _versions():
    # not _common.machine(): it imports TensorFlow, which nothing here needs
    import librosa
    import sklearn

    return (f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"sklearn {sklearn.__version__}, librosa {librosa.__version__}")


def _fit(model, X, y):
    with warnings.catch_warnings():
        # (a)'s FutureWarning in scikit-learn 1.9 ("probability ... deprecated");
        # it is reported in the table's notes instead of once per fit
        warnings.filterwarnings("ignore", "The `probability` parameter",
                                FutureWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def _one_clip_us(model, x, calls):
    """Median time of ``predict_proba`` (``predict`` without it) on one clip, in us."""
    method = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        method(x)
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


def compare(F, y, *, folds=5, repeats=5, calls=200, random_state=0):
    """Cross-validate every method on the features ``F``; a dict of results each."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    classes = np.unique(y)
    methods = _methods()
    out = {name: {"pred": np.empty_like(y), "fit_s": 0.0, "one_us": [],
                  "proba": np.full((len(y), len(classes)), np.nan)} for name in methods}
    for clf in methods.values():  # untimed: first-call costs (imports, caches)
        _fit(clone(clf), F, y)
    for train, test in cv.split(F, y):
        best, fitted = dict.fromkeys(methods, np.inf), {}
        for _ in range(repeats):  # interleaved, so that a slow spell hits them all
            for name, clf in methods.items():
                # the pipeline's own scaler, fitted on the training fold only
                model = make_pipeline(clone(make_svm_pipeline()["scaler"]), clone(clf))
                best[name] = min(best[name], _fit(model, F[train], y[train]))
                fitted[name] = model
        for name, model in fitted.items():
            r = out[name]
            r["fit_s"] += best[name]
            r["pred"][test] = model.predict(F[test])
            if hasattr(model, "predict_proba"):
                r["proba"][test] = model.predict_proba(F[test])
            r["one_us"].append(_one_clip_us(model, F[test[:1]], calls))
    rows = {}
    for name, r in out.items():
        row = {"bacc": balanced_accuracy_score(y, r["pred"]), "fit_s": r["fit_s"],
               "one_us": float(np.median(r["one_us"]))}
        if not np.isnan(r["proba"]).any():
            row["log_loss"] = log_loss(y, r["proba"], labels=classes)
            row["brier"] = brier_score_loss(y, r["proba"], labels=classes)
            row["disagree"] = int((classes[r["proba"].argmax(axis=1)] != r["pred"]).sum())
        rows[name] = row
    return rows


def _table(title, rows, n):
    ref = rows["SVC (no proba)"]["fit_s"]
    print(f"\n## {title}\n")
    print("| method | balanced acc. (predict) | log loss | Brier | fit s (5 folds) | "
          "fit vs SVC | one clip, scaler + predict_proba, us | predict != argmax proba |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        proba = (f"{r['log_loss']:.3f} | {r['brier']:.3f}" if "log_loss" in r
                 else "n/a | n/a")
        disagree = f"{r['disagree']} / {n}" if "disagree" in r else "n/a"
        print(f"| {name} | {r['bacc']:.3f} | {proba} | {r['fit_s']:.3f} | "
              f"{r['fit_s'] / ref:.1f}x | {r['one_us']:.0f} | {disagree} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SEED_CRY)
    parser.add_argument("--repeats", type=int, default=5,
                        help="fits per method and fold; the fastest is kept")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print(f"# svm_proba: {_versions()}")
    with tempfile.TemporaryDirectory() as tmp:
        train, test, duration = load_split(args, tmp, 30, 10)
        paths = list(train.paths) + list(test.paths)
        y = np.concatenate([train.target, test.target])
        names = np.array([Path(p).name for p in paths])
        if args.smoke:
            args.repeats = 1
        # loader -> mfcc -> pool: stateless, so computed once for every fold
        pipe = make_svm_pipeline(duration=duration, max_bandwidth=4000, n_jobs=2)
        features = pipe[:list(pipe.named_steps).index("scaler")]
        start = time.perf_counter()
        F = features.fit_transform(paths)
        print(f"# {len(paths)} clips -> {F.shape[1]} MFCC mean/std features, "
              f"band-limited to 4 kHz, in {time.perf_counter() - start:.1f} s "
              "(once; a full pipeline fit pays this for every training fold)")
        _table("hungry vs other (band-limited to 4 kHz)", compare(
            F, y, repeats=args.repeats), len(y))
        # the five non-hungry reasons: a harder, multi-class task from one source
        other = np.flatnonzero(y == 0)
        reasons = np.array([n.split("_")[0].split("-")[0] for n in names[other]])
        if len(np.unique(reasons)) > 2:
            _table(f"{len(np.unique(reasons))} non-hungry reasons", compare(
                F[other], reasons, repeats=args.repeats), len(other))
    print("\n(a) warns in scikit-learn 1.9: `probability` is deprecated, removed in "
          "1.11; (b)-(d) predict the argmax of their probabilities by construction.")


if __name__ == "__main__":
    main()
