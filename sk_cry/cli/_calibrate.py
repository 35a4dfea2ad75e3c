"""``sk-cry calibrate``: the event rules that keep a detector's false alarms in a
room at or under a rate (``sk_cry.monitor.calibrate``), written for ``detect``,
``listen`` and ``monitor --settings``; on the runtime alone."""

import sys

from ._common import LibraryDefault, add_command, audio_files, error, resolved

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(sub, "calibrate", "measure a detector on recordings of your room "
                    "with no crying and write the event rules that keep its false alarms "
                    "at or under a rate, for detect, listen and monitor --settings (exit "
                    "status 0: written; 1: no rules meet the rate; 2: a usage error)",
                    "sk-cry calibrate default evening.flac tv.wav "
                    "--false-alarms-per-hour 0.5 -o nursery.json")
    p.add_argument("bundle", help="the detector bundle, or \"default\" for sk_cry's")
    p.add_argument("background", nargs="+", help="audio files or folders, no crying")
    p.add_argument("--false-alarms-per-hour", type=float,
                   default=LibraryDefault("sk_cry.monitor", "calibrate",
                                          "false_alarms_per_hour"),
                   help="the most false alarms per hour to allow (default %(default)s)")
    p.add_argument("--hop", type=float, default=None,
                   help="seconds between windows (default: the detector's)")
    p.add_argument("-o", "--output", default="sk-cry-settings.json",
                   help="the settings file to write (default %(default)s)")
    p.set_defaults(func=run)
    return p


def run(args):
    """Measure the detector on background recordings and write its settings."""
    from ..exceptions import SkCryError
    from ..monitor import calibrate as measure
    from ..runtime import default_detector, load, write_settings

    rate = resolved(args.false_alarms_per_hour)
    try:
        model = default_detector() if args.bundle == "default" else load(args.bundle)
        paths = audio_files(args.background)
        if not paths:
            return error("calibrate", f"no audio files in {' '.join(args.background)}")
        print(f"calibrating the detector {model.sha256[:12]} on {len(paths)} "
              "recording(s) ...", flush=True)
        result = measure(model, paths, false_alarms_per_hour=rate, hop=args.hop)
    except (SkCryError, OSError) as exc:
        return error("calibrate", exc)
    for failed in result.errors:
        print(f"sk-cry calibrate: left out: {failed}", file=sys.stderr)
    print(f"heard {result.hours * 60:.1f} min in {result.files} recording(s); "
          f"false alarms per hour by rules tried:")
    print(f"  {'threshold':>9} {'release':>7} {'min s':>6} {'events':>6} {'per hour':>8}")
    for row in result.table[-8:]:
        print(f"  {row['threshold']:9.3f} {row['release']:7.3f} "
              f"{row['min_duration']:6.1f} {row['events']:6d} "
              f"{row['false_alarms_per_hour']:8.2f}")
    if result.hours < 1:
        print(f"sk-cry calibrate: warning: {result.hours * 60:.0f} min of background "
              f"measures false alarms in steps of {1 / result.hours:.1f} per hour; "
              "record an hour or more for a rate you can trust", file=sys.stderr)
    if result.rules is None:
        print(f"sk-cry calibrate: no rules tried keep the false alarms at or under "
              f"{rate:g} per hour (best {result.false_alarms_per_hour:.2f}): this room's "
              "sounds are too cry-like for the detector; save its false alarms "
              "(monitor --save-clips) and retrain with them", file=sys.stderr)
        return 1
    write_settings(args.output, model, rules=result.rules, hop=result.hop,
                   calibration=result.to_dict())
    r = result.rules
    print(f"wrote {args.output}: threshold {r.threshold:g}, release {r.release:g}, "
          f"{r.n} of {r.m} windows, min duration {r.min_duration:g} s "
          f"({result.false_alarms_per_hour:.2f} false alarms per hour here); use it "
          f"with --settings {args.output}")
    return 0
