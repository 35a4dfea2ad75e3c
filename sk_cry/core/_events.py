"""Cry events from window probabilities: the rules, one online tracker, a batch call.

A cry detector run on overlapping windows gives, for window ``i`` covering
``[start_i, start_i + window)`` seconds, the probability ``p_i`` of a cry, or None
(NaN) for a silent window. :class:`EventTracker` turns them into events window by
window (live listening); :func:`find_events` runs it over a whole recording, so
batch and live give the same events by construction. The rules (fields of
:class:`EventRules`, times in seconds):

- **Votes.** A window votes "cry" when ``p >= threshold``, or ``p >= release``
  while an event is open (hysteresis). A silent window votes no.
- **Opening.** An event opens at the first window where at least ``n`` of the last
  ``m`` windows vote. It starts at the earliest of those voting windows that no
  earlier event holds (so events never overlap).
- **Closing.** It closes at the first window where fewer than ``n`` of the last
  ``m`` vote, and ends where its last voting window ends; one still open when the
  recording ends is closed there, its end clipped to the recording's duration.
- **Windows.** An event's windows are the non-silent ones starting between its
  start and its last voting window's start: ``peak`` and ``mean`` are over their
  probabilities, ``reason_probabilities`` is the mean of their reason dicts and
  ``reason`` its largest entry.
- **Merging.** An event that starts at most ``merge_gap`` after the previous one
  ended continues it (the first start; the windows of both and of the gap).
- **Minimum duration.** An event whose last voting window ends less than
  ``min_duration`` after its start is dropped.
- **Short recordings.** A recording too short for the rules (fewer than ``m``
  windows, or shorter than ``min_duration`` plus one window) in which no event
  was announced is judged again on the windows it has, by the rules scaled to
  it: ``m' = min(m, k)`` of its ``k`` windows, ``n' = ceil(n * m' / m)``, and a
  minimum duration of ``min(min_duration, duration / 2)``. So a 5-s clip still
  answers whether it holds a cry (for half its length, at least).

Live, :meth:`EventTracker.push` announces ``("start", event)`` at the first window
where the event lasts ``min_duration``, and ``("end", event)`` once it can no
longer merge: at the first window starting more than ``merge_gap`` after its end
(later only while a vote already cast could open an event within the gap), or at
:meth:`EventTracker.finish`. Both carry the same object, growing in between.
"""

import math
import numbers
from collections import deque
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..exceptions import ParameterError

__all__ = ["Event", "EventRules", "EventTracker", "find_events"]

# Start times are often sums of a float hop (0.1 + 0.2 != 0.3); this slack keeps a
# gap of exactly merge_gap, or an event of exactly min_duration, on the rule's side.
_EPS = 1e-9


@dataclass
class Event:
    """One cry event: ``start`` and ``end`` in seconds, ``peak`` and ``mean``
    probability, and (when reasons were given) ``reason`` and
    ``reason_probabilities`` (name -> mean probability), as the module defines."""

    start: float
    end: float
    peak: float
    mean: float
    reason: object = None
    reason_probabilities: dict = None

    def to_dict(self):
        """The event as a JSON-able dict (numpy scalars made plain, keys strings)."""
        probs, reason = self.reason_probabilities, self.reason
        return {"start": float(self.start), "end": float(self.end),
                "peak": float(self.peak), "mean": float(self.mean),
                "reason": reason.item() if isinstance(reason, np.generic) else reason,
                "reason_probabilities": None if probs is None
                else {str(k): float(v) for k, v in probs.items()}}


@dataclass(frozen=True)
class EventRules:
    """How window probabilities become events (the module docstring defines each).

    Parameters
    ----------
    threshold : float, default=0.5
        Vote level while no event is open, in ``[0, 1]``.
    release : float or None, default=None
        Vote level while one is open, at most ``threshold``; None: ``threshold``.
    n, m : int, default=2, 3
        Votes among the last ``m`` windows (``1 <= n <= m <= 64``) that open an event.
    min_duration, merge_gap : float, default=0.0
        Seconds; shorter events are dropped, events closer than this are merged.

    Examples
    --------
    >>> EventRules.from_dict({"threshold": 0.6, "release": 0.4}).to_dict()["release"]
    0.4
    """

    threshold: float = 0.5
    release: float = None
    n: int = 2
    m: int = 3
    min_duration: float = 0.0
    merge_gap: float = 0.0

    def validate(self):
        """Return ``self``; raise ParameterError naming a field out of range."""
        def bad(name, valid):
            return ParameterError(f"EventRules.{name}={getattr(self, name)!r} is "
                                  f"invalid: it must be {valid}")

        for name in ("threshold", "release", "min_duration", "merge_gap", "n", "m"):
            value, integral = getattr(self, name), name in ("n", "m")
            if name == "release" and value is None:
                continue
            kind = numbers.Integral if integral else numbers.Real
            if isinstance(value, bool) or not isinstance(value, kind) \
                    or not math.isfinite(value):
                raise bad(name, "an integer" if integral else "a finite number")
        release = self.threshold if self.release is None else self.release
        # m bounds the windows kept and how late a start is announced; 64 windows
        # is a minute at a 1-s hop, beyond any useful vote
        for name, ok, valid in [
                ("threshold", 0 <= self.threshold <= 1, "between 0 and 1"),
                ("release", 0 <= release <= self.threshold,
                 f"between 0 and threshold={self.threshold}, or None"),
                ("m", 1 <= self.m <= 64, "between 1 and 64 windows"),
                ("n", 1 <= self.n <= self.m, f"between 1 and m={self.m} windows"),
                ("min_duration", self.min_duration >= 0, ">= 0 s (0 keeps every event)"),
                ("merge_gap", self.merge_gap >= 0, ">= 0 s (0 merges touching events)")]:
            if not ok:
                raise bad(name, valid)
        return self

    def to_dict(self):
        """The rules as a JSON-able dict, read back by :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, settings):
        """Validated rules from a dict; unknown keys raise ParameterError, since a
        misspelt rule would otherwise silently keep its default."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ParameterError(f"unknown event rule(s) {unknown}: the rules are "
                                 f"{known}; fix or remove those keys in the settings")
        return cls(**settings).validate()


