"""Honest evaluation on seed-cry: audit, then CNN vs SVM vs dummy under three setups.

(a) the data as recorded (hungry: 8-kHz source, other: 16-kHz source);
(b) every clip band-limited to 4 kHz (the band of 8-kHz audio);
(c) only the five non-hungry reasons (one 16-kHz source), duplicates removed:
    a 5-class task where no recording shortcut separates the classes.

Each is 5-fold stratified CV through ``sk_cry.evaluate``: balanced accuracy per
fold, and of the pooled out-of-fold predictions with its 95 % bootstrap interval,
chance level and permutation p-value, verdict.

    python benchmarks/honest_eval.py           # the real data (~25 min on 2 cores)
    python benchmarks/honest_eval.py --setups b --models reference   # ~40 min
    python benchmarks/honest_eval.py --smoke   # tiny synthetic stand-in

``--models reference`` scores the reference network and training
(``REFERENCE_TOPOLOGY``, ``REFERENCE_TRAINING``: 51 M weights, 10 epochs).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.dummy import DummyClassifier

from _common import SEED_CRY, all_seed_cry, machine, seed_cry_setups
from sk_cry import (
    REFERENCE_TOPOLOGY,
    REFERENCE_TRAINING,
    audit,
    evaluate,
    make_cnn_pipeline,
    make_svm_pipeline,
)
from sk_cry.datasets import load_folder, make_cries, write_folder


def _smoke(tmp, n_clips=30):
    """Two 'sources': class 1 written at 8 kHz, like the reference's hungry clips."""
    import librosa
    import soundfile as sf

    X, y = make_cries(n_clips, n_classes=3, duration=1.0, random_state=0)
    folder = write_folder(X, y, Path(tmp) / "smoke", sr=16000,
                          target_names=["awake", "hungry", "hug"])
    for path in sorted((folder / "hungry").glob("*.wav")):
        x, sr = sf.read(path)
        sf.write(path, librosa.resample(x, orig_sr=sr, target_sr=8000), 8000)
    data = load_folder(folder)
    return data.paths, (data.labels == "hungry").astype(int), 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SEED_CRY)
    parser.add_argument("--epochs", type=int, default=None,
                        help="CNN epochs (default: the CNN's own)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--setups", default="abc", help="which of (a), (b), (c)")
    parser.add_argument("--models", default="dummy,svm,cnn",
                        help="any of dummy, svm, cnn, reference")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print(f"# honest_eval: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            paths, y, duration = _smoke(tmp)
            args.epochs, args.folds = 1, 2
        else:
            (paths, y), duration = all_seed_cry(args.data), 6.0
        start = time.perf_counter()
        report = audit(paths, y, n_jobs=2)
        print(f"\n## Audit ({time.perf_counter() - start:.1f} s)\n\n{report}\n")

        setups = seed_cry_setups(report, paths, y)
        setups = {v[0]: v[1:] for k, v in setups.items() if k in args.setups}
        wanted = args.models.split(",")
        cnn_kw = {} if args.epochs is None else {"epochs": args.epochs}
        if args.smoke:  # a tiny fit in graph mode goes mostly on tracing: 3x slower
            cnn_kw["run_eagerly"] = True
        rows = []
        for name, (X, labels, band) in setups.items():
            memory = Memory(f"{tmp}/cache-{len(rows)}", verbose=0)
            common = dict(duration=duration, max_bandwidth=band, memory=memory, n_jobs=2)
            models = {
                "dummy (most frequent)": ("dummy", lambda: DummyClassifier(
                    strategy="most_frequent")),
                "SVM (MFCC mean/std)": ("svm", lambda: make_svm_pipeline(**common)),
                "default CNN": ("cnn", lambda: make_cnn_pipeline(
                    **cnn_kw, random_state=0, **common)),
                "reference network and training": ("reference", lambda: make_cnn_pipeline(
                    **REFERENCE_TOPOLOGY, **{**REFERENCE_TRAINING, **(
                        {"epochs": 1, "run_eagerly": True} if args.smoke else {})},
                    random_state=0, **common)),
            }
            models = {k: make() for k, (key, make) in models.items() if key in wanted}
            n_classes = len(np.unique(labels))
            print(f"## {name}: {len(X)} clips, {n_classes} classes", flush=True)
            for model_name, model in models.items():
                start = time.perf_counter()
                result = evaluate(model, X, labels, cv=args.folds, random_state=0)
                print(f"  {model_name} ({time.perf_counter() - start:.0f} s): {result}",
                      flush=True)
                rows.append((name, model_name, result))
    print("\n| setup | model | balanced accuracy, pooled (folds) | 95 % CI | chance | p | "
          "macro F1 | fit s/fold |")
    print("|---|---|---|---|---|---|---|---|")
    for name, model_name, r in rows:
        folds = " ".join(f"{s:.2f}" for s in r.balanced_accuracy_folds)
        print(f"| {name} | {model_name} | {r.balanced_accuracy:.3f} ({folds}) | "
              f"{r.ci[0]:.2f}-{r.ci[1]:.2f} | {r.chance:.2f} | {r.p_value:.3f} | "
              f"{r.f1_macro:.3f} | {np.mean(r.fit_time):.1f} |")


if __name__ == "__main__":
    main()
