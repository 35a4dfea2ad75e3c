"""The commands from a folder of recordings to a service: ``train``, ``predict``,
``export``, ``serve``. Each imports what it needs when it runs: ``predict`` and
``serve`` on a bundle need only the runtime."""

import csv
import errno
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["evaluate_folder", "export_model", "predict", "serve", "train"]


def _bar(iterable=None, *, args, **kwargs):
    """A tqdm progress bar on the terminal (``args.terminal``: stderr, unfiltered);
    nothing when that is not a terminal, or with ``--quiet``."""
    from tqdm import tqdm

    out = getattr(args, "terminal", None) or sys.stderr
    return tqdm(iterable, disable=args.quiet or not out.isatty(), leave=False,
                file=out, **kwargs)


def _chunks(n, size, *, args, desc):
    """Slices of ``range(n)``, ``size`` at a time, with a bar counting files."""
    with _bar(total=n, args=args, desc=desc, unit="file") as bar:
        for start in range(0, n, size):
            yield slice(start, start + size)
            bar.update(min(size, n - start))


def _error(command, message):
    print(f"sk-cry {command}: error: {message}", file=sys.stderr)
    return 2


def _warn(command, message):
    print(f"sk-cry {command}: warning: {message}", file=sys.stderr)


def _cnn_pipeline(args, **common):
    """``make_cnn_pipeline`` with the command's ``--seed`` and ``--epochs`` (None:
    the CNN's own default, so it is stated once, in ``CryCNNClassifier``)."""
    from ..models import make_cnn_pipeline

    epochs = {} if args.epochs is None else {"epochs": args.epochs}
    return make_cnn_pipeline(random_state=args.seed, **epochs, **common)


# What a fit needs of the data, checked before anything is fitted. Each check
# says which rule is not met and the smallest numbers that meet it; where a
# smaller setting is sound (fewer folds, no early stopping) the command takes it
# and says so on stderr, and where none is (one class, a class with one clip in
# cross-validation) it exits with status 2.

def _labelled_folder(command, args):
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
        return None, _error(command, exc)
    root, empty = Path(args.folder), []
    if args.labels_csv is None and any(Path(p).parent != root for p in data.paths):
        classes = set(data.labels)  # labels are the sub-folder names
        empty = sorted(d for d in root.iterdir() if d.is_dir()
                       and not d.name.startswith(".") and d.name not in classes)
    if len(np.unique(data.labels)) < 2:
        return None, _one_class(command, data.labels, args.labels_csv or args.folder,
                                empty)
    for folder in empty:
        _warn(command, f"{folder} holds no audio files ({', '.join(AUDIO_EXTENSIONS)}), "
              f"so there is no class {folder.name!r}; put its recordings there, or "
              "remove the folder")
    return data, None


def _one_class(command, labels, source, empty=()):
    """The error for fewer than two classes (status 2)."""
    import numpy as np

    found = np.unique(labels)
    what = (f"found only {str(found[0])!r} in {source}" if len(found)
            else f"found no readable files in {source}")
    why = "".join(f"; {folder} holds no audio files" for folder in empty)
    return _error(command, f"needs at least two classes, {what}{why}: add recordings "
                  "of at least one other class")


def _least(label_sets, classes):
    """``(class, count)``: the fewest clips any class has in any of the label sets."""
    import numpy as np

    return min(((c, int(np.sum(labels == c))) for labels in label_sets for c in classes),
               key=lambda found: found[1])