class _Run:
    """An event being tracked: its aggregates, and windows not yet part of it."""

    def __init__(self, start, pending):
        self.event = Event(start=start, end=start, peak=0.0, mean=0.0)
        self.pending = pending  # non-silent windows after the last voting one
        self.count, self.total, self.reason_sums = 0, 0.0, {}
        self.last_vote, self.open, self.announced = start, True, False


class EventTracker:
    """Turn window probabilities, pushed one by one, into cry events.

    Parameters
    ----------
    rules : EventRules or None
        The rules (None: ``EventRules()``); validated here.
    window : float
        Seconds each window covers.

    See Also
    --------
    find_events : The same tracker run over a whole recording.

    Examples
    --------
    >>> tracker = EventTracker(EventRules(n=2, m=3), window=2.0)
    >>> for start, p in enumerate([0.1, 0.9, 0.8, 0.2, 0.1, 0.1]):
    ...     for kind, event in tracker.push(start, p):
    ...         print(start, kind, event.start, event.end)
    2 start 1.0 4.0
    5 end 1.0 4.0
    """

    def __init__(self, rules, *, window):
        self.rules = (EventRules() if rules is None else rules).validate()
        if (isinstance(window, bool) or not isinstance(window, numbers.Real)
                or not math.isfinite(window) or window <= 0):
            raise ParameterError(f"window={window!r} is invalid: it must be the seconds "
                                 "each window covers, a finite number > 0")
        self.window = float(window)
        self._release = self.rules.threshold if self.rules.release is None \
            else self.rules.release
        self._reset()

    def _reset(self):
        self._recent = deque(maxlen=self.rules.m)  # (start, p or None, reasons, vote)
        # the first windows, kept while the recording may turn out too short for
        # the rules (bounded: m windows, or min_duration's worth)
        self._early, self._count, self._announced = [], 0, False
        self._run = None  # the open event, or the closed one held back for merging
        self._floor = -math.inf  # last window start an earlier event holds
        self._last_start = -math.inf

    def push(self, start, probability, reasons=None):
        """Add the next window; return the ``("start" | "end", Event)`` pairs it causes.

        Parameters
        ----------
        start : float
            Seconds, after the previous window's start.
        probability : float or None
            Probability of a cry, in ``[0, 1]``; None or NaN for a silent window.
        reasons : dict or None, default=None
            Reason name -> probability for this window.

        Raises
        ------
        ParameterError
            If ``start`` is not after the previous start, or ``probability`` is
            outside ``[0, 1]``.
        """
        start = float(start)
        if not math.isfinite(start) or start <= self._last_start:
            raise ParameterError(f"window start {start!r} s is not after the previous "
                                 f"one ({self._last_start} s): push windows in "
                                 "increasing start order, without duplicates")
        silent = probability is None or math.isnan(probability)
        if not silent and not 0 <= probability <= 1:
            raise ParameterError(f"probability {probability!r} of the window at {start} s"
                                 " is not in [0, 1]; pass None (or NaN) if silent")
        self._count += 1
        if self._count <= self.rules.m or start < self.rules.min_duration:
            self._early.append((start, None if silent else float(probability), reasons))
        run, out = self._run, []
        is_open = run is not None and run.open
        level = self._release if is_open else self.rules.threshold
        window = (start, None if silent else float(probability), reasons,
                  not silent and probability >= level)
        self._recent.append(window)
        self._last_start = start
        if run is not None and not silent:
            run.pending.append(window)
        votes = sum(w[3] for w in self._recent)
        if is_open and window[3]:
            self._extend(run, start, out)
        elif is_open and votes < self.rules.n:
            run.open, self._floor = False, run.last_vote
        elif not is_open and votes >= self.rules.n:
            first = next(w[0] for w in self._recent if w[3] and w[0] > self._floor)
            if run is not None and first <= run.event.end + self.rules.merge_gap + _EPS:
                run.open = True  # merge: its pending windows hold the gap and this one
            else:
                self._release_run(out)
                run = self._run = _Run(first, [w for w in self._recent
                                               if w[0] >= first and w[1] is not None])
            self._extend(run, start, out)
        if run is not None and not run.open and self._past_gap(run, start):
            self._release_run(out)
        return out

    def finish(self, duration=None):
        """End the stream: return the last ``("start" | "end", Event)`` pairs.

        The tracker is then reset, ready for a new stream.

        Parameters
        ----------
        duration : float or None, default=None
            Length of the recording in seconds, at least the last window's start;
            the last event's end is clipped to it.
        """
        if duration is not None and not (math.isfinite(duration)
                                         and duration >= self._last_start):
            raise ParameterError(f"duration={duration!r} is invalid: it must be finite "
                                 "and at least the last window start "
                                 f"({self._last_start})")
        out, k = [], self._count
        length = self._last_start + self.window if duration is None else float(duration)
        short = k < self.rules.m or length < self.rules.min_duration + self.window
        if short and k and not self._announced and len(self._early) == k:
            return self._judge_short(length, duration)
        if self._run is not None and duration is not None:
            self._run.event.end = min(self._run.event.end, float(duration))
        self._release_run(out)
        self._reset()
        return out

    def _judge_short(self, length, duration):
        """The events of a short recording, by the rules scaled to it."""
        rules, m = self.rules, min(self.rules.m, self._count)
        scaled = EventRules(threshold=rules.threshold, release=rules.release, m=m,
                            n=math.ceil(rules.n * m / rules.m),
                            min_duration=min(rules.min_duration, length / 2),
                            merge_gap=rules.merge_gap)
        again, early = EventTracker(scaled, window=self.window), self._early
        self._reset()
        out = [update for start, p, reasons in early
               for update in again.push(start, p, reasons)]
        return out + again.finish(duration)

    def _extend(self, run, last_vote, out):
        """Make ``last_vote`` the run's last voting window: its pending windows join."""
        event = run.event
        for _, p, reasons, _ in run.pending:
            run.count, run.total = run.count + 1, run.total + p
            event.peak = max(event.peak, p)
            for name, value in (reasons or {}).items():
                total, count = run.reason_sums.get(name, (0.0, 0))
                run.reason_sums[name] = (total + float(value), count + 1)
        run.pending, run.last_vote = [], last_vote
        event.end, event.mean = last_vote + self.window, run.total / run.count
        if run.reason_sums:
            probs = {k: t / c for k, (t, c) in run.reason_sums.items()}
            event.reason, event.reason_probabilities = max(probs, key=probs.get), probs
        lasts = event.end - event.start >= self.rules.min_duration - _EPS
        if lasts and not run.announced:
            run.announced = self._announced = True
            out.append(("start", event))

    def _past_gap(self, run, start):
        # a vote cast since the run closed may yet open an event starting within
        # merge_gap of its end: hold the run back while one is that near
        limit = run.event.end + self.rules.merge_gap + _EPS
        return start > limit and not any(w[3] and self._floor < w[0] <= limit
                                         for w in self._recent)

    def _release_run(self, out):
        if self._run is not None and self._run.announced:
            out.append(("end", self._run.event))
        self._run = None


