"""Helpers shared by the benchmark scripts: where the data is, what machine ran."""

import os
import platform
import time
from pathlib import Path

SEED_CRY = Path(os.environ.get(
    "SK_CRY_SEED_CRY", Path(__file__).resolve().parents[2] / "shared" / "data" / "seed-cry"
))


def load_seed_cry(root=SEED_CRY):
    """The reference split: ``(train, test)`` Bunches from ``sk_cry.load_folder``."""
    from sk_cry.datasets import load_folder

    root = Path(root)
    return (load_folder(root / "train", root / "train_labels.csv"),
            load_folder(root / "test", root / "test_labels.csv"))


def all_seed_cry(root=SEED_CRY):
    """Every seed-cry clip, ``train/`` then ``test/``: ``(paths, y)``."""
    import numpy as np

    train, test = load_seed_cry(root)
    return list(train.paths) + list(test.paths), np.r_[train.target, test.target]


def seed_cry_setups(report, paths, y):
    """The three evaluation setups of seed-cry, ``{key: (name, paths, labels, band)}``.

    (a) as recorded, hungry vs other; (b) every clip band-limited to 4 kHz (the
    band of the 8-kHz hungry corpus), hungry vs other; (c) the five non-hungry
    reasons, all from one 16-kHz source, one copy of each duplicate that
    ``report`` (an :func:`sk_cry.audit` of ``paths``) found: a task where no
    recording shortcut separates the classes.
    """
    import numpy as np

    drop = {max(d.files, key=str) for d in report.by_kind("duplicate")}
    reasons = np.array([Path(p).name.split("_")[0].split("-")[0] for p in paths])
    keep = [i for i, p in enumerate(paths) if y[i] == 0 and p not in drop]
    return {
        "a": ("(a) as recorded", list(paths), y, None),
        "b": ("(b) band-limited to 4 kHz", list(paths), y, 4000.0),
        "c": ("(c) non-hungry reasons only, deduplicated", [paths[i] for i in keep],
              reasons[keep], None),
    }


def load_split(args, tmp, n_train, n_test):
    """``(train, test, duration)``: seed-cry's split, or with ``args.smoke`` tiny
    synthetic 1-s cries written to ``tmp`` as WAV files."""
    if not args.smoke:
        return (*load_seed_cry(args.data), 6.0)
    from sk_cry.datasets import load_folder, make_cries, write_folder

    X, y = make_cries(n_train + n_test, duration=1.0, random_state=0)
    train = load_folder(write_folder(X[:n_train], y[:n_train], f"{tmp}/train", sr=16000))
    test = load_folder(write_folder(X[n_train:], y[n_train:], f"{tmp}/test", sr=16000))
    return train, test, 1.0


# Memory of the current process in kB, as Python expressions for the code that
# benchmarks run in fresh interpreters: resident now, and the peak (VmHWM). Not
# ``ru_maxrss``: Linux carries it over from the parent through fork and exec, so
# a child of a process holding TensorFlow "peaked" at the parent's ~900 MB.
RSS_KB = ("int(next(l.split()[1] for l in open('/proc/self/status') "
          "if l.startswith('VmRSS:')))")
PEAK_KB = ("int(next(l.split()[1] for l in open('/proc/self/status') "
           "if l.startswith('VmHWM:')))")


def machine():
    """One line naming the date, CPU count and library versions of this run."""
    import keras
    import librosa
    import sklearn
    import tensorflow as tf

    return (
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, TF {tf.__version__}, Keras "
        f"{keras.__version__}, sklearn {sklearn.__version__}, librosa {librosa.__version__}"
    )


def mean_std(values):
    import numpy as np

    values = np.asarray(values, float)
    return f"{100 * values.mean():.1f} ± {100 * values.std():.1f}"
