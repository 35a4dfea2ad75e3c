"""Training the CNN: the reference network vs the compact default, and what each step gave.

Two parts, both on seed-cry:

``--part steps``: 5-fold grouped CV (StratifiedGroupKFold) with every clip
band-matched to 8 kHz, so that the recording-rate shortcut is gone. The SVM
baseline, then the compact CNN with one training improvement added at a time
(early stopping + cosine learning rate, SpecAugment, mixup, statistics pooling:
the last row is the default). Features are extracted once; each fold fits its
own scaler and network.

``--part reference``: the reference split (train/ -> the 35 test/ clips, as
recorded) over several seeds: the reference topology with the reference's plain
training vs the compact default: weights, seconds per epoch, accuracy.

    python benchmarks/training.py --part steps        # ~50 min on 2 cores
    python benchmarks/training.py --part steps --steps 5   # SVM and the default only
    python benchmarks/training.py --part reference --reference-epochs 5   # ~20 min
    python benchmarks/training.py --smoke             # both parts, tiny synthetic data
"""

import argparse
import tempfile
import time

import keras
import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedGroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from _common import SEED_CRY, load_split, machine, mean_std
from sk_cry import (
    REFERENCE_TOPOLOGY,
    REFERENCE_TRAINING,
    CryCNNClassifier,
    FeatureScaler,
    make_cnn_pipeline,
    make_svm_pipeline,
)

# the compact network trained as plainly as the reference (fixed epochs, constant
# learning rate, no augmentation), each improvement then added on top
PLAIN = dict(pooling="avg", augment=False, mixup=0.0, early_stopping=False,
             lr_schedule="constant")
STEPS = {
    "compact CNN, plain training": PLAIN,
    "+ early stopping, cosine LR": {**PLAIN, "early_stopping": True,
                                    "lr_schedule": "cosine"},
    "+ SpecAugment (shift, masks)": {**PLAIN, "early_stopping": True,
                                     "lr_schedule": "cosine", "augment": True},
    "+ mixup 0.2": {**PLAIN, "early_stopping": True, "lr_schedule": "cosine",
                    "augment": True, "mixup": 0.2},
    "+ statistics pooling (default)": {},
}


