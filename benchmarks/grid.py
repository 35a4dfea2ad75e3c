"""Grid search over CNN settings, with and without ``make_cnn_pipeline(memory=...)``.

``GridSearchCV`` over 4 CNN settings (2 widths x 2 learning rates), 3-fold, on the
453 seed-cry clips. Without a cache every candidate decodes and extracts the
features of its fold again; with ``memory`` the training and validation features
of each fold are computed once and reused. Prints the number of clips whose
features were computed, the wall time of each run and their ratio.

    python benchmarks/grid.py             # seed-cry, 3 epochs per fit
    python benchmarks/grid.py --smoke     # 24 synthetic clips
"""

import argparse
import tempfile
import time

import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV

from _common import SEED_CRY, load_seed_cry, machine
from sk_cry import MFCCMelExtractor, make_cnn_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder

GRID = {"cnn__filters": [8, 16], "cnn__learning_rate": [1e-3, 3e-3]}


class _Counter:
    """Counts the clips whose maps are computed (cache hits compute none)."""

    def __init__(self):
        self.clips = 0
        self._fill = MFCCMelExtractor._fill

    def __enter__(self):
        counter = self

        def counting(extractor, X, out, *args):
            counter.clips += len(X)
            return counter._fill(extractor, X, out, *args)

        MFCCMelExtractor._fill = counting
        return self

    def __exit__(self, *exc):
        MFCCMelExtractor._fill = self._fill


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=lambda p: __import__("pathlib").Path(p),
                        default=SEED_CRY)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print(f"# grid: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        grid, cv = GRID, 3
        if args.smoke:  # 2 candidates x 2 folds, the CNN eager (tracing: 3x the fit)
            X, y = make_cries(16, duration=1.0, random_state=0)
            data = load_folder(write_folder(X, y, f"{tmp}/clips", sr=16000))
            paths, target, duration, args.epochs = data.paths, data.target, 1.0, 1
            grid, cv = {"cnn__filters": [4, 8]}, 2
        else:
            train, test = load_seed_cry(args.data)
            paths = list(train.paths) + list(test.paths)
            target = np.concatenate([train.target, test.target])
            duration = 6.0
        n_candidates = int(np.prod([len(values) for values in grid.values()]))
        print(f"# {len(paths)} clips, {n_candidates} candidates x {cv} folds + refit = "
              f"{n_candidates * cv + 1} fits of {args.epochs} epochs")
        results = {}
        for name, memory in (("no cache", None), ("memory=", Memory(f"{tmp}/cache",
                                                                    verbose=0))):
            pipe = make_cnn_pipeline(duration=duration, memory=memory, n_jobs=2,
                                     epochs=args.epochs, early_stopping=False,
                                     random_state=0, run_eagerly=args.smoke)
            search = GridSearchCV(pipe, grid, cv=cv, error_score="raise")
            with _Counter() as counter:
                start = time.perf_counter()
                search.fit(paths, target)
                seconds = time.perf_counter() - start
            results[name] = (counter.clips, seconds, search.best_params_)
            print(f"#   {name}: {counter.clips} clip extractions, {seconds:.0f} s, "
                  f"best {search.best_params_}", flush=True)
    (n0, t0, best0), (n1, t1, best1) = results.values()
    assert best0 == best1, "the cache changed the search's result"
    print("\n| run | clips whose features were computed | wall time s |")
    print("|---|---|---|")
    for name, (clips, seconds, _) in results.items():
        print(f"| {name} | {clips} | {seconds:.0f} |")
    print(f"\nratios, same run: {n0 / n1:.1f}x fewer extractions, {t0 / t1:.2f}x "
          "less wall time (same best parameters)")


if __name__ == "__main__":
    main()
