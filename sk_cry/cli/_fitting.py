"""What ``train`` and ``evaluate`` share: the options of a fit, the pipelines
they name, and what a fit needs of the data, checked before anything is fitted.

Each check says which rule is not met and the smallest numbers that meet it;
where a smaller setting is sound (fewer folds, no early stopping) the command
takes it and says so on stderr, and where none is (one class, a class with one
clip in cross-validation) it exits with status 2.
"""

from pathlib import Path

from ._common import LibraryDefault, add_quiet, add_seed, error, given, warn

__all__ = ["PIPELINES", "add_cv_options", "add_fit_options", "cv_folds", "fit_to_data",
           "labelled_folder", "least", "one_class", "out_of_range", "pipeline",
           "writable"]


def _cnn(**options):
    from ..models import make_cnn_pipeline

    return make_cnn_pipeline(**options)


def _svm(**options):
    from ..models import make_svm_pipeline

    return make_svm_pipeline(**options)


#: The pipelines a command can name, each made by its library function.
PIPELINES = {"cnn": _cnn, "svm": _svm}


def pipeline(name, args):
    """The ``name``d pipeline with the options the command was given: its
    library function's own default for each one left out (``--epochs``:
    ``CryCNNClassifier``'s; ``--duration``: the loader's)."""
    options = given(args, "duration", "max_bandwidth")
    if name == "cnn":
        options.update(given(args, "epochs"), random_state=args.seed)
    return PIPELINES[name](**options)


def add_fit_options(parser):
    """The options of a fit, for a parser that takes a folder of recordings."""
    parser.add_argument("folder", help="one sub-folder per class, or --labels-csv, or "
                        "Donate-a-cry file names")
    parser.add_argument("--labels-csv", default=None,
                        help="CSV of <file>,<label> rows")
    parser.add_argument("--max-bandwidth", type=float, default=None,
                        help="remove content above this many Hz (4000: every clip "
                        "sounds like 8-kHz audio)")
    parser.add_argument("--duration", type=float,
                        default=LibraryDefault("sk_cry.models", "make_cnn_pipeline",
                                               "duration"),
                        help="seconds read from each file (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="CNN epochs at most, with early stopping where there are "
                        "clips enough to hold some out (else all of them, said on "
                        "stderr; default: CryCNNClassifier's)")
    add_seed(parser)
    add_quiet(parser)


def add_cv_options(parser, when=""):
    """``--groups`` and ``--cv``: the outer folds of a cross-validation."""
    parser.add_argument("--groups", choices=("auto", "none"), default="auto",
                        help=f"{when}auto: keep the recording groups that file names "
                        "give (Donate-a-cry) in one fold each")
    parser.add_argument("--cv", type=int, default=LibraryDefault("sk_cry.evaluation",
                                                                 "evaluate", "cv"),
                        help=f"{when}folds (default %(default)s; fewer, said on "
                        "stderr, when the smallest class has fewer clips or groups)")


def labelled_folder(command, args):
    """``load_folder`` for a fit: ``(data, None)``, or ``(None, 2)`` after saying
    why not. A class sub-folder holding no audio is named: ``load_folder`` lists
    files, so that class would vanish without a word."""
    import numpy as np

    from ..datasets import load_folder
    from ..exceptions import SkCryError
    from ..io import AUDIO_EXTENSIONS

    try:
        data = load_folder(args.folder, args.labels_csv)
    except (SkCryError, OSError) as exc:
        return None, error(command, exc)
    root, empty = Path(args.folder), []
    if args.labels_csv is None and any(Path(p).parent != root for p in data.paths):
        classes = set(data.labels)  # labels are the sub-folder names
        empty = sorted(d for d in root.iterdir() if d.is_dir()
                       and not d.name.startswith(".") and d.name not in classes)
    if len(np.unique(data.labels)) < 2:
        return None, one_class(command, data.labels, args.labels_csv or args.folder,
                               empty)
    for folder in empty:
        warn(command, f"{folder} holds no audio files ({', '.join(AUDIO_EXTENSIONS)}), "
             f"so there is no class {folder.name!r}; put its recordings there, or "
             "remove the folder")
    return data, None