def _cv_folds(args, y, groups):
    """The splitter ``evaluate`` gets, and the labels of each training fold.

    ``--cv`` folds, or as many as the smallest class allows, said on stderr:
    ``StratifiedKFold`` needs ``n_splits`` clips of each class (recording groups
    with ``StratifiedGroupKFold``). The same splitter ``evaluate`` makes of an
    int, made here so that the fits can be checked on the very folds.
    ``(splitter, label_sets, None)``, or ``(None, None, 2)`` after saying why not.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    classes = np.unique(y)
    if groups is None:
        unit, have = "clips", {c: int(np.sum(y == c)) for c in classes}
    else:
        unit = "recording groups"
        have = {c: len(np.unique(groups[y == c])) for c in classes}
    least = min(have, key=have.get)
    if have[least] < 2:
        return None, None, _error(
            "evaluate", f"cross-validation needs at least 2 {unit} of each class, so "
            f"that each class is both trained on and tested; {str(least)!r} has "
            f"{have[least]}: add recordings of it"
            + (" from other groups, or fold clips instead of groups with --groups none"
               if groups is not None else ""))
    n_splits = min(args.cv, have[least])
    if n_splits < args.cv:
        _warn("evaluate", f"--cv {args.cv} needs at least {args.cv} {unit} of each "
              f"class; {str(least)!r} has {have[least]}: evaluating with {n_splits}-fold "
              "cross-validation instead")
    kind = StratifiedKFold if groups is None else StratifiedGroupKFold
    splitter = kind(n_splits, shuffle=True, random_state=args.seed)
    label_sets = [y[train] for train, _ in splitter.split(np.zeros(len(y)), y, groups)]
    missing, count = _least(label_sets, classes)
    if count == 0:  # grouped folds only: ungrouped ones keep every class in training
        return None, None, _error(
            "evaluate", f"with {n_splits}-fold grouped cross-validation a training fold "
            f"holds no clip of {str(missing)!r}: add recordings of more groups of it, "
            "or fold clips instead of groups with --groups none")
    return splitter, label_sets, None


def _holds_out(labels, fraction):
    """Whether the CNN's stratified validation split of ``fraction`` of these clips
    exists: the estimator's own ``train_test_split`` call, tried."""
    from sklearn.model_selection import train_test_split

    try:
        train_test_split(labels, test_size=fraction, stratify=labels, random_state=0)
    except ValueError:
        return False
    return True


