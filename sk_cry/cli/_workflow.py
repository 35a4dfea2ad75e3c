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


def _cnn_pipeline(args, **common):
    """``make_cnn_pipeline`` with the command's ``--seed`` and ``--epochs`` (None:
    the CNN's own default, so it is stated once, in ``CryCNNClassifier``)."""
    from ..models import make_cnn_pipeline

    epochs = {} if args.epochs is None else {"epochs": args.epochs}
    return make_cnn_pipeline(random_state=args.seed, **epochs, **common)


def train(args):
    """Fit a CNN or SVM pipeline on a folder and save it with ``sk_cry.save``."""
    import numpy as np

    from ..datasets import load_folder
    from ..exceptions import SkCryError
    from ..models import make_svm_pipeline, save

    start = time.perf_counter()
    try:
        data = load_folder(args.folder, args.labels_csv)
    except (SkCryError, OSError) as exc:
        return _error("train", exc)
    y = data.target_names[data.target]  # class names, so predictions are names
    common = dict(duration=args.duration, max_bandwidth=args.max_bandwidth)
    if args.model == "cnn":
        pipe = _cnn_pipeline(args, **common)
    else:
        pipe = make_svm_pipeline(**common)
    pipe.check_steps()
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
    rest.fit(maps, y)
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
    path = save(pipe, args.output)
    print(f"saved {path} ({path.stat().st_size / 1e3:.0f} KB; a pickle: load it only "
          "where you trust it); " + "; ".join(summary))
    print(f"accuracy on its own training files {train_score:.3f} (not an estimate of "
          "anything: use sk-cry evaluate for that)")
    return 0


def evaluate_folder(args):
    """Audit a folder, cross-validate each model, print and write an HTML report."""
    import matplotlib

    matplotlib.use("Agg")  # files, not windows
    import numpy as np

    from ..datasets import load_folder
    from ..evaluation import audit, evaluate
    from ..evaluation import write_report
    from ..exceptions import SkCryError
    from ..io import load_audio
    from ..models import make_svm_pipeline

    try:
        data = load_folder(args.folder, args.labels_csv)
    except (SkCryError, OSError) as exc:
        return _error("evaluate", exc)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - {"cnn", "svm"}
    if unknown or not models:
        return _error("evaluate", f"--models takes cnn and/or svm, got {args.models!r}")
    groups = data.groups if args.groups == "auto" else None
    y = data.target_names[data.target]
    print(f"evaluating on {len(y)} files, classes {', '.join(data.target_names)}"
          + (f", {len(set(groups))} groups (folds keep them apart)" if groups is not None
             else ", no groups"), flush=True)
    report = audit(data.paths, y, groups, n_jobs=-1)
    print(report, flush=True)
    common = dict(duration=args.duration, max_bandwidth=args.max_bandwidth)
    factories = {"cnn": lambda: _cnn_pipeline(args, **common),
                 "svm": lambda: make_svm_pipeline(**common)}
    results = {}
    for name in _bar(models, args=args, desc="models", unit="model"):
        results[name.upper()] = result = evaluate(
            factories[name](), data.paths, y, groups=groups, cv=args.cv,
            random_state=args.seed)
        print(f"{name.upper()}: {result}", flush=True)
    examples = {}
    for label in data.target_names:
        first = data.paths[int(np.flatnonzero(y == label)[0])]
        examples[str(label)] = load_audio(first, sr=16000, duration=args.duration,
                                          max_bandwidth=args.max_bandwidth)
    write_report(args.report, title=f"sk_cry evaluation of {args.folder}", audit=report,
                 results=results, examples=examples, sr=16000)
    print(f"wrote {args.report}")
    return 0


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
                records = model.predict_files(chunk)
            else:
                from ..models import predict_files

                records = predict_files(model, chunk)
            for r in records:
                rows.append(dict(path=r.path, start=None, label=r.label,
                                 probabilities=r.probabilities, silent=r.silent,
                                 error=r.error))
            continue
        if kind == "bundle":
            recordings = model.predict_windows(chunk, window=args.window, hop=args.hop)
        else:
            from ..models import predict_windows

            recordings = predict_windows(model, chunk, window=args.window, hop=args.hop)
        for r in recordings:
            rows.append(dict(path=r.path, start=None, label=r.label,
                             probabilities=r.probabilities, silent=r.silent,
                             error=r.error, padded=r.padded, duration=r.duration))
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
    if row["silent"]:
        return "silent (below -60 dBFS)"
    return "padded (shorter than one window)" if row.get("padded") else ""


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
                                                     "error"]} for row in rows],
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
        import uvicorn

        from ..service import make_app
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
    app = make_app(model, name=Path(args.model).name, max_upload=args.max_upload)
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
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
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
