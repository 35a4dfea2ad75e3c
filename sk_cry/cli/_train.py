"""``sk-cry train``: fit a pipeline on a folder of recordings with ``pipe.fit``,
as a Python user would, and save it with ``sk_cry.save``. The CNN's epochs show
on a progress bar through a Keras callback given to that one fit
(``cnn__callbacks``), which the saved model does not hold."""

import inspect
import time

from ._common import add_command, bar, error
from ._fitting import (
    PIPELINES,
    add_fit_options,
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
                    "sk-cry train recordings/ --model cnn -o cry.skcry")
    add_fit_options(p)
    p.add_argument("--model", choices=list(PIPELINES), default="cnn",
                   help="the pipeline to fit (default %(default)s)")
    p.add_argument("-o", "--output", required=True, help="where to save the model "
                   "(sk_cry.save: a pickle, load it only where you trust it)")
    p.set_defaults(func=run)
    return p


def chosen_pipeline(args):
    """The unfitted pipeline that ``--model`` names, with the command's options.

    The one place ``train`` chooses a model: a choice made on the data (a
    nested cross-validation between the CNN and the SVM) belongs here.
    """
    return pipeline(args.model, args)


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
    pipe = chosen_pipeline(args)
    status = fit_to_data("train", pipe, [y])
    if status:
        return status
    counts = ", ".join(f"{n} {c}" for n, c in zip(*np.unique(y, return_counts=True)))
    print(f"training a {args.model.upper()} pipeline on {len(y)} files ({counts})",
          flush=True)
    try:
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