def _fit_to_data(command, pipe, label_sets, *, cv=None, asked_cv=None,
                 grouped=False):
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
        least, count = _least(label_sets, classes)
        has = (f"{str(least)!r} has {count}" if cv is None
               else f"one holds {count} of {str(least)!r}")
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
            return _error(command, f"the SVM's probability calibration "
                          f"(CalibratedClassifierCV) cross-validates within {within}, "
                          f"which needs at least 2 clips of each class there; {has}: "
                          f"{fix}" + ("" if cv is None else
                                      "; or leave the SVM out (--models cnn)"))
        if count < clf.cv:
            _warn(command, f"the SVM's probability calibration (CalibratedClassifierCV) "
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
            _warn(command, f"early stopping holds out {fraction:.0%} of {within} "
                  f"(stratified) to decide when to stop, which needs at least 2 clips of "
                  f"each class and {fewest} in all; "
                  + (f"there are {len(short)} ({counts})" if cv is None
                     else f"one holds {len(short)} ({counts})")
                  + f": training for all {clf.epochs} epochs, without early stopping "
                  "or a validation split")
            pipe.set_params(**{f"{pipe.steps[-1][0]}__early_stopping": False})
    return None


def _out_of_range(command, args):
    """None, or 2 after naming the first number option out of its range: before
    any file is read, rather than as an estimator's parameter error mid-fit."""
    limits = [("--duration", args.duration, 0, "seconds above 0"),
              ("--max-bandwidth", args.max_bandwidth, 0, "Hz above 0"),
              ("--epochs", args.epochs, 0, "at least 1")]
    if command == "evaluate":
        limits.append(("--cv", args.cv, 1, "at least 2 (cross-validation needs 2 "
                       "folds)"))
    for option, value, floor, what in limits:
        if value is not None and not value > floor:  # NaN too
            return _error(command, f"{option} {value:g}: must be {what}")
    return None


def _writable(command, path, what):
    """None, or 2 after saying that ``path``'s folder is not there (before an hour
    of fitting, not after)."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        return _error(command, f"cannot write {what} {path}: no folder {folder}; "
                      "create it first")
    return None


def train(args):
    """Fit a CNN or SVM pipeline on a folder and save it with ``sk_cry.save``.

    Exit status 0 when saved, 2 when the folder, its labels or a file cannot be
    used (fewer than two classes, an unreadable file, too few clips to fit).
    """
    import numpy as np

    from ..exceptions import SkCryError
    from ..models import make_svm_pipeline, save

    start = time.perf_counter()
    status = _out_of_range("train", args) or _writable("train", args.output,
                                                       "the model")
    if status:
        return status
    data, status = _labelled_folder("train", args)
    if data is None:
        return status
    y = data.target_names[data.target]  # class names, so predictions are names
    common = dict(duration=args.duration, max_bandwidth=args.max_bandwidth)
    if args.model == "cnn":
        pipe = _cnn_pipeline(args, **common)
    else:
        pipe = make_svm_pipeline(**common)
    pipe.check_steps()
    status = _fit_to_data("train", pipe, [y])
    if status:
        return status
    counts = ", ".join(f"{n} {c}" for n, c in zip(*np.unique(y, return_counts=True)))
    print(f"training a {args.model.upper()} pipeline on {len(y)} files ({counts})",
          flush=True)
    loader, features, rest = pipe.steps[0][1], pipe.steps[1][1], pipe[2:]
    try:
        waves = np.concatenate([
            loader.transform(data.paths[part])
            for part in _chunks(len(y), 32, args=args, desc="decoding")])
    except SkCryError as exc:
        return _error("train", f"{exc} (leave the file out, or fix it, and train again)")
    features.fit(waves)  # records the input shape; the maps come chunk by chunk
    maps = np.concatenate([features.transform(waves[part])
                           for part in _chunks(len(y), 32, args=args, desc="features")])
    print(f"decoded and computed features in {time.perf_counter() - start:.1f} s; "
          "fitting ...", flush=True)
    if args.model == "cnn":
        bar = _bar(total=pipe[-1].epochs, args=args, desc="epochs", unit="epoch")
        pipe.set_params(cnn__fit__callbacks=[_epoch_callback(bar)])
    try:
        rest.fit(maps, y)
    except SkCryError as exc:
        if args.model == "cnn":
            bar.close()
        return _error("train", exc)
    summary = [f"{time.perf_counter() - start:.1f} s in all"]
    if args.model == "cnn":
        bar.close()
        cnn = pipe[-1]
        # the saved model must not carry the progress bar: scikeras keeps the
        # fit's callbacks beside its parameters, so both are reset
        cnn.set_params(fit__callbacks=None)
        cnn._initialize_callbacks()
        loss = cnn.history_["loss"]
        summary.insert(0, f"{len(loss)} epochs, final training loss {loss[-1]:.3f}, "
                       f"{cnn.model_.count_params():,} weights")
    train_score = float(np.mean(rest.predict(maps) == y))
    try:
        path = save(pipe, args.output)
    except (SkCryError, OSError) as exc:
        return _error("train", f"cannot save the model: {exc}")
    print(f"saved {path} ({path.stat().st_size / 1e3:.0f} KB; a pickle: load it only "
          "where you trust it); " + "; ".join(summary))
    print(f"accuracy on its own training files {train_score:.3f} (not an estimate of "
          "anything: use sk-cry evaluate for that)")
    return 0


def evaluate_folder(args):
    """Audit a folder, cross-validate each model, print and write an HTML report.

    Exit status 0 when every file was evaluated, 1 when some could not be read
    and were left out (each named on stderr, the report made of the rest), 2
    when the folder, its labels or the options cannot be used (fewer than two
    classes, too few clips to cross-validate a model).
    """
    import matplotlib

    matplotlib.use("Agg")  # files, not windows
    import numpy as np

    from ..evaluation import audit, evaluate, write_report
    from ..exceptions import SkCryError
    from ..io import load_audio
    from ..models import make_svm_pipeline

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - {"cnn", "svm"}
    if unknown or not models:
        return _error("evaluate", f"--models takes cnn and/or svm, got {args.models!r}")
    status = _out_of_range("evaluate", args) or _writable("evaluate", args.report,
                                                           "the report")
    if status:
        return status
    data, status = _labelled_folder("evaluate", args)
    if data is None:
        return status
    groups = data.groups if args.groups == "auto" else None
    y = data.target_names[data.target]
    print(f"evaluating on {len(y)} files, classes {', '.join(data.target_names)}"
          + (f", {len(set(groups))} groups (folds keep them apart)" if groups is not None
             else ", no groups"), flush=True)
    report = audit(data.paths, y, groups, n_jobs=-1)
    print(report, flush=True)
    # a file the audit cannot read would fail every fold it is in: it is left
    # out, named, and the status says so
    unreadable = report.by_kind("unreadable")
    left_out = {f.files[0] for f in unreadable}
    for finding in unreadable:
        _warn("evaluate", f"{finding.message}, and so does the evaluation")
    keep = [i for i, p in enumerate(data.paths) if p not in left_out]
    paths, y = [data.paths[i] for i in keep], y[keep]
    groups = None if groups is None else groups[keep]
    if len(np.unique(y)) < 2:
        return _one_class("evaluate", y, args.labels_csv or args.folder)
    splitter, label_sets, status = _cv_folds(args, y, groups)
    if status:
        return status
    common = dict(duration=args.duration, max_bandwidth=args.max_bandwidth)
    factories = {"cnn": lambda: _cnn_pipeline(args, **common),
                 "svm": lambda: make_svm_pipeline(**common)}
    pipelines = {}
    for name in models:
        pipelines[name] = pipe = factories[name]()
        status = _fit_to_data("evaluate", pipe, label_sets, cv=splitter.n_splits,
                              asked_cv=args.cv, grouped=groups is not None)
        if status:
            return status
    results = {}
    try:
        for name in _bar(models, args=args, desc="models", unit="model"):
            # error_score="raise": a failing fit says why, here, rather than in
            # a FitFailedWarning and an "every fold failed"
            results[name.upper()] = result = evaluate(
                pipelines[name], paths, y, groups=groups, cv=splitter,
                random_state=args.seed, error_score="raise")
            print(f"{name.upper()}: {result}", flush=True)
        examples = {}
        for label in np.unique(y):
            first = paths[int(np.flatnonzero(y == label)[0])]
            examples[str(label)] = load_audio(first, sr=16000, duration=args.duration,
                                              max_bandwidth=args.max_bandwidth)
    except SkCryError as exc:
        return _error("evaluate", exc)
    try:
        write_report(args.report, title=f"sk_cry evaluation of {args.folder}",
                     audit=report, results=results, examples=examples, sr=16000)
    except OSError as exc:
        return _error("evaluate", f"cannot write the report: {exc}")
    print(f"wrote {args.report}")
    if left_out:
        print(f"sk-cry evaluate: {len(left_out)} of {len(data.paths)} files could not be "
              "read and were left out (named above)", file=sys.stderr)
    return 1 if left_out else 0


def _epoch_callback(bar):
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.3f}")
            bar.update(1)

    return EpochProgress()


def _is_bundle(path):
    """A bundle is a ZIP archive from its first byte (a saved pipeline is a
    header and a pickle, which may hold ZIP archives of its own)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _load_model(path):
    """``(model, kind)``: a bundle on the runtime, or a saved pipeline."""
    import stat

    from ..exceptions import ModelFileError

    try:
        mode, size = os.stat(path).st_mode, os.stat(path).st_size
    except OSError as exc:
        raise ModelFileError(f"{path}: {exc.strerror}; name a bundle (sk-cry export) "
                             "or a saved model (sk-cry train)") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path} is not a regular file; name a bundle (sk-cry "
                             "export) or a saved model (sk-cry train)")
    if size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes), not a bundle or a saved "
                             "model; copy, export or train it again")
    if _is_bundle(path):
        from ..runtime import load

        return load(path), "bundle"
    from ..models import load

    return load(path), "pipeline"


