"""``sk-cry train``: fit a pipeline on a folder of recordings with ``pipe.fit``,
as a Python user would, and save it with ``sk_cry.save``. The CNN's epochs show
on a progress bar through a Keras callback given to that one fit
(``cnn__callbacks``), which the saved model does not hold."""

import inspect
import time

from ._common import add_command, bar, error, given, resolved
from ._fitting import (
    PIPELINES,
    add_cv_options,
    add_fit_options,
    cv_folds,
    fit_to_data,
    labelled_folder,
    out_of_range,
    pipeline,
    writable,
)

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "train", "fit a CNN or SVM pipeline on a folder of recordings "
                    "and save it (exit status 0: saved; 2: the folder, its labels or a "
                    "file cannot be used, or too few clips to fit the model)",
                    "sk-cry train recordings/ --model cnn -o cry.skcry",
                    "sk-cry train recordings/ --model auto -o cry.skcry")
    add_fit_options(p)
    p.add_argument("--model", choices=[*PIPELINES, "auto"], default="cnn",
                   help="the pipeline to fit (default %(default)s); auto: the one "
                   "that nested cross-validation scores best, each with a small grid "
                   "(sk_cry.choose_model)")
    add_cv_options(p, when="with --model auto: ")
    p.add_argument("-o", "--output", required=True, help="where to save the model "
                   "(sk_cry.save: a pickle, load it only where you trust it)")
    p.set_defaults(func=run)
    return p


def run(args):
    """Fit a pipeline on a folder and save it with ``sk_cry.save``.

    Exit status 0 when saved, 2 when the folder, its labels or a file cannot be
    used (fewer than two classes, an unreadable file, too few clips to fit).
    """
    import numpy as np

    from ..exceptions import AudioLoadError, SkCryError
    from ..models import save

    start = time.perf_counter()
    status = out_of_range("train", args) or writable("train", args.output,
                                                      "the model")
    if status:
        return status
    data, status = labelled_folder("train", args)
    if data is None:
        return status
    y = data.target_names[data.target]  # class names, so predictions are names
    counts = ", ".join(f"{n} {c}" for n, c in zip(*np.unique(y, return_counts=True)))
    try:
        if args.model == "auto":
            pipe, status = _chosen(data, y, args=args, counts=counts)
            if status:
                return status
        else:
            pipe = pipeline(args.model, args)
            status = fit_to_data("train", pipe, [y])
            if status:
                return status
            print(f"training a {args.model.upper()} pipeline on {len(y)} files "
                  f"({counts})", flush=True)
            _fit(pipe, data.paths, y, args=args, start=start)
    except AudioLoadError as exc:
        return error("train", f"{exc} (leave the file out, or fix it, and train again)")
    except SkCryError as exc:
        return error("train", exc)
    summary = [f"{time.perf_counter() - start:.1f} s in all"]
    history = getattr(pipe[-1], "history_", None)
    if history is not None:
        loss = history["loss"]
        summary.insert(0, f"{len(loss)} epochs, final training loss {loss[-1]:.3f}, "
                       f"{pipe[-1].count_params():,} weights")
    # the files are decoded again: the pipeline keeps no features of its own
    train_score = float(np.mean(pipe.predict(data.paths) == y))
    try:
        path = save(pipe, args.output)
    except (SkCryError, OSError) as exc:
        return error("train", f"cannot save the model: {exc}")
    print(f"saved {path} ({path.stat().st_size / 1e3:.0f} KB; a pickle: load it only "
          "where you trust it); " + "; ".join(summary))
    print(f"accuracy on its own training files {train_score:.3f} (not an estimate of "
          "anything: use sk-cry evaluate for that)")
    return 0


