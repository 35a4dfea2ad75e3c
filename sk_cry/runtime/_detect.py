"""Cry events in recordings and live audio: window probabilities of a detector
through the event rules of :mod:`sk_cry.core`, with an optional reason model.

One loop serves a bundle (whose windows share one STFT) and a fitted pipeline
(whose windows are cut as clips): both hand it ``(start, probability, wave)``
for each window in order.
"""

import os
from dataclasses import dataclass, field

import numpy as np

from ..core import EventRules, EventTracker
from ..exceptions import ParameterError, SkCryError
from ._records import is_silent, to_length

__all__ = ["Detection", "ReasonModel", "detect_windows", "positive_column", "track"]


@dataclass
class Detection:
    """What ``detect`` says about one recording.

    Attributes
    ----------
    path : str
    duration : float or None
        Seconds of audio in the file.
    events : list of Event
        Each with ``start``, ``end`` (seconds), ``peak`` and ``mean``
        probability, and ``reason`` and ``reason_probabilities`` when a reason
        model was given.
    error : str or None
        ``"<ExceptionType>: <message>"`` for a file that could not be read (no
        events then).
    windows : list of (float, float or None), or None
        With ``windows=True``: each window's start (seconds) and probability of
        a cry (None: silent), in order.
    """

    path: str
    duration: float = None
    events: list = field(default_factory=list)
    error: str = None
    windows: list = None

    def to_dict(self):
        """JSON-able: ``{path, duration, events: [...], error}``, and
        ``windows: [[start, probability or null], ...]`` when they were kept."""
        out = {"path": self.path, "duration": self.duration,
               "events": [e.to_dict() for e in self.events], "error": self.error}
        if self.windows is not None:
            out["windows"] = [[float(s), None if p is None else float(p)]
                              for s, p in self.windows]
        return out


def positive_column(classes, positive=None):
    """The column of ``classes`` that means "a baby cries": ``positive`` when
    given, else the class named ``"cry"``, else the last class (1 of 0/1)."""
    names = [str(c) for c in classes]
    if positive is None:
        positive = "cry" if "cry" in names else names[-1]
    if str(positive) not in names:
        raise ParameterError(f"positive={positive!r} is not a class of the detector "
                             f"({names}); name one of them")
    return names.index(str(positive))


class ReasonModel:
    """Why a baby cries, asked of each window that votes "cry".

    Wraps an exported bundle or a fitted pipeline (anything with ``sr``,
    ``duration`` and ``predict_proba`` of float waveforms, or an sk_cry
    pipeline whose first step is an ``AudioLoader``).
    """

    def __init__(self, model, sr):
        loader = model.steps[0][1] if hasattr(model, "steps") else model
        self.sr, self.duration = int(loader.sr), float(loader.duration)
        if self.sr != int(sr):
            raise ParameterError(
                f"the reason model reads audio at {self.sr} Hz and the detector at "
                f"{sr} Hz: train (or export) both at one sample rate")
        self.model = model
        self.names = [str(c) for c in model.classes_]
        self.n = int(round(self.sr * self.duration))

    def __call__(self, wave):
        """Class name -> probability for one window (cut or padded to the
        reason model's duration)."""
        clip = to_length(wave[np.newaxis], self.n)
        return dict(zip(self.names, map(float, self.model.predict_proba(clip)[0])))


def track(windows, rules, *, window, reason=None, on_window=None):
    """Feed ``(start, probability, wave)`` windows to an :class:`EventTracker`
    and yield its ``("start" | "end", Event)`` updates, as they happen.

    ``probability`` is None for a silent window; ``reason`` (a
    :class:`ReasonModel`) hears every window whose probability keeps an event
    open (at or above ``rules.release``); ``on_window(start, probability)`` is
    called for every window before its updates. Returns the tracker, whose
    ``finish`` the caller calls with the recording's duration.
    """
    tracker = EventTracker(rules, window=window)
    release = rules.threshold if rules.release is None else rules.release
    for start, p, wave in windows:
        if on_window is not None:
            on_window(start, p)
        reasons = reason(wave) if reason is not None and p is not None and \
            p >= release else None
        yield from tracker.push(start, p, reasons)
    return tracker


def detect_windows(path, windows, rules, *, window, reason=None, stats=None,
                   keep_windows=False):
    """A :class:`Detection` of one recording from its windows.

    ``windows`` yields ``(start, probability, wave)``; ``stats()`` gives the
    recording's duration once they are exhausted. A file that cannot be read
    (an ``SkCryError`` from ``windows``) is a record with its ``error``. With
    ``keep_windows`` the record holds every window's start and probability.
    """
    record = Detection(os.fspath(path), windows=[] if keep_windows else None)
    seen = None if record.windows is None else \
        (lambda start, p: record.windows.append((float(start), p)))
    updates = track(windows, rules, window=window, reason=reason, on_window=seen)
    try:
        while True:
            kind, event = next(updates)
            if kind == "end":
                record.events.append(event)
    except StopIteration as stop:
        tracker = stop.value
    except SkCryError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        return record
    record.duration = stats()
    record.events += [e for kind, e in tracker.finish(record.duration) if kind == "end"]
    return record


def window_probabilities(batches, proba, column):
    """``(start, probability or None, wave)`` of ``(starts, waves)`` batches,
    ``proba`` asked of the windows that are not silent."""
    for starts, waves in batches:
        silent = is_silent(waves)
        rows = iter(proba(waves[~silent])[:, column] if not silent.all() else ())
        for start, quiet, wave in zip(starts.tolist(), silent.tolist(), waves):
            yield start, None if quiet else float(next(rows)), wave


def check_rules(rules):
    """``rules`` as :class:`EventRules` (a dict is read as its fields; None is
    the defaults), validated."""
    if rules is None:
        return EventRules()
    if isinstance(rules, dict):
        return EventRules.from_dict(rules)
    if not isinstance(rules, EventRules):
        raise ParameterError(f"rules must be an EventRules, a dict of its fields or "
                             f"None, got {type(rules).__name__}")
    return rules.validate()
