"""``sk-cry predict``: one row per file (and per window with ``--window``) from
a bundle on the runtime (no TensorFlow) or a saved pipeline."""

import csv
import json
import sys

from ._common import (
    PATH_WIDTH,
    add_command,
    add_quiet,
    audio_files,
    chunks,
    error,
    load_model,
    shown,
)

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "predict", "predict files and folders with a saved pipeline or "
                    "an exported bundle, one row per file (and per window with --window)",
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
    add_quiet(p)
    p.set_defaults(func=run)
    return p


def run(args):
    """Predict files and folders with a saved pipeline or an exported bundle."""
    from ..exceptions import SkCryError

    try:
        model, kind = load_model(args.model)
    except (SkCryError, OSError) as exc:
        return error("predict", exc)
    paths = audio_files(args.paths)
    if not paths:
        return error("predict", f"no audio files in {' '.join(args.paths)}")
    if args.window is None and args.hop is not None:
        return error("predict", "--hop needs --window")
    try:
        rows, names = _rows(model, kind, paths, args)
    except SkCryError as exc:
        return error("predict", exc)
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
        width = min(PATH_WIDTH, max(len(shown(r["path"])) for r in rows))
        head = f"{'file':<{width}} " + ("  start" if args.window is not None else "")
        print(head + f" {'label':<12}" + "".join(f" {n[:10]:>10}" for n in names))
        for row in rows:
            p = row["probabilities"]
            name = row["path"] if row["start"] is None else ""
            line = f"{shown(name)[-width:]:<{width}} "
            if args.window is not None:
                line += "  total" if row["start"] is None else f"{row['start']:7.1f}"
            line += f" {row['label'] or '-':<12}" + "".join(
                f" {'-' if p[n] is None else format(p[n], '.3f'):>10}" for n in names)
            note = shown(_note(row))
            print(line + (f"  {note}" if note else ""))
    failed = sum(1 for r in rows if r["error"])
    if failed:
        print(f"sk-cry predict: {failed} of {len(paths)} files could not be read",
              file=sys.stderr)
    return 1 if failed else 0


def _rows(model, kind, paths, args):
    """One dict per file (and per window with --window), classes by name."""
    names = [str(c) for c in model.classes_]
    rows = []
    for part in chunks(len(paths), 16, args=args, desc="predicting"):
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
    from ..runtime import SILENCE_DBFS

    if row["error"]:
        return row["error"]
    notes = [f"silent (below {SILENCE_DBFS:g} dBFS)"] if row["silent"] else []
    notes += ["padded (shorter than one window)"] if row.get("padded") else []
    notes += [f"truncated: {row['truncated']}"] if row.get("truncated") else []
    return "; ".join(notes)
