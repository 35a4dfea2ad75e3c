"""Per-file predictions: one record per path, bad files and silent clips included."""

from joblib import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ParameterError
from ..io import AudioLoader, Windows
from ..runtime import (
    FilePrediction,
    ReasonModel,
    check_rules,
    check_windowing,
    classify_windows,
    detect_windows,
    file_predictions,
    load_or_error,
    on_frame_grid,
    positive_column,
    window_probabilities,
)

__all__ = ["FilePrediction", "detect", "predict_files", "predict_windows"]


def _predict_batch(rest, batch, params, classes, names, n_jobs):
    """Read and classify one batch of paths: the unit of work a joblib worker gets.

    ``rest`` is the fitted pipeline without its loader. The reads run on
    ``n_jobs`` threads of whichever process runs the batch: ``require="sharedmem"``
    keeps them there even under ``parallel_config(backend="dask")``, which a
    worker inherits and which ``prefer="threads"`` does not override: with it,
    30 files in batches of 8 became 30 cluster tasks instead of 4
    (tests/test_dask.py).
    """
    loaded = Parallel(n_jobs=n_jobs, require="sharedmem")(
        delayed(load_or_error)(p, **params) for p in batch)
    return file_predictions(batch, loaded, rest.predict_proba, classes, names)


def _frame_of(model):
    """``(n_fft, hop_length, sr)`` of the pipeline's feature step."""
    step = next((s for _, s in model.steps if hasattr(s, "n_fft")), None)
    if step is None:
        raise ParameterError("the pipeline has no step with an STFT (n_fft, "
                             "hop_length): windows need one to bound their length")
    return int(step.n_fft), int(step.hop_length), int(model.steps[0][1].sr)


def _loader_of(model):
    loader = model.steps[0][1] if hasattr(model, "steps") else None
    if not isinstance(loader, AudioLoader) or not hasattr(model, "predict_proba"):
        raise ParameterError(
            "model must be an sk_cry pipeline that starts with an AudioLoader and ends "
            f"in a classifier with predict_proba (make_cnn_pipeline(), "
            f"make_svm_pipeline()), got {type(model).__name__}"
        )
    return loader


def predict_files(model, paths, *, batch_size=256, n_jobs=None, class_names=None,
                  strict=None):
    """Predict every file, one record each, in order: nothing dropped or guessed.

    Unlike ``model.predict``, which raises on the first file it cannot read
    (scikit-learn's semantics, kept), a file that cannot be read becomes a
    record with its ``error``, a clip with no signal one with ``silent=True``,
    and every other file is classified. Files are read ``batch_size`` at a time,
    so memory stays bounded by one batch per worker, whatever the number of paths.

    Batches are the unit of joblib work. Without a ``joblib.parallel_config``
    they run one after another in this process; under
    ``joblib.parallel_config(backend="dask")`` (or any other backend, or an
    ``n_jobs`` set there) each worker reads and classifies whole batches and
    sends back only their records, which come back in order.

    Parameters
    ----------
    model : fitted sk_cry pipeline
        A pipeline whose first step is an :class:`~sk_cry.AudioLoader` and whose
        last step has ``predict_proba`` (``make_cnn_pipeline()``,
        ``make_svm_pipeline()``), fitted.
    paths : sequence of str or path-like
    batch_size : int, default=256
        Files read and classified together: with 6-s clips at 16 kHz, about
        100 MB of waveforms per batch, and one batch at a time per worker
        thread.
    n_jobs : int or None, default=None
        Threads reading the files of a batch, in the process that runs the
        batch (joblib semantics: None is 1, -1 all cores). The number of batches
        run at once is the caller's ``joblib.parallel_config``, not this.
    class_names : sequence of str or None, default=None
        Name of each class, in the order of ``model.classes_`` (e.g.
        ``data.target_names`` of :func:`~sk_cry.datasets.load_folder` when the
        model was fitted on integer targets); ``None`` uses ``str(class)``.
    strict : bool or None, default=None
        A file that holds less audio than its header declares: an ``error``
        (True), or classified with ``truncated`` saying so (False); None: the
        loader's own ``strict``.

    Returns
    -------
    records : list of FilePrediction
        One per path, in the order of ``paths``.

    Examples
    --------
    >>> from sk_cry import predict_files
    >>> for r in predict_files(pipe, ["a.wav", "b.wav"]):  # doctest: +SKIP
    ...     print(r.path, r.label, r.probabilities, r.error, r.silent)

    On a Dask cluster (``pip install "sk-cry[dask]"``), one batch per task:

    >>> import joblib  # doctest: +SKIP
    >>> from dask.distributed import Client  # doctest: +SKIP
    >>> client = Client("tcp://scheduler:8786")  # doctest: +SKIP
    >>> with joblib.parallel_config(backend="dask"):  # doctest: +SKIP
    ...     records = predict_files(pipe, paths, batch_size=256)
    """
    loader = _loader_of(model)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive int, got {batch_size!r}")
    check_is_fitted(model)
    classes = model.classes_
    names = [str(c) for c in classes] if class_names is None else list(class_names)
    if len(names) != len(classes):
        raise ParameterError(f"class_names has {len(names)} names for {len(classes)} "
                             f"classes ({list(classes)})")
    params = dict(sr=loader.sr, duration=loader.duration,
                  max_bandwidth=loader.max_bandwidth,
                  strict=loader.strict if strict is None else bool(strict))
    rest = model[1:]  # the steps after the loader
    paths = [str(p) for p in paths]
    # Batches, not files, are the tasks: a worker reads and classifies a whole
    # batch and sends back only its records. Parallel() takes its backend and
    # n_jobs from the caller's parallel_config: without one, n_jobs=1 runs the
    # batches one after another in this process; the dask backend's default is
    # every worker thread of the cluster.
    batches = Parallel()(
        delayed(_predict_batch)(rest, paths[start:start + batch_size], params,
                                classes, names, n_jobs)
        for start in range(0, len(paths), batch_size))
    return [record for batch in batches for record in batch]


