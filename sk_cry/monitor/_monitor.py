"""The monitor's loop: live audio through a detector's events, each event
handed, as a JSON-able document with an ID, to every sink without waiting on
any of them."""

import itertools
import time
import uuid
from datetime import datetime, timezone

__all__ = ["Monitor", "event_document"]


def _iso(seconds):
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def event_document(kind, event, *, event_id, model, began, source=None):
    """The document every sink receives for an event update.

    Parameters
    ----------
    kind : {"start", "end"}
    event : sk_cry.core.Event
    event_id : str
        The same for an event's start and end: a receiver pairs them, and
        drops a repeated ``(id, type)`` (MQTT's at-least-once delivery may
        repeat one).
    model : str
        SHA-256 of the detector.
    began : float
        Wall-clock time (``time.time()``) at which the audio began: the event's
        ``started_at`` is ``began + start`` (its ``ended_at`` likewise).
    source : str or None, default=None

    Returns
    -------
    document : dict
        ``id``, ``type``, ``start`` and ``end`` (seconds since the audio
        began), ``started_at`` and ``ended_at`` (ISO 8601, UTC; ``ended_at`` is
        None until the end), ``peak`` and ``mean`` probability, ``reason`` and
        ``reason_probabilities`` (None without a reason model), ``model`` and
        ``source``.
    """
    values = event.to_dict()
    return {"id": event_id, "type": kind, "start": round(values["start"], 3),
            "end": round(values["end"], 3), "started_at": _iso(began + values["start"]),
            "ended_at": _iso(began + values["end"]) if kind == "end" else None,
            "peak": round(values["peak"], 4), "mean": round(values["mean"], 4),
            "reason": values["reason"],
            "reason_probabilities": values["reason_probabilities"],
            "model": model, "source": source}


class Monitor:
    """Listen with a detector and tell every sink when a cry starts and ends.

    Parameters
    ----------
    model : sk_cry.runtime.BundleModel
        The detector (e.g. :func:`sk_cry.runtime.default_detector`).
    sinks : sequence, default=()
        Objects with ``send(document)``, which must not block (they queue), and
        ``close(timeout)``: :class:`MQTTSink`, :class:`WebhookSink`.
    clips : ClipRecorder or None, default=None
        Keeps the audio of each event.
    hop, rules, reason :
        As in :meth:`sk_cry.runtime.BundleModel.listen_events`.
    source_name : str or None, default=None
        Said in every document (``"microphone"``, a file name).

    Examples
    --------
    >>> from sk_cry import runtime
    >>> from sk_cry.monitor import Monitor, WebhookSink
    >>> monitor = Monitor(runtime.default_detector(),
    ...                   sinks=[WebhookSink("http://127.0.0.1:8123/api/webhook/x")])
    >>> for document in monitor.run(runtime.microphone()):  # doctest: +SKIP
    ...     print(document["type"], document["start"])
    """

    def __init__(self, model, *, sinks=(), clips=None, hop=None, rules=None, reason=None,
                 source_name=None):
        self.model = model
        self.sinks = list(sinks)
        self.clips = clips
        self.hop, self.rules, self.reason = hop, rules, reason
        self.source_name = source_name
        self.session = uuid.uuid4().hex[:8]

    def run(self, source):
        """Listen to ``source`` until it ends, yielding each event document
        after the sinks have it queued.

        Parameters
        ----------
        source : (rate, blocks)
            :func:`sk_cry.runtime.microphone` or :func:`sk_cry.runtime.played`.

        Yields
        ------
        document : dict
            :func:`event_document`'s, for each start and end.
        """
        rate, blocks = source
        clips, began = self.clips, time.time()
        if clips is not None:
            clips.begin_stream(rate)
            blocks = clips.tee(blocks)
        numbers, ids = itertools.count(1), {}
        on_window = None if clips is None else clips.window
        updates = self.model.listen_events((rate, blocks), hop=self.hop, rules=self.rules,
                                           reason=self.reason, on_window=on_window)
        try:
            for kind, event in updates:
                key = id(event)  # start and end carry the same Event object
                if key not in ids:
                    ids[key] = f"{self.session}-{next(numbers)}"
                document = event_document(
                    kind, event, event_id=ids[key] if kind == "start" else ids.pop(key),
                    model=self.model.sha256, began=began, source=self.source_name)
                if clips is not None:
                    clips.update(document)
                for sink in self.sinks:
                    sink.send(document)
                yield document
        finally:
            if clips is not None:
                clips.end_stream()

    def close(self, timeout=30.0):
        """Close every sink, each given up to ``timeout`` seconds to deliver what
        it holds; returns ``{sink: undelivered count}`` for those that could not."""
        left = {}
        for sink in self.sinks:
            undelivered = sink.close(timeout)
            if undelivered:
                left[sink] = undelivered
        return left
