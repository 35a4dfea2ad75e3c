"""What sk_cry costs before any work: imports, the CLI's help, and process workers.

Each import is timed in a fresh interpreter (median of ``--repeats``), beside the
reference approach of loading the whole stack at import (as the notebook, and any
module that imports TensorFlow at the top, does): ``import sk_cry`` alone against
``import sk_cry`` plus the CNN class, which imports TensorFlow. Then ``audit`` and
an SVM grid search on every seed-cry clip with ``n_jobs=2`` against ``n_jobs=1``
(medians of three alternating runs): the grid search's process workers (joblib's
loky) import what they unpickle, so a heavy import would make two workers slower
than one; the audit works on threads.

    python benchmarks/startup.py           # seed-cry (~2 min on 2 cores)
    python benchmarks/startup.py --smoke   # 24 synthetic clips
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import PEAK_KB, SEED_CRY, load_seed_cry

_PROBE = """
import sys, time
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
print(seconds, {peak} / 1024)
"""


def _fresh(code, repeats):
    """Median seconds and peak RSS (MB) of ``code`` in a new interpreter."""
    runs = []
    for _ in range(repeats):
        probe = _PROBE.format(code=code, peak=PEAK_KB)
        out = subprocess.run([sys.executable, "-c", probe],
                             capture_output=True, text=True, check=True)
        runs.append([float(v) for v in out.stdout.split()[-2:]])
    seconds, rss = zip(*runs)
    return statistics.median(seconds), statistics.median(rss)


def _wall(command, repeats):
    """Median wall seconds of a command line."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _data(args, tmp):
    if not args.smoke:
        train, test = load_seed_cry(args.data)
        return train.paths + test.paths, np.r_[train.target, test.target], 6.0
    from sk_cry.datasets import load_folder, make_cries, write_folder

    X, y = make_cries(24, duration=1.0, random_state=0)
    data = load_folder(write_folder(X, y, f"{tmp}/smoke", sr=16000))
    return data.paths, data.target, 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=SEED_CRY)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats

    light = _fresh("import sk_cry", repeats)
    heavy = _fresh("import sk_cry; sk_cry.CryCNNClassifier", repeats)
    svm = _fresh("from sk_cry import make_svm_pipeline; make_svm_pipeline()", repeats)
    help_s = _wall([sys.executable, "-m", "sk_cry", "--help"], repeats)

    from sklearn.model_selection import GridSearchCV

    from sk_cry import audit, make_svm_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        paths, y, duration = _data(args, tmp)
        grid = {"clf__estimator__C": [0.3, 1.0, 3.0]}
        jobs = {
            "audit": lambda n_jobs: audit(paths, y, n_jobs=n_jobs),
            f"SVM grid ({len(grid['clf__estimator__C'])} candidates x 3 folds)":
                lambda n_jobs: GridSearchCV(make_svm_pipeline(duration=duration), grid,
                                            cv=3, n_jobs=n_jobs).fit(paths, y),
        }
        audit(paths[:8], y[:8], n_jobs=1)  # first calls' one-off costs, for neither
        # alternating n_jobs=1 and 2, medians: the machine's speed drifts
        times = {(job, n): [] for job in jobs for n in (1, 2)}
        for _ in range(1 if args.smoke else 3):
            for job, run in jobs.items():
                for n_jobs in (1, 2):
                    times[job, n_jobs].append(_timed(lambda: run(n_jobs)))

    import sklearn

    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, sklearn {sklearn.__version__}; "
          f"{len(paths)} clips, medians of {repeats} fresh interpreters\n")
    print("| what | seconds | peak RSS (MB) |")
    print("|---|---|---|")
    print(f"| import sk_cry | {light[0]:.3f} | {light[1]:.0f} |")
    print(f"| import sk_cry + make_svm_pipeline() | {svm[0]:.2f} | {svm[1]:.0f} |")
    print(f"| import sk_cry + CryCNNClassifier (TensorFlow) | {heavy[0]:.2f} | "
          f"{heavy[1]:.0f} |")
    print(f"| sk-cry --help (whole command) | {help_s:.2f} | |")
    print(f"\nimport sk_cry: {heavy[0] / light[0]:.0f}x faster and "
          f"{heavy[1] / light[1]:.0f}x less memory than importing the CNN's stack")
    print("\n| job | n_jobs=1 (s) | n_jobs=2 (s) | speed-up |")
    print("|---|---|---|---|")
    for job in jobs:
        one, two = (statistics.median(times[job, n]) for n in (1, 2))
        print(f"| {job} | {one:.1f} | {two:.1f} | {one / two:.2f}x |")


if __name__ == "__main__":
    main()