def find_events(starts, probabilities, *, window, rules=None, duration=None,
                reasons=None):
    """The cry events of a whole recording, by :class:`EventTracker`'s rules.

    Parameters
    ----------
    starts, probabilities : array-like of shape (n_windows,)
        Window starts in seconds (increasing) and cry probabilities (NaN or None:
        silent).
    window : float
        Seconds each window covers.
    rules : EventRules or None, default=None
        None: ``EventRules()``.
    duration : float or None, default=None
        Length of the recording; the last event's end is clipped to it.
    reasons : sequence of (dict or None), or None, default=None
        Reason name -> probability, per window.

    Returns
    -------
    events : list of Event, in time order.

    Examples
    --------
    >>> events = find_events(range(7), [0.1, 0.9, 0.8, 0.2, 0.1, 0.1, 0.1], window=2.0)
    >>> [(e.start, e.end, e.peak) for e in events]
    [(1.0, 4.0, 0.9)]
    """
    starts = np.asarray(starts, dtype=float).reshape(-1)
    probabilities = np.asarray(probabilities, dtype=float).reshape(-1)  # None -> NaN
    if len(probabilities) != len(starts) or (reasons is not None
                                             and len(reasons) != len(starts)):
        raise ParameterError(
            f"{len(starts)} window starts but {len(probabilities)} probabilities"
            + ("" if reasons is None else f" and {len(reasons)} reasons")
            + ": pass one of each per window")
    tracker = EventTracker(rules, window=window)
    emitted = []
    for i, (start, p) in enumerate(zip(starts, probabilities)):
        emitted += tracker.push(start, p, None if reasons is None else reasons[i])
    emitted += tracker.finish(duration)
    return [event for kind, event in emitted if kind == "end"]