def _chosen(data, y, *, args, counts):
    """``--model auto``: ``(pipeline, None)``, the winner of ``choose_model``
    fitted on all the files, or ``(None, status)`` after saying why not.

    The outer folds are ``--cv`` (grouped by the file names' recording groups
    unless ``--groups none``), checked as ``evaluate`` checks them; each
    candidate's grid search runs 3-fold inside each training fold."""
    from ..evaluation import choose_model, model_candidates

    args.cv = resolved(args.cv)
    groups = data.groups if args.groups == "auto" else None
    splitter, label_sets, status = cv_folds("train", args, y, groups)
    if status:
        return None, status
    inner, inner_sets = _inner_folds(splitter, y, groups, seed=args.seed)
    if inner is None:
        unit = "clips" if groups is None else "recording groups"
        return None, error("train", "--model auto searches each candidate's grid by "
                           "cross-validation inside each training fold, which needs at "
                           f"least 2 {unit} of each class there: add recordings, or "
                           "use --model cnn or --model svm")
    options = given(args, "duration", "max_bandwidth", "epochs")
    candidates = model_candidates(random_state=args.seed, **options)
    for pipe, _ in candidates.values():
        status = fit_to_data("train", pipe, inner_sets, cv=splitter.n_splits,
                             asked_cv=args.cv, grouped=groups is not None)
        if status:
            return None, status
    grids = "; ".join(f"{name.upper()} over " + ", ".join(
        f"{key.split('__')[-1]} {values}" for key, values in grid.items())
        for name, (_, grid) in candidates.items())
    print(f"choosing a model for {len(y)} files ({counts}) by nested cross-validation: "
          f"{splitter.n_splits}-fold"
          + (f", {len(set(groups))} recording groups kept apart" if groups is not None
             else "")
          + f", a {inner.n_splits}-fold grid search inside each training fold "
          f"({grids})",
          flush=True)
    choice = choose_model(data.paths, y, groups, candidates=candidates, cv=splitter,
                          inner_cv=inner, random_state=args.seed,
                          verbose=0 if args.quiet else 2)
    setting = ", ".join(f"{k.split('__')[-1]}={v}" for k, v in choice.best_params.items())
    print(f"{choice.summary()}\nchose the {choice.winner.upper()} ({setting}), fitted on "
          f"all {len(y)} files", flush=True)
    return choice.estimator, None


def _inner_folds(splitter, y, groups, *, seed, most=3):
    """``(inner, label_sets)``: the splitter of the grid search inside every
    outer training fold (at most ``most`` folds, as many as each class has clips
    or groups there; None below 2), and the labels each of its fits is trained
    on (the fewest clips any fit sees: what the fit checks need). ``inner`` is
    given to ``choose_model``, so the folds checked are the folds searched."""
    import numpy as np

    from ..evaluation import cv_splitter

    outer = [train for train, _ in splitter.split(np.zeros(len(y)), y, groups)]

    def units(idx):  # the class of each clip, or of each recording group
        if groups is None:
            return y[idx]
        return np.array([y[idx][groups[idx] == g][0] for g in np.unique(groups[idx])])

    n = min(most, *(np.unique(units(train), return_counts=True)[1].min()
                    for train in outer))
    if n < 2:
        return None, None
    inner = cv_splitter(n, groups, random_state=seed)
    return inner, [y[train][fit] for train in outer for fit, _ in inner.split(
        np.zeros(len(train)), y[train], None if groups is None else groups[train])]


def _fit(pipe, paths, y, *, args, start):
    """``pipe.fit(paths, y)``; a final step whose ``fit`` takes callbacks (the
    CNN) gets one for this fit that shows its epochs."""
    name, final = pipe.steps[-1]
    if "callbacks" not in inspect.signature(final.fit).parameters:
        return pipe.fit(paths, y)
    progress = _epoch_progress(final.epochs, args=args, start=start)
    try:
        return pipe.fit(paths, y, **{f"{name}__callbacks": [progress]})
    finally:
        progress.close()


def _epoch_progress(epochs, *, args, start):
    """A Keras callback: when training begins, a line on stdout (the files are
    decoded and their features made by then) and a bar of ``epochs`` epochs on
    the terminal, the training loss beside it."""
    import keras

    class EpochProgress(keras.callbacks.Callback):
        bar = None

        def on_train_begin(self, logs=None):
            print(f"decoded and computed features ({time.perf_counter() - start:.1f} "
                  "s); fitting the network ...", flush=True)
            self.bar = bar(total=epochs, args=args, desc="epochs", unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.3f}")
            self.bar.update(1)

        def close(self):
            if self.bar is not None:
                self.bar.close()

    return EpochProgress()