class _EpochClock(keras.callbacks.Callback):
    """Records the wall time of every epoch."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def part_steps(args, train, test, duration):
    paths = list(train.paths) + list(test.paths)
    y = np.concatenate([train.target, test.target])
    # a clip without a known source (synthetic ones) is its own group
    groups = np.concatenate([paths if data.groups is None else data.groups
                             for paths, data in ((train.paths, train), (test.paths, test))])
    cv = StratifiedGroupKFold(args.folds, shuffle=True, random_state=0)
    front = make_cnn_pipeline(duration=duration, max_bandwidth=4000.0, n_jobs=2)[:2]
    features = front.fit_transform(paths)
    svm = make_svm_pipeline(duration=duration, max_bandwidth=4000.0, n_jobs=2)
    rows = []
    scores = cross_validate(svm, paths, y, groups=groups, cv=cv,
                            scoring=("balanced_accuracy", "accuracy"))
    rows.append(("SVM on MFCC mean/std (baseline)", scores, "-", "-"))
    print(f"# {len(paths)} clips, band-matched, {args.folds}-fold grouped CV, "
          f"CNN at most {args.epochs} epochs", flush=True)
    for number, (name, params) in enumerate(STEPS.items(), 1):
        if args.steps and number not in args.steps:
            continue
        start = time.perf_counter()
        model = make_pipeline(FeatureScaler(n_bands=141), CryCNNClassifier(
            epochs=args.epochs, random_state=0, run_eagerly=args.smoke, **params))
        scores = cross_validate(model, features, y, groups=groups, cv=cv,
                                scoring=("balanced_accuracy", "accuracy"),
                                return_estimator=True)
        epochs = [len(est[-1].history_["loss"]) for est in scores["estimator"]]
        n_weights = scores["estimator"][0][-1].count_params()
        rows.append((name, scores, f"{n_weights:,}", f"{np.mean(epochs):.0f}"))
        print(f"#   {name}: balanced {scores['test_balanced_accuracy'].mean():.3f} "
              f"{np.round(scores['test_balanced_accuracy'], 3)} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    print("\n| model | weights | epochs run (mean) | balanced accuracy % | accuracy % |")
    print("|---|---|---|---|---|")
    for name, scores, n_weights, epochs in rows:
        print(f"| {name} | {n_weights} | {epochs} | "
              f"{mean_std(scores['test_balanced_accuracy'])} | "
              f"{mean_std(scores['test_accuracy'])} |")


def part_reference(args, train, test, duration):
    front = make_cnn_pipeline(duration=duration, n_jobs=2)[:2]
    X_train, X_test = front.fit_transform(train.paths), front.transform(test.paths)
    models = {
        f"reference (flatten, plain training, {args.reference_epochs} epochs)": (
            {**REFERENCE_TOPOLOGY, **REFERENCE_TRAINING}, args.reference_seeds,
            args.reference_epochs),
        f"compact default (at most {args.epochs} epochs)": ({}, args.seeds, args.epochs),
    }
    print(f"# reference split: train {len(train.paths)} clips, test {len(test.paths)}, "
          "as recorded", flush=True)
    rows = {}
    for name, (params, seeds, epochs) in models.items():
        accs, per_epoch = [], []
        for seed in range(seeds):
            clock = _EpochClock()
            model = make_pipeline(FeatureScaler(n_bands=141), CryCNNClassifier(
                **{**params, "epochs": epochs, "random_state": seed, "callbacks": [clock],
                   "run_eagerly": args.smoke}))
            model.fit(X_train, train.target)
            accs.append(accuracy_score(test.target, model.predict(X_test)))
            per_epoch.append(np.median(clock.times[1:] or clock.times))  # 1st: tracing
            n_weights = model[-1].count_params()
            print(f"#   {name}, seed {seed}: accuracy {accs[-1]:.3f}, "
                  f"{per_epoch[-1]:.2f} s/epoch, {len(clock.times)} epochs", flush=True)
        rows[name] = (n_weights, np.median(per_epoch), accs)
    (ref_w, ref_s, _), (w, s, _) = rows.values()
    print("\n| network | weights | s/epoch | test accuracy % (seeds) |")
    print("|---|---|---|---|")
    for name, (n_weights, sec, accs) in rows.items():
        print(f"| {name} | {n_weights:,} | {sec:.2f} | {mean_std(accs)} ({len(accs)}) |")
    print(f"\nratios, same run: {ref_w / w:.0f}x fewer weights, {ref_s / s:.1f}x faster "
          "epochs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=lambda p: __import__("pathlib").Path(p),
                        default=SEED_CRY)
    parser.add_argument("--part", choices=("steps", "reference", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, nargs="*",
                        help=f"which CNN rows of --part steps to run, 1-{len(STEPS)} "
                             "(default: all; the SVM row always runs)")
    parser.add_argument("--reference-seeds", type=int, default=1,
                        help="seeds of the 51-M-weight reference network (slow)")
    parser.add_argument("--reference-epochs", type=int,
                        default=REFERENCE_TRAINING["epochs"])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        # run_eagerly too (below): a fit of a few clips is then about a third of
        # its time in graph mode, which goes mostly on tracing the training step
        args.epochs = args.reference_epochs = 2
        args.folds, args.seeds, args.reference_seeds = 2, 1, 1
    print(f"# training: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        train, test, duration = load_split(args, tmp, 24, 8)
        if args.part in ("steps", "both"):
            part_steps(args, train, test, duration)
        if args.part in ("reference", "both"):
            part_reference(args, train, test, duration)


if __name__ == "__main__":
    main()
