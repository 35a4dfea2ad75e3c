"""``sk-cry evaluate``: audit a folder, cross-validate each pipeline with
``sk_cry.evaluate`` (grouped, against chance) and write the HTML report."""

import sys

from ._common import add_command, bar, error, resolved, warn
from ._fitting import (
    PIPELINES,
    add_cv_options,
    add_fit_options,
    cv_folds,
    fit_to_data,
    labelled_folder,
    one_class,
    out_of_range,
    pipeline,
    writable,
)

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "evaluate", "audit a folder, then cross-validate each model "
                    "(grouped, against chance) and write a self-contained HTML report "
                    "(exit status 0: done; 1: done on the readable files, the others "
                    "named and left out; 2: the folder, its labels or the options cannot "
                    "be used, or too few clips to cross-validate a model)",
                    "sk-cry evaluate recordings/ --models cnn,svm --cv 5 "
                    "--report report.html")
    add_fit_options(p)
    p.add_argument("--models", default=",".join(PIPELINES),
                   help=f"{' or '.join(PIPELINES)}, or several, comma-separated "
                   "(default %(default)s)")
    add_cv_options(p)
    p.add_argument("--report", required=True, help="the HTML file to write")
    p.set_defaults(func=run)
    return p


def run(args):
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

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - set(PIPELINES)
    if unknown or not models:
        return error("evaluate", f"--models takes {' and/or '.join(PIPELINES)}, got "
                     f"{args.models!r}")
    args.cv = resolved(args.cv)  # a number of folds, whether given or not
    status = out_of_range("evaluate", args) or writable("evaluate", args.report,
                                                         "the report")
    if status:
        return status
    data, status = labelled_folder("evaluate", args)
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
        warn("evaluate", f"{finding.message}, and so does the evaluation")
    keep = [i for i, p in enumerate(data.paths) if p not in left_out]
    paths, y = [data.paths[i] for i in keep], y[keep]
    groups = None if groups is None else groups[keep]
    if len(np.unique(y)) < 2:
        return one_class("evaluate", y, args.labels_csv or args.folder)
    splitter, label_sets, status = cv_folds("evaluate", args, y, groups)
    if status:
        return status
    pipelines = {}
    for name in models:
        pipelines[name] = pipe = pipeline(name, args)
        status = fit_to_data("evaluate", pipe, label_sets, cv=splitter.n_splits,
                             asked_cv=args.cv, grouped=groups is not None)
        if status:
            return status
    results = {}
    # the report shows each class's first clip as the pipelines read it
    loader = pipelines[models[0]][0]
    try:
        for name in bar(models, args=args, desc="models", unit="model"):
            # error_score="raise": a failing fit says why, here, rather than in
            # a FitFailedWarning and an "every fold failed"
            results[name.upper()] = result = evaluate(
                pipelines[name], paths, y, groups=groups, cv=splitter,
                random_state=args.seed, error_score="raise")
            print(f"{name.upper()}: {result}", flush=True)
        examples = {}
        for label in np.unique(y):
            first = paths[int(np.flatnonzero(y == label)[0])]
            examples[str(label)] = loader.transform([first])[0]
    except SkCryError as exc:
        return error("evaluate", exc)
    try:
        write_report(args.report, title=f"sk_cry evaluation of {args.folder}",
                     audit=report, results=results, examples=examples, sr=loader.sr)
    except OSError as exc:
        return error("evaluate", f"cannot write the report: {exc}")
    print(f"wrote {args.report}")
    if left_out:
        print(f"sk-cry evaluate: {len(left_out)} of {len(data.paths)} files could not be "
              "read and were left out (named above)", file=sys.stderr)
    return 1 if left_out else 0
