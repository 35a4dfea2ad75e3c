"""``--model auto`` on seed-cry: what nested cross-validation chooses, and why.

``sk_cry.choose_model`` (what ``sk-cry train FOLDER --model auto`` runs) with its
default candidates (``model_candidates``: the SVM over C x gamma, 16 settings;
the CNN over at most 40 or 100 epochs) on two setups whose best model differs
(``benchmarks/cnn_levers.py`` measured them one row at a time):

- (c) the five non-hungry reasons inside one 16-kHz source, deduplicated (217
  clips): the nested SVM scored above the CNN there;
- (b) hungry vs other with every clip band-limited to 4 kHz (453 clips): the
  CNN scored above the SVM.

Outer 5-fold, inner 3-fold (stratified, seeded; the clips carry no recording
groups), the choice by the pooled out-of-fold balanced accuracy of each
candidate's whole procedure; no refit (the choice is what is measured).

    python benchmarks/auto.py                 # both setups, about 50 min on 2 cores
    python benchmarks/auto.py --setups c      # about 15 min
    python benchmarks/auto.py --smoke         # synthetic 1-s cries, about 25 s
"""

import argparse
import tempfile
import time

import numpy as np
from _common import SEED_CRY, all_seed_cry, machine, seed_cry_setups

import sk_cry
from sk_cry.evaluation import choose_model, model_candidates


def _setups(args, tmp):
    """``{key: (name, paths, labels, band, duration)}``."""
    if args.smoke:
        from sk_cry.datasets import load_folder, make_cries, write_folder

        X, y = make_cries(36, duration=1.0, random_state=0)
        data = load_folder(write_folder(X, y, f"{tmp}/smoke", sr=16000))
        return {"s": ("synthetic 1-s cries", list(data.paths),
                      data.target_names[data.target], None, 1.0)}
    paths, y = all_seed_cry(args.data)
    report = sk_cry.audit(paths, y)
    setups = seed_cry_setups(report, paths, y)
    return {key: (*setups[key], 6.0) for key in args.setups}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=SEED_CRY)
    parser.add_argument("--setups", default="cb")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        for name, paths, labels, band, duration in _setups(args, tmp).values():
            candidates = model_candidates(
                duration=duration, max_bandwidth=band, n_jobs=2, random_state=0,
                **({"epochs": 2} if args.smoke else {}))
            if args.smoke:  # a tiny fit in graph mode goes mostly on tracing
                candidates["cnn"][0].set_params(cnn__run_eagerly=True)
            start = time.perf_counter()
            choice = choose_model(paths, labels, candidates=candidates,
                                  cv=3 if args.smoke else 5,
                                  inner_cv=2 if args.smoke else 3, refit=False)
            minutes = (time.perf_counter() - start) / 60
            print(f"\n{name}: {len(paths)} clips, {len(np.unique(labels))} classes, "
                  f"{minutes:.1f} min")
            print("| candidate | balanced accuracy, pooled (folds) | 95 % CI | p | "
                  "fit s/fold |\n|---|---|---|---|---|")
            for key, result in choice.results.items():
                folds = " ".join(f"{s:.2f}" for s in result.balanced_accuracy_folds)
                low, high = result.ci
                chosen = " (chosen)" if key == choice.winner else ""
                print(f"| {key}{chosen} | {result.balanced_accuracy:.3f} ({folds}) | "
                      f"{low:.2f}-{high:.2f} | {result.p_value:.3f} | "
                      f"{np.mean(result.fit_time):.0f} |")
            print(f"chosen: {choice.winner}")


if __name__ == "__main__":
    main()
