"""``sk-cry``: the command-line entry point (``demo``, ``audit``, ``train``,
``predict``, ``detect``, ``evaluate``, ``export``, ``serve``, ``listen``)."""

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from ._detect import add_detect, detection_settings, event_line, load_detector
from ._monitor import add_calibrate, add_monitor
from ._quiet import native_logs_filtered
from ._workflow import evaluate_folder, export_model, predict, serve, train

# Each command imports what it needs when it runs, so that `sk-cry --help` and
# `sk-cry audit` never load TensorFlow (4 s and 700 MB).

__all__ = ["main"]


def _say(start, message):
    print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)


def demo(args):
    """A tour of the workflow on synthetic cries: audit, evaluate CNN and SVM
    against chance, train, save, export, predict with the exported bundle."""
    import numpy as np

    from ..datasets import load_folder, make_cries, write_folder
    from ..evaluation import audit, evaluate
    from ..models import export, make_cnn_pipeline, make_svm_pipeline, save
    from ..runtime import load

    start = time.perf_counter()
    out = Path(args.out)
    X, y = make_cries(args.n_samples, duration=args.duration, class_sep=args.class_sep,
                      random_state=args.seed)
    write_folder(X, y, out / "data", sr=16000, target_names=["other", "hungry"])
    data = load_folder(out / "data")
    labels = data.target_names[data.target]
    _say(start, f"1. wrote {len(data.paths)} synthetic cries ({args.duration:g} s, "
         f"classes {', '.join(data.target_names)}) to {out / 'data'}")
    report = audit(data.paths, labels, n_jobs=args.n_jobs)
    _say(start, f"2. audit (sk-cry audit): {len(report.shortcuts)} problem(s) in "
         f"{report.n_files} files; chance is {report.chance:.2f}")
    for finding in report.shortcuts:
        print(f"     {finding}")

    common = dict(duration=args.duration, n_jobs=args.n_jobs)
    cnn = make_cnn_pipeline(epochs=args.epochs, random_state=args.seed, **common)
    pipelines = {"CNN": cnn, "SVM": make_svm_pipeline(**common)}
    _say(start, f"3. {args.cv}-fold cross-validation against chance (sk-cry evaluate):")
    print("\nbalanced accuracy per fold")
    results = {}
    for name, pipe in pipelines.items():
        results[name] = evaluate(pipe, data.paths, labels, cv=args.cv,
                                 random_state=args.seed)
        folds = " ".join(f"{s:.3f}" for s in results[name].balanced_accuracy_folds)
        print(f"  {name}: {folds}")
    for name, result in results.items():
        print(f"  {name}: {result.verdict}")
    print()

    _say(start, "4. fitting the CNN pipeline on all clips (sk-cry train) ...")
    cnn.fit(data.paths, labels)
    model_path = save(cnn, out / "cnn_pipeline.skcry")
    _say(start, f"   saved {model_path} ({model_path.stat().st_size / 1e6:.1f} MB, "
         f"{cnn[-1].count_params():,} weights; a pickle: load only files you made or "
         "trust)")
    bundle = out / "cnn.skcry-bundle"
    export(cnn, bundle)
    _say(start, f"5. exported {bundle} ({bundle.stat().st_size / 1e3:.0f} KB, no "
         "pickle; runs without TensorFlow: sk-cry export)")
    model = load(bundle)
    clip = data.paths[0]
    (record,) = model.predict_files([clip])
    shown = ", ".join(f"{n}: {p:.2f}" for n, p in record.probabilities.items())
    same = np.abs(model.predict_proba([clip]) - cnn.predict_proba([clip])).max()
    _say(start, f"6. the bundle on sk_cry.runtime (sk-cry predict): {clip} -> "
         f"{record.label} ({shown}); true label: {labels[0]}; the pipeline's "
         f"probabilities to {same:.0e}")
    print(f"\nnext: sk-cry serve {bundle}   (then open http://127.0.0.1:8000/)")
    return 0


def audit_folder(args):
    """Audit a folder of recordings and print the report.

    Exit status 0 when nothing critical is found, 1 when something is, 2 when
    the folder or its labels cannot be read.
    """
    from ..datasets import load_folder
    from ..evaluation import audit
    from ..exceptions import SkCryError

    try:
        data = load_folder(args.folder, args.labels_csv)
    except (SkCryError, OSError) as exc:
        print(f"sk-cry audit: error: {exc}", file=sys.stderr)
        return 2
    print(f"auditing {len(data.paths)} files, classes {', '.join(data.target_names)}"
          + (f", {len(set(data.groups))} groups" if data.groups is not None else ""),
          flush=True)
    report = audit(data.paths, data.target, data.groups, n_jobs=args.n_jobs)
    print(report)
    return 1 if any(f.severity == "critical" for f in report.findings) else 0


