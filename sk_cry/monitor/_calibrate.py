"""Event thresholds for one room: the detector run over recordings of the room
with no crying, and the most sensitive rules that keep its false alarms at or
under a rate."""

import numpy as np

from ..core import EventRules, find_events
from ..exceptions import ParameterError

__all__ = ["Calibration", "calibrate"]

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995,
              0.998, 0.999)
LONGER = (0.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds added to the minimum duration


class Calibration:
    """What :func:`calibrate` measured and chose.

    Attributes
    ----------
    rules : EventRules or None
        The chosen rules; None when no candidate met the goal.
    hop : float or None
        Seconds between windows, as asked (None: the detector's).
    hours : float
        Hours of background heard (silent windows included).
    files : int
        Recordings heard; ``errors`` lists those that could not be read.
    false_alarms_per_hour : float
        The chosen rules' rate on the background (or the best rate tried).
    goal : float
    table : list of dict
        Every candidate tried: threshold, release, min_duration, events,
        false_alarms_per_hour.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self):
        """JSON-able summary (kept in the settings file)."""
        return {"goal_false_alarms_per_hour": self.goal,
                "false_alarms_per_hour": round(self.false_alarms_per_hour, 3),
                "hours": round(self.hours, 4), "files": self.files,
                "errors": self.errors}


def _candidates(base):
    """Rules from the most to the least sensitive: the shortest minimum
    duration first (the fastest announcement), then the lowest threshold; the
    release keeps its place under the threshold."""
    for longer in LONGER:
        for threshold in THRESHOLDS:
            release = threshold if base.release is None else min(base.release, threshold)
            yield EventRules(threshold=threshold, release=release, n=base.n, m=base.m,
                             min_duration=base.min_duration + longer,
                             merge_gap=base.merge_gap)


def calibrate(model, paths, *, false_alarms_per_hour=1.0, hop=None, rules=None):
    """The most sensitive event rules that raise at most ``false_alarms_per_hour``
    false alarms on recordings with no crying.

    The detector runs once over ``paths`` (recordings of the room where it will
    listen: television, talk, the dishwasher, no baby crying); then each
    candidate rule set is judged on the window probabilities kept: every
    threshold from 0.5 to 0.999 with the detector's own n-of-m vote, then the
    same with a longer minimum duration (2, 4, 8, 15, 30 s more). The first that
    meets the goal, from the most sensitive, is chosen. Every event found on
    the background is a false alarm, so the rate's resolution is one per the
    hours heard: calibrate on at least an hour.

    Parameters
    ----------
    model : sk_cry.runtime.BundleModel
    paths : sequence of str or path-like
    false_alarms_per_hour : float, default=1.0
        The goal, >= 0.
    hop : float or None, default=None
        As in :meth:`~sk_cry.runtime.BundleModel.detect`.
    rules : EventRules, dict or None, default=None
        The rules whose vote (n, m), release and merge gap are kept (None: the
        bundle's).

    Returns
    -------
    calibration : Calibration
    """
    if isinstance(false_alarms_per_hour, bool) or not isinstance(
            false_alarms_per_hour, (int, float)) or not false_alarms_per_hour >= 0:
        raise ParameterError(f"false_alarms_per_hour={false_alarms_per_hour!r} is "
                             "invalid: it must be a rate >= 0")
    found = model.detect(paths, hop=hop, rules=rules, windows=True)
    heard = [d for d in found if d.error is None and d.duration]
    if not heard:
        raise ParameterError("none of the background recordings could be read: "
                             + "; ".join(d.error or f"{d.path}: empty" for d in found))
    base = _rules_of(model, rules)
    window = model.duration
    hours = sum(d.duration for d in heard) / 3600
    series = [(np.array([s for s, _ in d.windows]),
               np.array([np.nan if p is None else p for _, p in d.windows]), d.duration)
              for d in heard]
    table, chosen = [], None
    for candidate in _candidates(base):
        events = sum(len(find_events(s, p, window=window, rules=candidate, duration=t))
                     for s, p, t in series)
        rate = events / hours
        table.append({"threshold": candidate.threshold, "release": candidate.release,
                      "min_duration": candidate.min_duration, "events": events,
                      "false_alarms_per_hour": rate})
        if rate <= false_alarms_per_hour:
            chosen = candidate
            break
    best = min(table, key=lambda row: row["false_alarms_per_hour"])
    return Calibration(
        rules=chosen, hop=hop, hours=hours, files=len(heard),
        errors=[d.error for d in found if d.error],
        false_alarms_per_hour=table[-1]["false_alarms_per_hour"] if chosen
        else best["false_alarms_per_hour"],
        goal=float(false_alarms_per_hour), table=table)


def _rules_of(model, rules):
    if rules is None:
        rules = model.detection.get("rules")
    if rules is None:
        return EventRules()
    return rules if isinstance(rules, EventRules) else EventRules.from_dict(rules)