def one_class(command, labels, source, empty=()):
    """The error for fewer than two classes (status 2)."""
    import numpy as np

    found = np.unique(labels)
    what = (f"found only {str(found[0])!r} in {source}" if len(found)
            else f"found no readable files in {source}")
    why = "".join(f"; {folder} holds no audio files" for folder in empty)
    return error(command, f"needs at least two classes, {what}{why}: add recordings "
                 "of at least one other class")


def least(label_sets, classes):
    """``(class, count)``: the fewest clips any class has in any of the label sets."""
    import numpy as np

    return min(((c, int(np.sum(labels == c))) for labels in label_sets for c in classes),
               key=lambda found: found[1])


def _holds_out(labels, fraction):
    """Whether the CNN's stratified validation split of ``fraction`` of these clips
    exists: the estimator's own ``train_test_split`` call, tried."""
    from sklearn.model_selection import train_test_split

    try:
        train_test_split(labels, test_size=fraction, stratify=labels, random_state=0)
    except ValueError:
        return False
    return True


def fit_to_data(command, pipe, label_sets, *, cv=None, asked_cv=None, grouped=False):
    """Fit ``pipe``'s own cross-validation to the clips it will be fitted on.

    ``label_sets``: the labels of each fit (all the clips for ``train``, each
    training fold for ``evaluate``: ``cv`` folds of the ``asked_cv`` asked for,
    ``grouped`` or not). The SVM's probability calibration
    (``CalibratedClassifierCV``) gets fewer folds, and the CNN no early
    stopping, where the clips are too few, said on stderr. None, or 2 after
    saying why ``pipe`` cannot be fitted at all.
    """
    import math

    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV

    classes = np.unique(np.concatenate(label_sets))
    within = ("the training clips" if cv is None else
              f"each training fold of the {cv}-fold cross-validation")
    clf = pipe[-1]
    if isinstance(clf, CalibratedClassifierCV) and isinstance(clf.cv, int):
        fewest, count = least(label_sets, classes)
        has = (f"{str(fewest)!r} has {count}" if cv is None
               else f"one holds {count} of {str(fewest)!r}")
        if count < 2:
            if cv is None:
                fix = "add recordings, or train the CNN (--model cnn)"
            elif grouped:
                fix = "add recordings of more groups of each class"
            else:
                # StratifiedKFold tests ceil(m / cv) of a class's m clips at most,
                # so a training fold keeps m - ceil(m / cv) of them: 3 with cv >= 3
                m = next(m for m in range(3, 1000)
                         if m - math.ceil(m / min(asked_cv, m)) >= 2)
                fix = (f"with --cv {asked_cv} that takes at least {m} clips of each "
                       "class" + (" (3 with --cv 3)" if m > 3 else ""))
            return error(command, f"the SVM's probability calibration "
                         f"(CalibratedClassifierCV) cross-validates within {within}, "
                         f"which needs at least 2 clips of each class there; {has}: "
                         f"{fix}" + ("" if cv is None else
                                     "; or leave the SVM out (--models cnn)"))
        if count < clf.cv:
            warn(command, f"the SVM's probability calibration (CalibratedClassifierCV) "
                 f"cross-validates {clf.cv}-fold within {within}, which needs at least "
                 f"{clf.cv} clips of each class there; {has}: calibrating with {count} "
                 "folds instead")
            pipe.set_params(**{f"{pipe.steps[-1][0]}__cv": count})
    if getattr(clf, "early_stopping", False) and clf.epochs > 1:
        fraction = clf.validation_fraction
        short = next((labels for labels in label_sets
                      if not _holds_out(labels, fraction)), None)
        if short is not None:
            k = len(classes)
            fewest = next(n for n in range(2 * k, 100_000)
                          if _holds_out(np.arange(n) % k, fraction))
            counts = ", ".join(f"{n} {c}" for c, n in zip(*np.unique(short,
                                                                   return_counts=True)))
            warn(command, f"early stopping holds out {fraction:.0%} of {within} "
                 f"(stratified) to decide when to stop, which needs at least 2 clips of "
                 f"each class and {fewest} in all; "
                 + (f"there are {len(short)} ({counts})" if cv is None
                    else f"one holds {len(short)} ({counts})")
                 + f": training for all {clf.epochs} epochs, without early stopping "
                 "or a validation split")
            pipe.set_params(**{f"{pipe.steps[-1][0]}__early_stopping": False})
    return None