def listen(args):
    """Classify live microphone audio (or a file played in real time) window by
    window, one line per window; or, with ``--events`` (the default detector,
    or ``--reason``), one line when a cry event starts and one when it ends."""
    from ..exceptions import SkCryError
    from ..runtime import load, microphone, played

    events = args.events or args.reason is not None or args.bundle is None \
        or args.settings is not None
    try:
        model = load_detector(None)[0] if args.bundle is None else load(args.bundle)
        reason = None if args.reason is None else load(args.reason)
        window = model.duration if events else (args.window or model.duration)
        hop, rules = detection_settings(model, "bundle", args) if events else (None, None)
        hop = hop or args.hop or (model.detection.get("hop", window / 4) if events
                                  else window / 2)
        source = (played(args.file, speed=args.speed) if args.file
                  else microphone(args.device, block=min(hop, 0.25)))
        names = [str(c) for c in model.classes_]
        what = "cry events" if events else f"classes {', '.join(names)}"
        print(f"listening{f' to {args.file}' if args.file else ''}: "
              f"{window:g}-s windows every {hop:g} s, {what} (Ctrl-C stops)",
              flush=True)
        if events:
            for kind, event in model.listen_events(source, hop=hop, rules=rules,
                                                   reason=reason):
                print(event_line(kind, event), flush=True)
            return 0
        for w in model.listen(source, window=args.window, hop=args.hop):
            if w.silent:
                print(f"{w.start:8.1f} s  (silent)", flush=True)
            else:
                shown = "  ".join(f"{n} {w.probabilities[n]:.2f}" for n in names)
                print(f"{w.start:8.1f} s  {str(w.label):<12} {shown}", flush=True)
    except SkCryError as exc:
        print(f"sk-cry listen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    """Run the ``sk-cry`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="sk-cry", description="scikit-learn compatible infant-cry classification")
    sub = parser.add_subparsers(dest="command", required=True)
    def command(name, help, example):
        return sub.add_parser(name, help=help, description=f"{help[0].upper()}{help[1:]}."
                              f"\n\nexample:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("demo", "a tour on synthetic cries: audit, evaluate the CNN and the SVM "
                "against chance, train, save, export, predict with the exported bundle",
                "sk-cry demo --out sk-cry-demo")
    p.add_argument("--n-samples", type=int, default=90, help="clips (default 90)")
    p.add_argument("--duration", type=float, default=3.0, help="seconds (default 3)")
    p.add_argument("--epochs", type=int, default=20, help="CNN epochs (default 20)")
    p.add_argument("--class-sep", type=float, default=0.5,
                   help="how different the classes are, 0-1 (default 0.5)")
    p.add_argument("--cv", type=int, default=3, help="folds (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=None, help="parallel decoding")
    p.add_argument("--out", default="sk-cry-demo", help="output folder")
    p.set_defaults(func=demo)
    p = command("audit", "look for recording shortcuts and duplicates in a labelled "
                "folder (exit status 0: nothing critical, 1: something critical, 2: the "
                "folder or labels cannot be read)", "sk-cry audit recordings/")
    p.add_argument("folder")
    p.add_argument("--labels-csv", default=None,
                   help="CSV of <file>,<label> rows (default: sub-folders or names)")
    p.add_argument("--n-jobs", type=int, default=-1, help="files scanned in parallel")
    p.set_defaults(func=audit_folder)
    p = command("train", "fit a CNN or SVM pipeline on a folder of recordings and save "
                "it (exit status 0: saved; 2: the folder, its labels or a file cannot "
                "be used, or too few clips to fit the model)",
                "sk-cry train recordings/ --model cnn -o cry.skcry")
    p.add_argument("folder", help="one sub-folder per class, or --labels-csv, or "
                   "Donate-a-cry file names")
    p.add_argument("--labels-csv", default=None, help="CSV of <file>,<label> rows")
    p.add_argument("--model", choices=("cnn", "svm"), default="cnn")
    p.add_argument("--max-bandwidth", type=float, default=None,
                   help="remove content above this many Hz (4000: every clip sounds "
                   "like 8-kHz audio)")
    p.add_argument("--duration", type=float, default=6.0,
                   help="seconds read from each file (default 6)")
    p.add_argument("--epochs", type=int, default=None, help="CNN epochs at most, with "
                   "early stopping where there are clips enough to hold some out (else "
                   "all of them, said on stderr; default: CryCNNClassifier's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="where to save the model "
                   "(sk_cry.save: a pickle, load it only where you trust it)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=train)

    p = command("predict", "predict files and folders with a saved pipeline or an "
                "exported bundle, one row per file (and per window with --window)",
                "sk-cry predict cry.skcry-bundle night.wav clips/ --window 6 --hop 3")
    p.add_argument("model", help="a bundle (sk-cry export) or a saved pipeline "
                   "(sk-cry train; a pickle: only one you trust)")
    p.add_argument("paths", nargs="+", help="audio files or folders")
    p.add_argument("--window", type=float, default=None,
                   help="classify each file window by window, windows of this many s")
    p.add_argument("--hop", type=float, default=None,
                   help="seconds between windows (default: half a window)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--strict", action="store_true", help="a file that holds less "
                   "audio than its header declares is an error row, not a prediction "
                   "flagged 'truncated' (without --window)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=predict)
    add_detect(sub, command)
    add_monitor(sub, command)
    add_calibrate(sub, command)

    p = command("evaluate", "audit a folder, then cross-validate each model (grouped, "
                "against chance) and write a self-contained HTML report (exit status "
                "0: done; 1: done on the readable files, the others named and left "
                "out; 2: the folder, its labels or the options cannot be used, or too "
                "few clips to cross-validate a model)",
                "sk-cry evaluate recordings/ --models cnn,svm --cv 5 --report report.html")
    p.add_argument("folder")
    p.add_argument("--labels-csv", default=None, help="CSV of <file>,<label> rows")
    p.add_argument("--models", default="cnn,svm", help="cnn, svm or both (default)")
    p.add_argument("--groups", choices=("auto", "none"), default="auto",
                   help="auto: keep the recording groups that file names give "
                   "(Donate-a-cry) in one fold each")
    p.add_argument("--cv", type=int, default=5, help="folds (default 5; fewer, said "
                   "on stderr, when the smallest class has fewer clips or groups)")
    p.add_argument("--max-bandwidth", type=float, default=None)
    p.add_argument("--duration", type=float, default=6.0)
    p.add_argument("--epochs", type=int, default=None, help="CNN epochs at most, with "
                   "early stopping where there are clips enough to hold some out (else "
                   "all of them, said on stderr; default: CryCNNClassifier's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", required=True, help="the HTML file to write")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=evaluate_folder)

    p = command("export", "export a saved CNN or SVM pipeline to a bundle that runs "
                "without TensorFlow or scikit-learn",
                "sk-cry export cry.skcry cry.skcry-bundle")
    p.add_argument("model", help="a saved CNN or SVM pipeline (sk-cry train)")
    p.add_argument("output", help="the bundle to write")
    p.set_defaults(func=export_model)

    p = command("serve", "serve an exported bundle over HTTP: POST /predict, GET "
                "/health, and a page at /", "sk-cry serve cry.skcry-bundle --port 8000")
    p.add_argument("model", help="a bundle (sk-cry export)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-upload", type=int, default=20 * 1024 * 1024,
                   help="bytes an upload may hold (default 20 MB; larger ones get 413)")
    # None: the service's own default (sk_cry.service), so it is stated once
    p.add_argument("--max-seconds", type=float, default=None,
                   help="seconds of audio a request may hold (default 600; longer "
                   "ones get 413, refused from the header where it says)")
    p.add_argument("--max-concurrent", type=int, default=None,
                   help="requests decoded at once (default 2); others wait up to "
                   "10 s, then get 503 with Retry-After")
    p.set_defaults(func=serve)

    p = sub.add_parser(
        "listen", help="classify live microphone audio window by window with an "
        "exported bundle (sk_cry.export), one line per window; or report cry events "
        "as they start and end (--events; the default without a bundle)",
        description="Classify live audio window by window with an exported bundle, "
        "or report cry events as they start and end.\n\nexamples:\n"
        "  sk-cry listen cry.skcry-bundle --window 6 --hop 3\n"
        "  sk-cry listen --reason cry.skcry-bundle     # sk_cry's detector, then why",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundle", nargs="?", default=None,
                   help="a bundle written by sk_cry.export (default: sk_cry's cry "
                   "detector, with --events)")
    p.add_argument("--events", action="store_true",
                   help="one line per cry event start and end, by the bundle's "
                   "detection settings, instead of one per window")
    p.add_argument("--reason", default=None, help="a reason bundle that labels each "
                   "event (implies --events)")
    p.add_argument("--settings", default=None, help="event rules written by sk-cry "
                   "calibrate (implies --events)")
    p.add_argument("--device", default=None,
                   help="input device, number or name (python -m sounddevice lists "
                   "them; default: the system's)")
    p.add_argument("--window", type=float, default=None,
                   help="seconds per window (default: the model's duration)")
    p.add_argument("--hop", type=float, default=None,
                   help="seconds between windows (default: half a window)")
    p.add_argument("--file", default=None,
                   help="play this audio file in real time instead of the microphone")
    p.add_argument("--speed", type=float, default=1.0,
                   help="with --file: play it this many times faster than recorded "
                   "(0: as fast as it can; default 1)")
    p.set_defaults(func=listen)
    args = parser.parse_args(argv)
    if getattr(args, "device", None) is not None and args.device.isdigit():
        args.device = int(args.device)
    # TensorFlow's Python warnings (tf.function retracing on tiny fits) are
    # for its developers; the command line is an application and may say so
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with native_logs_filtered() as terminal:
        args.terminal = terminal
        try:
            return args.func(args)
        except BrokenPipeError:  # `sk-cry predict ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


if __name__ == "__main__":
    sys.exit(main())