def predict_windows(model, paths, *, window=None, hop=None):
    """Classify recordings of any length window by window, with a fitted pipeline.

    The same windows, records and aggregate as the exported model's
    :meth:`sk_cry.runtime.BundleModel.predict_windows`: each file is read in
    blocks (a 1-hour recording never sits in memory whole); windows of
    ``window`` seconds start every ``hop`` seconds while they fit, and one more
    ends where the recording ends, so every sample is heard; a recording shorter
    than one window is padded (``padded=True``); windows below -60 dBFS are
    ``silent``, not a class. A file's ``label`` and ``probabilities`` are the mean
    of its windows' probabilities that are not silent. The pipeline's own
    ``AudioLoader`` keeps only the first ``duration`` seconds of a file.

    Parameters
    ----------
    model : fitted sk_cry pipeline
        As for :func:`predict_files`.
    paths : sequence of str or path-like
    window : float or None, default=None
        Seconds, at most the loader's ``duration`` (None: ``duration``).
    hop : float or None, default=None
        Seconds between window starts (None: half a window).

    Returns
    -------
    recordings : list of sk_cry.runtime.Recording
        One per path, in order; a file that cannot be read has its ``error``.

    Examples
    --------
    >>> from sk_cry import predict_windows
    >>> (night,) = predict_windows(pipe, ["night.wav"], window=6, hop=3)  # doctest: +SKIP
    >>> [(w.start, w.label) for w in night.windows]                    # doctest: +SKIP
    [(0.0, 'hungry'), (3.0, 'hungry'), (6.0, None), ...]
    """
    loader = _loader_of(model)
    check_is_fitted(model)
    window, hop = check_windowing(window, hop, loader.duration, frame=_frame_of(model))
    rest = model[1:]
    return [classify_windows(p, rest.predict_proba, model.classes_, sr=loader.sr,
                             duration=loader.duration, window=window, hop=hop,
                             max_bandwidth=loader.max_bandwidth) for p in paths]


def detect(model, paths, *, hop=None, rules=None, reason=None, positive=None,
           windows=False):
    """Find cry events in recordings of any length with a fitted detector pipeline.

    The events of :meth:`sk_cry.runtime.BundleModel.detect`, by the same rules,
    from a pipeline that runs where scikit-learn does (an SVM, or a CNN before
    export). Windows of the loader's ``duration`` every ``hop`` seconds are cut
    as clips (an exported bundle computes their frames once per recording:
    the two agree to the tolerance ``tests/test_detect.py`` states).

    Parameters
    ----------
    model : fitted sk_cry pipeline
        A detector: its classes include ``positive`` (default ``"cry"``, else
        the last class).
    paths : sequence of str or path-like
    hop : float or None, default=None
        Seconds between window starts (None: a quarter of a window), rounded
        to a whole number of STFT hops as an exported detector rounds it.
    rules : EventRules, dict or None, default=None
        The event rules (None: ``EventRules()``).
    reason : fitted pipeline, BundleModel or None, default=None
        A reason model at the same sample rate: each event gets its mean
        probabilities over the event's windows.
    positive : str or None, default=None
    windows : bool, default=False
        Keep every window's start and probability in each record's ``windows``.

    Returns
    -------
    detections : list of sk_cry.runtime.Detection
        One per path, in order; a file that cannot be read has its ``error``.

    Examples
    --------
    >>> from sk_cry import detect
    >>> (night,) = detect(detector, ["night.wav"], hop=1.0)     # doctest: +SKIP
    >>> [(e.start, e.end) for e in night.events]                # doctest: +SKIP
    [(612.0, 631.5)]
    """
    loader = _loader_of(model)
    check_is_fitted(model)
    window = float(loader.duration)
    frame = _frame_of(model)
    _, hop = check_windowing(None, window / 4 if hop is None else hop, window, frame=frame)
    hop = on_frame_grid(hop, frame=frame)
    rules = check_rules(rules)
    column = positive_column(model.classes_, positive)
    reason = None if reason is None else ReasonModel(reason, loader.sr)
    rest = model[1:]
    records = []
    for path in paths:
        reader = Windows(path, sr=loader.sr, window=window, hop=float(hop),
                         max_bandwidth=loader.max_bandwidth)
        records.append(detect_windows(
            path, window_probabilities(reader, rest.predict_proba, column), rules,
            window=window, reason=reason, stats=lambda: reader.duration,
            keep_windows=windows))
    return records