def _audio_files(items):
    """The paths to predict: each item, and in a folder every entry named like
    audio, whatever it is (a FIFO, a broken link, a link loop, a folder named
    ``x.wav``): the loader says why it cannot be read, in that entry's row.
    Links to folders are not followed (no loops)."""
    from ..io import AUDIO_EXTENSIONS

    files = []
    for item in map(Path, items):
        if not item.is_dir():
            files.append(str(item))  # a missing or bad file becomes a row with its error
            continue
        found = []
        for folder, dirs, names in os.walk(item):
            found += [os.path.join(folder, n) for n in dirs + names
                      if os.path.splitext(n)[1].lower() in AUDIO_EXTENSIONS]
        files += sorted(found)
    return files


def _shown(path):
    """A path on one line of a table: ``repr``'s escapes for a newline or a
    control character, the path itself otherwise."""
    return path if path.isprintable() else repr(path)[1:-1]


def _rows(model, kind, paths, args):
    """One dict per file (and per window with --window), classes by name."""
    names = [str(c) for c in model.classes_]
    rows = []
    for part in _chunks(len(paths), 16, args=args, desc="predicting"):
        chunk = paths[part]
        if args.window is None:
            if kind == "bundle":
                records = model.predict_files(chunk, strict=args.strict)
            else:
                from ..models import predict_files

                records = predict_files(model, chunk, strict=args.strict)
            for r in records:
                rows.append(dict(path=r.path, start=None, label=r.label,
                                 probabilities=r.probabilities, silent=r.silent,
                                 error=r.error, truncated=r.truncated))
            continue
        if kind == "bundle":
            recordings = model.predict_windows(chunk, window=args.window, hop=args.hop)
        else:
            from ..models import predict_windows

            recordings = predict_windows(model, chunk, window=args.window, hop=args.hop)
        for r in recordings:
            rows.append(dict(path=r.path, start=None, label=r.label,
                             probabilities=r.probabilities, silent=r.silent,
                             error=r.error, padded=r.padded, duration=r.duration,
                             truncated=r.truncated))
            for w in r.windows:
                rows.append(dict(path=r.path, start=w.start, label=w.label,
                                 probabilities=w.probabilities, silent=w.silent,
                                 error=None))
    for row in rows:
        row["label"] = None if row["label"] is None else str(row["label"])
        row["probabilities"] = row["probabilities"] or {n: None for n in names}
    return rows, names


