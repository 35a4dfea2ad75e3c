"""``sk-cry demo``: the workflow on synthetic cries, each step the library call a
command makes: audit, evaluate the CNN and the SVM against chance, fit, save,
export, predict with the exported bundle."""

import time
from pathlib import Path

from ._common import add_command, add_seed

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "demo", "a tour on synthetic cries: audit, evaluate the CNN and "
                    "the SVM against chance, train, save, export, predict with the "
                    "exported bundle", "sk-cry demo --out sk-cry-demo")
    p.add_argument("--n-samples", type=int, default=90,
                   help="clips (default %(default)s)")
    p.add_argument("--duration", type=float, default=3.0,
                   help="seconds (default %(default)s)")
    p.add_argument("--epochs", type=int, default=20,
                   help="CNN epochs (default %(default)s)")
    p.add_argument("--class-sep", type=float, default=0.5,
                   help="how different the classes are, 0-1 (default %(default)s)")
    p.add_argument("--cv", type=int, default=3, help="folds (default %(default)s)")
    add_seed(p)
    p.add_argument("--n-jobs", type=int, default=None, help="parallel decoding")
    p.add_argument("--out", default="sk-cry-demo",
                   help="output folder (default %(default)s)")
    p.set_defaults(func=run)
    return p


def _say(start, message):
    print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)


def run(args):
    """A tour of the workflow on synthetic cries: audit, evaluate CNN and SVM
    against chance, train, save, export, predict with the exported bundle."""
    import numpy as np

    from ..datasets import load_folder, make_cries, write_folder
    from ..evaluation import audit, evaluate
    from ..models import export, make_cnn_pipeline, make_svm_pipeline, save
    from ..runtime import load

    start = time.perf_counter()
    out = Path(args.out)
    common = dict(duration=args.duration, n_jobs=args.n_jobs)
    cnn = make_cnn_pipeline(epochs=args.epochs, random_state=args.seed, **common)
    pipelines = {"CNN": cnn, "SVM": make_svm_pipeline(**common)}
    sr = cnn[0].sr  # the clips are made at the rate the pipelines read
    X, y = make_cries(args.n_samples, sr=sr, duration=args.duration,
                      class_sep=args.class_sep, random_state=args.seed)
    write_folder(X, y, out / "data", sr=sr, target_names=["other", "hungry"])
    data = load_folder(out / "data")
    labels = data.target_names[data.target]
    _say(start, f"1. wrote {len(data.paths)} synthetic cries ({args.duration:g} s, "
         f"classes {', '.join(data.target_names)}) to {out / 'data'}")
    report = audit(data.paths, labels, n_jobs=args.n_jobs)
    _say(start, f"2. audit (sk-cry audit): {len(report.shortcuts)} problem(s) in "
         f"{report.n_files} files; chance is {report.chance:.2f}")
    for finding in report.shortcuts:
        print(f"     {finding}")

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
    print(f"\nnext: sk-cry serve {bundle}   (then open the page at the address it "
          "prints)")
    return 0