def out_of_range(command, args):
    """None, or 2 after naming the first number option out of its range: before
    any file is read, rather than as an estimator's parameter error mid-fit."""
    options = given(args, "duration", "max_bandwidth", "epochs", "cv")
    limits = [("duration", 0, "seconds above 0"), ("max_bandwidth", 0, "Hz above 0"),
              ("epochs", 0, "at least 1"),
              ("cv", 1, "at least 2 (cross-validation needs 2 folds)")]
    for name, floor, what in limits:
        value = options.get(name)
        if value is not None and not value > floor:  # NaN too
            return error(command, f"--{name.replace('_', '-')} {value:g}: must be {what}")
    return None


def writable(command, path, what):
    """None, or 2 after saying that ``path``'s folder is not there (before an hour
    of fitting, not after)."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        return error(command, f"cannot write {what} {path}: no folder {folder}; "
                     "create it first")
    return None


def cv_folds(command, args, y, groups):
    """The outer splitter of a cross-validation (``evaluate``'s, or ``train
    --model auto``'s), and the labels of each training fold.

    ``--cv`` folds, or as many as the smallest class allows, said on stderr:
    ``StratifiedKFold`` needs ``n_splits`` clips of each class (recording groups
    with ``StratifiedGroupKFold``). ``evaluate``'s splitter of that int
    (:func:`~sk_cry.evaluation.cv_splitter`), made here so that the fits can be
    checked on the very folds.
    ``(splitter, label_sets, None)``, or ``(None, None, 2)`` after saying why not.
    """
    import numpy as np

    from ..evaluation import cv_splitter

    classes = np.unique(y)
    if groups is None:
        unit, have = "clips", {c: int(np.sum(y == c)) for c in classes}
    else:
        unit = "recording groups"
        have = {c: len(np.unique(groups[y == c])) for c in classes}
    fewest = min(have, key=have.get)
    if have[fewest] < 2:
        return None, None, error(
            command, f"cross-validation needs at least 2 {unit} of each class, so "
            f"that each class is both trained on and tested; {str(fewest)!r} has "
            f"{have[fewest]}: add recordings of it"
            + (" from other groups, or fold clips instead of groups with --groups none"
               if groups is not None else ""))
    n_splits = min(args.cv, have[fewest])
    if n_splits < args.cv:
        warn(command, f"--cv {args.cv} needs at least {args.cv} {unit} of each "
             f"class; {str(fewest)!r} has {have[fewest]}: evaluating with "
             f"{n_splits}-fold cross-validation instead")
    splitter = cv_splitter(n_splits, groups, random_state=args.seed)
    label_sets = [y[train] for train, _ in splitter.split(np.zeros(len(y)), y, groups)]
    missing, count = least(label_sets, classes)
    if count == 0:  # grouped folds only: ungrouped ones keep every class in training
        return None, None, error(
            command, f"with {n_splits}-fold grouped cross-validation a training fold "
            f"holds no clip of {str(missing)!r}: add recordings of more groups of it, "
            "or fold clips instead of groups with --groups none")
    return splitter, label_sets, None