def _note(row):
    if row["error"]:
        return row["error"]
    notes = ["silent (below -60 dBFS)"] if row["silent"] else []
    notes += ["padded (shorter than one window)"] if row.get("padded") else []
    notes += [f"truncated: {row['truncated']}"] if row.get("truncated") else []
    return "; ".join(notes)


def predict(args):
    """Predict files and folders with a saved pipeline or an exported bundle."""
    from ..exceptions import SkCryError

    try:
        model, kind = _load_model(args.model)
    except (SkCryError, OSError) as exc:
        return _error("predict", exc)
    paths = _audio_files(args.paths)
    if not paths:
        return _error("predict", f"no audio files in {' '.join(args.paths)}")
    if args.window is None and args.hop is not None:
        return _error("predict", "--hop needs --window")
    try:
        rows, names = _rows(model, kind, paths, args)
    except SkCryError as exc:
        return _error("predict", exc)
    where = ["path"] + (["start"] if args.window is not None else [])
    if args.format == "json":
        json.dump([{k: row.get(k) for k in where + ["label", "probabilities", "silent",
                                                     "truncated", "error"]}
                   for row in rows],
                  sys.stdout, indent=1)
        print()
    elif args.format == "csv":
        out = csv.writer(sys.stdout)
        out.writerow(where + ["label"] + [f"p_{n}" for n in names] + ["note"])
        for row in rows:
            p = row["probabilities"]
            out.writerow([row[k] if row[k] is not None else "" for k in where]
                         + [row["label"] or ""]
                         + ["" if p[n] is None else f"{p[n]:.4f}" for n in names]
                         + [_note(row)])
    else:
        width = min(60, max(len(_shown(r["path"])) for r in rows))
        head = f"{'file':<{width}} " + ("  start" if args.window is not None else "")
        print(head + f" {'label':<12}" + "".join(f" {n[:10]:>10}" for n in names))
        for row in rows:
            p = row["probabilities"]
            name = row["path"] if row["start"] is None else ""
            line = f"{_shown(name)[-width:]:<{width}} "
            if args.window is not None:
                line += "  total" if row["start"] is None else f"{row['start']:7.1f}"
            line += f" {row['label'] or '-':<12}" + "".join(
                f" {'-' if p[n] is None else format(p[n], '.3f'):>10}" for n in names)
            note = _shown(_note(row))
            print(line + (f"  {note}" if note else ""))
    failed = sum(1 for r in rows if r["error"])
    if failed:
        print(f"sk-cry predict: {failed} of {len(paths)} files could not be read",
              file=sys.stderr)
    return 1 if failed else 0


