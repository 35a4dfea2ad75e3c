"""Saving the fitted SVM pipeline: joblib, ``sk_cry.save`` and skops.

``skops.io`` stores a model without pickle: loading it builds only the types the
caller lists as trusted (``trusted=``), so a file cannot run code by merely being
loaded, unlike joblib (``sk_cry.save`` adds a header to a joblib payload; its
SHA-256 catches damage, not a file changed on purpose). This script measures what
skops would cost for the SVM pipeline, beside plain ``joblib.dump`` (the
reference) and ``sk_cry.save``: file size, save and load time (best of
``--repeats``, in this process), the first load in a new interpreter (imports
included: what a command line or a service pays; best of 3), whether ``predict_proba`` on
the test clips is bitwise the same after loading, and which types
``skops.io.get_untrusted_types`` lists: the ones a user must trust by name.

    python benchmarks/persist.py           # seed-cry (~1 min on 2 cores)
    python benchmarks/persist.py --smoke   # 32 synthetic 1-s clips (~10 s)

Needs ``pip install skops``. Imports no TensorFlow (the SVM needs none).
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

import sk_cry
from _common import SEED_CRY, load_split

try:
    import skops
    import skops.io as sio
except ImportError:
    sys.exit("benchmarks/persist.py compares with skops: pip install skops")


# Best of, not median: on a shared 2-core machine other jobs only ever add time
# (new-process loads of the same file ranged 1.19-1.98 s, medians 1.28 and 1.72 s
# for two formats whose best runs were 0.01 s apart)
def _best_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _fresh_load(code, repeats):
    """Best seconds of ``code`` (imports and one load) in a new interpreter."""
    probe = (f"import time\nstart = time.perf_counter()\n{code}\n"
             "print(time.perf_counter() - start)")
    return min(
        float(subprocess.run([sys.executable, "-c", probe], capture_output=True,
                             text=True, check=True).stdout.split()[-1])
        for _ in range(repeats))


def _versions():
    # not _common.machine(): it imports TensorFlow, which nothing here needs
    import sklearn

    return (f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, sklearn "
            f"{sklearn.__version__}, joblib {joblib.__version__}, skops "
            f"{skops.__version__}, sk_cry {sk_cry.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data")
    parser.add_argument("--data", default=SEED_CRY, help="seed-cry folder")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timing repeats (default 7, 2 with --smoke)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.smoke else 7)
    fresh_repeats = 1 if args.smoke else 3

    with tempfile.TemporaryDirectory() as tmp:
        train, test, duration = load_split(args, tmp, n_train=24, n_test=8)
        start = time.perf_counter()
        pipe = sk_cry.make_svm_pipeline(duration=duration).fit(train.paths, train.target)
        print(f"fitted the SVM pipeline on {len(train.paths)} clips in "
              f"{time.perf_counter() - start:.1f} s; {len(test.paths)} test clips")
        expected = pipe.predict_proba(test.paths)
        untrusted = sio.get_untrusted_types(data=sio.dumps(pipe))

        out = Path(tmp)
        formats = {
            "joblib.dump / joblib.load (reference)": (
                out / "svm.joblib",
                lambda p: joblib.dump(pipe, p), joblib.load,
                "import joblib; joblib.load({p!r})"),
            "sk_cry.save / sk_cry.load": (
                out / "svm.skcry",
                lambda p: sk_cry.save(pipe, p), sk_cry.load,
                "import sk_cry; sk_cry.load({p!r})"),
            "skops.io.dump / load(trusted=...)": (
                out / "svm.skops",
                lambda p: sio.dump(pipe, p), lambda p: sio.load(p, trusted=untrusted),
                "import skops.io as sio; sio.load({p!r}, trusted=" + repr(untrusted)
                + ")"),
        }
        rows = []
        for name, (path, dump, load, fresh) in formats.items():
            save_s = _best_seconds(lambda: dump(path), repeats)
            load_s = _best_seconds(lambda: load(path), repeats)
            fresh_s = _fresh_load(fresh.format(p=str(path)), fresh_repeats)
            got = load(path).predict_proba(test.paths)
            rows.append((name, path.stat().st_size, save_s, load_s, fresh_s,
                         np.array_equal(got, expected)))

        try:
            sio.load(out / "svm.skops")
            refused = "loaded without trusted= (unexpected)"
        except Exception as error:  # skops's UntrustedTypesFoundException
            refused = f"refused: {type(error).__name__}"

    ref = rows[0]
    print(f"\n{_versions()}; best of {repeats} (in-process), {fresh_repeats} (new "
          "process)\n")
    print("| format | file KB | save ms | load ms | load vs joblib | first load in a "
          "new process, s | predict_proba bitwise equal |")
    print("|---|---|---|---|---|---|---|")
    for name, size, save_s, load_s, fresh_s, same in rows:
        print(f"| {name} | {size / 1e3:.1f} | {1e3 * save_s:.1f} | {1e3 * load_s:.1f} | "
              f"{load_s / ref[3]:.1f}x | {fresh_s:.2f} | {'yes' if same else 'NO'} |")
    print(f"\nskops.io.get_untrusted_types lists {len(untrusted)} types, each to be "
          "trusted by name:")
    for name in untrusted:
        print(f"  {name}{'  (sk_cry)' if name.startswith('sk_cry.') else ''}")
    print(f"skops.io.load without trusted=: {refused}")


if __name__ == "__main__":
    main()
