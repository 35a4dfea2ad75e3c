"""The audio of each event, kept: a WAV with pre- and post-roll and a JSON
sidecar, in a folder bounded in clips and megabytes (oldest removed first)."""

import json
import math
import os
from collections import deque
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from ..exceptions import ParameterError

__all__ = ["ClipRecorder"]

_PATTERN = "cry-*.wav"  # what the recorder wrote, and all it ever removes


class ClipRecorder:
    """Write each cry event's audio to ``folder`` as ``cry-<time>-<id>.wav``
    (16-bit PCM, at the source's sample rate) with a sidecar
    ``cry-<time>-<id>.json``.

    The clip runs from ``pre_roll`` seconds before the event's start to
    ``post_roll`` seconds after its end, at most ``max_seconds``; the sidecar
    holds the event document (start, end, probabilities, model hash), where
    the clip begins in the stream, and the probability of every window the
    clip covers. Once a clip is written, the oldest clips in ``folder`` are
    removed until at most ``max_clips`` remain and they hold at most
    ``max_mb`` megabytes; sub-folders (where clips sorted into classes go) are
    never touched.

    Parameters
    ----------
    folder : str or path-like
        Created if missing.
    pre_roll, post_roll : float, default=5.0, 5.0
        Seconds before and after the event; at most 60.
    max_clips : int, default=500
    max_mb : float, default=1000.0
    max_seconds : float, default=300.0
        Longest clip; a longer event's clip is cut there (``"cut": true``).
    """

    def __init__(self, folder, *, pre_roll=5.0, post_roll=5.0, max_clips=500,
                 max_mb=1000.0, max_seconds=300.0):
        for name, value, low, high in [("pre_roll", pre_roll, 0, 60),
                                       ("post_roll", post_roll, 0, 60),
                                       ("max_clips", max_clips, 1, math.inf),
                                       ("max_mb", max_mb, 0.01, math.inf),
                                       ("max_seconds", max_seconds, 1, 86400)]:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not low <= value <= high:
                raise ParameterError(f"{name}={value!r} is invalid: it must be a number "
                                     f"from {low} to {high}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pre_roll, self.post_roll = float(pre_roll), float(post_roll)
        self.max_clips, self.max_mb = int(max_clips), float(max_mb)
        self.max_seconds = float(max_seconds)
        self.written = []  # paths of the clips written, in order

    # --- the stream ---------------------------------------------------------
    def begin_stream(self, rate, announce_within=60.0):
        """Start a stream at ``rate`` Hz. ``announce_within``: the most seconds
        between an event's start and its announcement (the history kept)."""
        self.rate = int(rate)
        self._history = deque()  # (first sample, block) of the recent audio
        self._keep = int((self.pre_roll + announce_within) * self.rate)
        self._windows = deque(maxlen=4096)
        self._position = 0  # samples received
        self._open = {}  # event id -> _Clip

    def tee(self, blocks):
        """``blocks`` again, each kept in the history and written to open clips."""
        for block in blocks:
            self._feed(np.asarray(block, np.float32).reshape(-1))
            yield block

    def window(self, start, probability):
        """Note a window's probability (the monitor passes every one)."""
        self._windows.append((float(start), probability))
        for clip in self._open.values():
            if start * self.rate >= clip.begin:
                clip.windows.append([float(start), probability])

    def update(self, document):
        """An event started (a clip opens) or ended (its clip will close after
        the post-roll)."""
        clip = self._open.get(document["id"])
        if document["type"] == "start" and clip is None:
            self._open[document["id"]] = self._start_clip(document)
        elif document["type"] == "end":
            if clip is None:  # started and ended at once (the stream's end)
                clip = self._open[document["id"]] = self._start_clip(document)
            clip.document = document
            clip.stop = int(round((document["end"] + self.post_roll) * self.rate))
            self._close_finished()

    def end_stream(self):
        """The audio ended: close every clip with what it has."""
        for key in list(self._open):
            self._close(key)

    # --- inside -------------------------------------------------------------
    def _feed(self, block):
        first = self._position
        self._position += block.size
        self._history.append((first, block))
        while self._history and self._history[0][0] + self._history[0][1].size \
                < self._position - self._keep:
            self._history.popleft()
        for clip in self._open.values():
            clip.write(block, first)
        self._close_finished()

    def _start_clip(self, document):
        begin = max(0, int(round((document["start"] - self.pre_roll) * self.rate)))
        oldest = self._history[0][0] if self._history else self._position
        begin = max(begin, oldest)
        stamp = datetime.fromisoformat(document["started_at"]).astimezone()
        name = f"cry-{stamp:%Y%m%d-%H%M%S}-{document['id']}"
        clip = _Clip(self.folder / f"{name}.wav", self.rate, begin,
                     int(self.max_seconds * self.rate))
        clip.document = document
        clip.windows = [[s, p] for s, p in self._windows if s >= begin / self.rate]
        for first, block in self._history:
            clip.write(block, first)
        return clip

    def _close_finished(self):
        for key in [k for k, c in self._open.items()
                    if c.stop is not None and self._position >= c.stop]:
            self._close(key)

    def _close(self, key):
        clip = self._open.pop(key)
        seconds = clip.close()
        end = clip.begin / self.rate + seconds
        side = dict(clip.document)
        side["clip"] = {"file": clip.path.name, "sample_rate": self.rate,
                        "begins_at": round(clip.begin / self.rate, 3),
                        "seconds": round(seconds, 3), "pre_roll": self.pre_roll,
                        "post_roll": self.post_roll, "cut": clip.cut}
        side["windows"] = [w for w in clip.windows if w[0] < end]
        with open(clip.path.with_suffix(".json"), "w", encoding="utf-8") as out:
            json.dump(side, out, indent=1)
        self.written.append(clip.path)
        self._rotate()

    def _rotate(self):
        """Remove the oldest clips (and their sidecars) past the bounds."""
        clips = sorted(self.folder.glob(_PATTERN),
                       key=lambda p: (p.stat().st_mtime, p.name))
        open_paths = {c.path for c in self._open.values()}
        clips = [p for p in clips if p not in open_paths]
        sizes = [p.stat().st_size + _size(p.with_suffix(".json")) for p in clips]
        total = sum(sizes)
        while clips and (len(clips) > self.max_clips or total > self.max_mb * 1e6):
            oldest = clips.pop(0)
            total -= sizes.pop(0)
            oldest.unlink(missing_ok=True)
            oldest.with_suffix(".json").unlink(missing_ok=True)


def _size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class _Clip:
    """One clip being written: samples ``begin`` (of the stream) onwards."""

    def __init__(self, path, rate, begin, limit):
        self.path, self.begin, self.limit = path, begin, limit
        self.file = sf.SoundFile(os.fspath(path), "w", samplerate=rate, channels=1,
                                 subtype="PCM_16")
        self.written, self.stop, self.cut = 0, None, False
        self.document, self.windows = None, []

    def write(self, block, first):
        """Write the part of ``block`` (stream samples ``first`` onwards) that
        follows what is written, up to the limit (blocks come in order, without
        gaps, from the one that holds ``begin``)."""
        piece = block[max(0, self.begin + self.written - first):]
        room = self.limit - self.written
        if piece.size > room:
            piece, self.cut = piece[:room], True
        if piece.size:
            self.file.write(np.clip(piece, -1.0, 1.0))
            self.written += piece.size

    def close(self):
        """Close the file, cut back to the stop sample; returns its seconds."""
        if self.stop is not None and self.begin + self.written > self.stop:
            self.written = max(0, self.stop - self.begin)
            self.file.truncate(self.written)
        rate = self.file.samplerate
        self.file.close()
        return self.written / rate
