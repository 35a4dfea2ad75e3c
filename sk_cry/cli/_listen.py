"""``sk-cry listen``: live audio (a microphone, or a file played in real time)
through a bundle on the runtime, one line per window, or one per cry event as
it starts and ends."""

from ._common import LibraryDefault, add_command, error, given
from ._events import detection_settings, event_line, load_detector

__all__ = ["add_parser", "run"]


def add_parser(sub):
    p = add_command(
        sub, "listen", "classify live microphone audio window by window with an "
        "exported bundle (sk_cry.export), one line per window; or report cry events "
        "as they start and end (--events; the default without a bundle)",
        "sk-cry listen cry.skcry-bundle --window 6 --hop 3",
        "sk-cry listen --reason cry.skcry-bundle     # sk_cry's detector, then why",
        description="Classify live audio window by window with an exported bundle, "
        "or report cry events as they start and end.")
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
    p.add_argument("--speed", type=float,
                   default=LibraryDefault("sk_cry.runtime", "played", "speed"),
                   help="with --file: play it this many times faster than recorded "
                   "(0: as fast as it can; default %(default)s)")
    p.set_defaults(func=run)
    return p


def run(args):
    """Classify live microphone audio (or a file played in real time) window by
    window, one line per window; or, with ``--events`` (the default detector,
    or ``--reason``), one line when a cry event starts and one when it ends."""
    from ..core import EVENT_HOP, WINDOW_HOP
    from ..exceptions import SkCryError
    from ..runtime import load, microphone, played

    events = args.events or args.reason is not None or args.bundle is None \
        or args.settings is not None
    device = int(args.device) if args.device is not None and args.device.isdigit() \
        else args.device
    try:
        model = load_detector(None)[0] if args.bundle is None else load(args.bundle)
        reason = None if args.reason is None else load(args.reason)
        window = model.duration if events else (args.window or model.duration)
        hop, rules = detection_settings(model, "bundle", args) if events else (None, None)
        hop = hop or args.hop or (model.detection.get("hop", window * EVENT_HOP)
                                  if events else window * WINDOW_HOP)
        # blocks no longer than a hop, so that every window is heard on time
        block = min(hop, LibraryDefault("sk_cry.runtime", "microphone", "block").value)
        source = (played(args.file, **given(args, "speed")) if args.file
                  else microphone(device, block=block))
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
        return error("listen", exc)
    except KeyboardInterrupt:
        pass
    return 0