def export_model(args):
    """Export a saved CNN pipeline to a bundle."""
    from sklearn.exceptions import NotFittedError

    from ..exceptions import SkCryError
    from ..models import export, load

    try:
        manifest = export(load(args.model), args.output)
    except (SkCryError, NotFittedError, OSError) as exc:
        return _error("export", exc)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output} ({size / 1e3:.0f} KB, format version "
          f"{manifest['format_version']}, model {manifest['model_sha256'][:12]}); "
          "run it with sk-cry predict, sk-cry serve or sk_cry.runtime.load, without "
          "TensorFlow")
    return 0


def serve(args):
    """Serve a bundle over HTTP on uvicorn."""
    from ..exceptions import SkCryError

    try:
        import uvicorn  # noqa: F401  (the serve extra, checked before the model loads)

        from ..service import make_app, run_server
    except ImportError as exc:
        return _error("serve", f"{exc}: pip install \"sk-cry[serve]\"")
    if not _is_bundle(args.model):
        return _error("serve", f"{args.model} is not an exported bundle; export a saved "
                      "pipeline first: sk-cry export MODEL OUT.skcry-bundle")
    try:
        from ..runtime import load

        model = load(args.model)
    except (SkCryError, OSError) as exc:
        return _error("serve", exc)
    limits = {key: value for key, value in [("max_seconds", args.max_seconds),
                                            ("max_concurrent", args.max_concurrent)]
              if value is not None}
    try:
        app = make_app(model, name=Path(args.model).name, max_upload=args.max_upload,
                       **limits)
    except SkCryError as exc:  # a limit that is not positive
        return _error("serve", exc)
    try:
        sock = _listening_socket(args.host, args.port)
    except OSError as exc:
        return _error("serve", exc)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"sk-cry serve: listening on {args.host}: reachable from other machines, "
              "with no authentication", file=sys.stderr)
    port = sock.getsockname()[1]
    print(f"serving {args.model} on http://{args.host}:{port}/ (Ctrl-C stops)",
          flush=True)
    run_server(app, sock)
    return 0


def _listening_socket(host, port):
    """A socket bound to ``host:port``, made before anything says "serving": a
    bad host, a port out of range or in use is an ``OSError`` that says which."""
    import socket

    if not 0 <= port <= 65535:
        raise OSError(f"--port {port}: a TCP port is 0-65535 (0: any free port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OSError(f"--host {host}: not an address of this machine ({exc.strerror})"
                      ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = ("in use by another program; choose another --port"
               if exc.errno == errno.EADDRINUSE else f"{exc.strerror}; choose another "
               "--host or --port")
        raise OSError(f"cannot listen on {host}:{port}: {why}") from None
    return sock
