"""What the commands that report cry events share (``detect``, ``listen
--events``, ``monitor``): the detector, its event rules from the options, and
one line per event."""

from ._common import load_model

__all__ = ["detection_settings", "event_line", "load_detector"]


def load_detector(path):
    """``(model, kind)``: the named bundle or saved pipeline, or the default
    detector for None."""
    if path is None:
        from ..runtime import default_detector

        return default_detector(), "bundle"
    return load_model(path)


def detection_settings(model, kind, args):
    """``(hop, rules)``: ``--settings`` (a bundle's calibration), else the
    detector's own; ``--hop`` and ``--threshold`` applied (None: the model's)."""
    from ..exceptions import ParameterError

    hop, rules = getattr(args, "hop", None), None
    if getattr(args, "settings", None) is not None:
        if kind != "bundle":
            raise ParameterError("--settings holds a bundle's calibration: export the "
                                 "detector (sk-cry export) and calibrate that")
        from ..runtime import read_settings

        saved_hop, rules = read_settings(args.settings, model)
        hop = saved_hop if hop is None else hop
    if getattr(args, "threshold", None) is None:
        return hop, rules
    from ..core import EventRules

    if rules is not None:
        rules = rules.to_dict()
    elif kind == "bundle":
        rules = dict(model.detection.get("rules") or {})
    else:
        rules = {}
    release = rules.get("release")
    rules["threshold"] = args.threshold
    if release is not None and release > args.threshold:
        rules["release"] = args.threshold
    return hop, EventRules.from_dict(rules)


def event_line(kind, event, event_id=None):
    """One line for a live event update (``sk-cry listen --events``, ``sk-cry
    monitor``): ``kind`` "start" or "end", ``event`` an Event or an event
    document (``sk_cry.monitor.event_document``)."""
    e = event if isinstance(event, dict) else event.to_dict()
    tag = "" if event_id is None else f"  id {event_id}"
    if kind == "start":
        return f"{e['start']:8.1f} s  cry started (p {e['peak']:.2f}){tag}"
    reason = "" if e["reason"] is None else \
        f", reason {e['reason']} ({e['reason_probabilities'][e['reason']]:.2f})"
    return (f"{e['end']:8.1f} s  cry ended: {e['start']:.1f}-{e['end']:.1f} s, "
            f"peak {e['peak']:.2f}, mean {e['mean']:.2f}{reason}{tag}")
