"""``sk-cry detect``: cry events in recordings, one row per event, on the
runtime alone with bundles (the default detector when no model is named)."""

import csv
import json
import sys

from ._common import PATH_WIDTH, add_command, audio_files, error, load_model, shown
from ._events import detection_settings, load_detector

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "detect", "find cry events in recordings with a detector (the "
                    "one that ships with sk_cry unless --model names another), one row "
                    "per event; exit status 0, 1 when some files could not be read, 2 "
                    "on a usage error",
                    "sk-cry detect night.wav --reason cry.skcry-bundle")
    p.add_argument("paths", nargs="+", help="audio files or folders")
    p.add_argument("--model", default=None, help="a detector bundle (sk-cry export) or "
                   "saved pipeline (a pickle: only one you trust); default: sk_cry's")
    p.add_argument("--reason", default=None, help="a reason model (bundle or saved "
                   "pipeline) that labels each event with its mean probabilities")
    p.add_argument("--hop", type=float, default=None,
                   help="seconds between windows (default: the detector's)")
    p.add_argument("--threshold", type=float, default=None,
                   help="probability at which a window votes cry (default: the "
                   "detector's)")
    p.add_argument("--settings", default=None, help="event rules for this detector "
                   "written by sk-cry calibrate (--hop and --threshold still win)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run)
    return p


def run(args):
    """Find cry events and print one row per event."""
    from ..exceptions import SkCryError

    try:
        model, kind = load_detector(args.model)
        reason = None if args.reason is None else load_model(args.reason)[0]
        hop, rules = detection_settings(model, kind, args)
        paths = audio_files(args.paths)
        if not paths:
            return error("detect", f"no audio files in {' '.join(args.paths)}")
        if kind == "bundle":
            found = model.detect(paths, hop=hop, rules=rules, reason=reason)
        else:
            from ..models import detect as detect_pipeline

            found = detect_pipeline(model, paths, hop=hop, rules=rules,
                                    reason=reason)
    except (SkCryError, OSError) as exc:
        return error("detect", exc)
    reasons = [str(c) for c in reason.classes_] if reason is not None else []
    if args.format == "json":
        json.dump([d.to_dict() for d in found], sys.stdout, indent=1)
        print()
    elif args.format == "csv":
        out = csv.writer(sys.stdout)
        out.writerow(["path", "start", "end", "peak", "mean", "reason"]
                     + [f"p_{n}" for n in reasons] + ["note"])
        for d in found:
            if d.error or not d.events:
                out.writerow([d.path] + [""] * (5 + len(reasons))
                             + [d.error or "no cry"])
            for e in d.events:
                p = e.reason_probabilities or {}
                out.writerow([d.path, f"{e.start:.2f}", f"{e.end:.2f}", f"{e.peak:.4f}",
                              f"{e.mean:.4f}", "" if e.reason is None else e.reason]
                             + [f"{p[n]:.4f}" if n in p else "" for n in reasons] + [""])
    else:
        width = min(PATH_WIDTH, max(len(shown(d.path)) for d in found))
        print(f"{'file':<{width}} {'start':>8} {'end':>8} {'peak':>6} {'mean':>6}  "
              "reason")
        for d in found:
            name = shown(d.path)
            if d.error or not d.events:
                print(f"{name[-width:]:<{width}} {'-':>8} {'-':>8} {'-':>6} {'-':>6}  "
                      f"{shown(d.error or 'no cry')}")
            for e in d.events:
                why = "" if e.reason is None else \
                    f"{e.reason} ({e.reason_probabilities[e.reason]:.2f})"
                print(f"{name[-width:]:<{width}} {e.start:8.1f} {e.end:8.1f} "
                      f"{e.peak:6.2f} {e.mean:6.2f}  {why}")
    return 1 if any(d.error for d in found) else 0
