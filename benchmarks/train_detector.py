"""Train the cry detector that ships in sk_cry (``sk_cry/runtime/detector.skcry-bundle``).

    python benchmarks/train_detector.py [--out sk_cry/runtime/detector.skcry-bundle]

The same choice ``benchmarks/detect.py`` makes inside each of its outer folds,
made once on all the data: 3 grouped folds over the seed-cry clips and the
background recordings choose the detector (SVM or CNN, 2-s or 4-s windows) by
window AUC and the event rules by event F1 at <= 1 false alarm an hour on
10-minute nights of the held-out recordings; the winner is fitted on every
window and exported with those rules and its hop (a quarter window). Seeded:
the same data and versions give the same choice; TensorFlow's CPU kernels may
still move the weights by round-off.

Data and credits: the cries are the reference project's (the hungry ones from
the Donate-a-cry corpus, Open Database License); the background recordings are
listed with their authors and licences in ``../shared/data/background/sources.csv``
and credited in ``NOTICE``.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import detect  # noqa: E402
from _common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _summary(report):
    """The audit's problems, one line each; duplicates counted by severity."""
    lines = [f"  {f}" for f in report.shortcuts if f.kind != "duplicate"]
    dupes = report.by_kind("duplicate")
    if dupes:
        by = {s: sum(f.severity == s for f in dupes) for s in ("critical", "warning")}
        lines.append(f"  duplicate: {by['critical']} critical, {by['warning']} warnings "
                     "(overlapping or repeated audio)")
    return "\n".join(lines) or "  nothing"


def audit_sources(cries, bg, src):
    """``sk_cry.audit`` of the raw sources (cry vs background files as they
    are), then of the prepared windows: the shortcuts the preparation removes."""
    from sk_cry import audit

    paths = list(cries) + list(bg.paths)
    y = np.array(["cry"] * len(cries) + ["background"] * len(bg.paths))
    print(f"audit of the sources as they are ({len(paths)} files):")
    print(_summary(audit(paths, y, n_jobs=-1)))
    data = src.windows("audit", list(range(len(cries))), src.groups, 2.0)
    report = audit(data.paths, data.target, data.groups, n_jobs=-1)
    print(f"audit of the prepared 2-s windows ({len(data.paths)} files, "
          f"{len(set(data.groups))} groups):")
    print(_summary(report))
    cross = [f for f in report.by_kind("duplicate") if f.severity == "critical"]
    group_of = dict(zip(data.paths, data.groups))
    same_group = all(len({group_of[p] for p in f.files}) == 1 for f in cross)
    print(f"  (cross-class duplicates all within one recording group: {same_group}; a "
          "grouped split keeps each on one side)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "sk_cry/runtime/detector.skcry-bundle"))
    parser.add_argument("--work", default=None, help="folder for the sets (temporary)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--collar", type=float, default=2.0)
    parser.add_argument("--inner-night-minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chosen", default=None, help="skip the choice: a detector "
                        "name and rules (JSON) that an earlier run printed, e.g. "
                        "cnn-2s '{\"threshold\": 0.9}'", nargs=2, metavar=("NAME", "RULES"))
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    import sk_cry

    work = Path(args.work or tempfile.mkdtemp(prefix="sk-cry-detector-"))
    cries, bg = detect.load_sources(args, work)
    print(f"# benchmarks/train_detector.py, {machine()}")
    audit_sources(cries, bg, detect.Sources(cries, bg, work / "audit", args.seed))
    rng = np.random.default_rng(args.seed)
    src = detect.Sources(cries, bg, work, args.seed)
    if args.chosen:
        name, rules = args.chosen[0], json.loads(args.chosen[1])
        window = float(name.split("-")[1][:-1])
        print(f"chosen by an earlier run: {name}, rules {rules}")
    else:
        name, window, rules, aucs, night = detect.select(
            src, list(range(len(cries))), src.groups, "all", args, rng)
        print(f"chosen: {name} (inner AUC {aucs[name]:.3f}; every candidate: "
              f"{json.dumps({k: round(v, 3) for k, v in aucs.items()})}), rules "
              f"{rules} (inner nights: F1 {night['f1']:.3f}, "
              f"{night['fa_per_hour']:.2f} false alarms/h, median latency "
              f"{night['latency']:.2f} s)")
    data = src.windows("all", list(range(len(cries))), src.groups, window)
    pipe = detect.candidates(window, args.epochs)[name]
    pipe.fit(data.paths, np.array(["background", "cry"])[data.target])
    sk_cry.export(pipe, args.out, detection={"hop": window / 4, "rules": rules})
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {size / 1e3:.0f} KB, {len(data.paths)} windows "
          f"({int(data.target.sum())} cry)")


if __name__ == "__main__":
    main()
