"""What a prediction says about a file or a window of it, and the loops that a
fitted pipeline and an exported model share: one record per file (errors and
silence included), long recordings window by window, live audio."""

import os
from dataclasses import dataclass, field

import numpy as np

from ..core import WINDOW_HOP
from ..exceptions import ParameterError, SkCryError
from ..io import Windows, cut_windows, load_audio, noting_truncation

__all__ = ["SILENCE_DBFS", "FilePrediction", "Recording", "Window", "classify_windows",
           "file_predictions", "is_silent", "load_or_error", "on_frame_grid",
           "stream_windows", "to_length"]

#: A clip or window whose loudest sample is below this many dB full scale has no
#: signal to classify (digital silence, a muted input): -60 dBFS is 0.001 in
#: amplitude, about the noise floor of a 10-bit recording.
SILENCE_DBFS = -60.0
_THRESHOLD = 10 ** (SILENCE_DBFS / 20)


def is_silent(waves):
    """True for each row of ``waves`` whose peak is below :data:`SILENCE_DBFS`."""
    return np.max(np.abs(waves), axis=-1) < _THRESHOLD


def to_length(waves, n):
    """The rows of ``waves`` (a ``(k, m)`` array, or ``k`` 1-D arrays of any
    lengths) as a new ``(k, n)`` float32 array: each cut to its first ``n``
    samples, or padded with silence at the end."""
    out = np.zeros((len(waves), n), np.float32)
    for row, wave in zip(out, waves):
        row[:min(n, len(wave))] = wave[:n]
    return out


@dataclass
class FilePrediction:
    """What ``predict_files`` says about one file (a pipeline's or a bundle's).

    Attributes
    ----------
    path : str
    label : object or None
        The predicted class (an element of the model's ``classes_``); None when
        the file could not be read or holds no signal.
    probabilities : dict or None
        Class name -> probability, for a file that was classified.
    error : str or None
        ``"<ExceptionType>: <message>"`` for a file that could not be read.
    silent : bool
        True when the clip's peak is below ``SILENCE_DBFS`` (-60 dBFS): not
        classified, since any class would be a guess.
    truncated : str or None
        Why the file held less audio than its header declared (it was read as
        far as it goes, the rest padded with silence), or None.
    """

    path: str
    label: object = None
    probabilities: dict = field(default=None)
    error: str = None
    silent: bool = False
    truncated: str = None


def _by_name(names, row):
    return dict(zip(names, map(float, row)))


def load_or_error(path, **params):
    """``(waveform or error, truncated)``: :func:`~sk_cry.io.load_audio` of
    ``path`` or the ``SkCryError`` that says why it cannot be read, and the
    note of a read cut short (None if it was not)."""
    with noting_truncation() as notes:
        try:
            wave = load_audio(path, **params)
        except SkCryError as exc:
            wave = exc
    return wave, "; ".join(notes) or None


def file_predictions(paths, loaded, proba, classes, names=None):
    """One :class:`FilePrediction` per path, in order.

    ``loaded[i]`` is :func:`load_or_error`'s ``(waveform or error, truncated)``
    for ``paths[i]``; ``proba`` maps the stacked waveforms that are not
    silent to probabilities in the order of ``classes``; ``names`` (default
    ``str`` of each class) key the probabilities.
    """
    names = [str(c) for c in classes] if names is None else list(names)
    records, waves, rows = [], [], []
    for path, (wave, cut) in zip(paths, loaded):
        if isinstance(wave, SkCryError):
            records.append(FilePrediction(path, error=f"{type(wave).__name__}: {wave}"))
        elif is_silent(wave):
            records.append(FilePrediction(path, silent=True, truncated=cut))
        else:
            records.append(FilePrediction(path, truncated=cut))
            waves.append(wave)
            rows.append(len(records) - 1)
    if waves:
        for row, p in zip(rows, proba(np.stack(waves))):
            records[row].label = classes[int(np.argmax(p))]
            records[row].probabilities = _by_name(names, p)
    return records


@dataclass
class Window:
    """One window of a recording.

    Attributes
    ----------
    start : float
        Seconds from the start of the recording.
    label : object or None
        Most probable class; None for a silent window.
    probabilities : dict or None
        Class name -> probability; None for a silent window.
    silent : bool
        The window's peak is below ``SILENCE_DBFS`` (-60 dBFS): not classified.
    """

    start: float
    label: object = None
    probabilities: dict = None
    silent: bool = False


@dataclass
class Recording:
    """What ``predict_windows`` says about one file.

    The aggregate ``label`` and ``probabilities`` are the mean of the window
    probabilities over the windows that are not silent, and its most probable
    class; a recording whose every window is silent has ``silent=True`` and
    no label.

    Attributes
    ----------
    path : str
    duration : float or None
        Seconds of audio in the file.
    label : object or None
    probabilities : dict or None
    windows : list of Window
    padded : bool
        The recording is shorter than one window: its one window was padded
        with silence at the end.
    silent : bool
    error : str or None
        ``"<ExceptionType>: <message>"`` for a file that could not be read (no
        windows then).
    truncated : str or None
        Why the decoder stopped before the end of the file (the audio before it
        was classified), or None.
    """

    path: str
    duration: float = None
    label: object = None
    probabilities: dict = None
    windows: list = field(default_factory=list)
    padded: bool = False
    silent: bool = False
    error: str = None
    truncated: str = None


def check_windowing(window, hop, duration, *, frame):
    """``(window, hop)`` in seconds, with the defaults filled in (one model input
    per window, hop half a window), within their bounds.

    A window holds at least one STFT frame (``frame = (n_fft, hop_length, sr)``
    of the model's features) and at most the model's input ``duration``; the
    hop is at least one STFT hop (a finer hop repeats the same frames) and at
    most the window. :data:`sk_cry.core.MAX_WINDOWS` bounds the windows of one
    file.
    """
    n_fft, hop_length, sr = frame
    window = duration if window is None else float(window)
    hop = window * WINDOW_HOP if hop is None else float(hop)
    shortest = n_fft / sr
    if not shortest <= window <= duration:
        raise ParameterError(
            f"window={window:g} s: the model classifies {duration:g}-s inputs from "
            f"STFT frames of {shortest:g} s, so a window must be {shortest:g} to "
            f"{duration:g} s long (shorter ones are padded as short clips are)")
    if not hop_length / sr <= hop <= window:
        raise ParameterError(
            f"hop={hop:g} s: windows start every hop seconds, from at least one STFT "
            f"hop ({hop_length / sr:g} s) to at most the window ({window:g} s)")
    return window, hop


def on_frame_grid(hop, *, frame):
    """``hop`` rounded to a whole number of STFT hops (``frame = (n_fft,
    hop_length, sr)``): detection windows start on the frame grid, so that
    windows sharing one STFT (a bundle's ``detect``) and windows cut as clips (a
    pipeline's) are the same windows (0.5 s becomes 0.512 s at 16 kHz and hop
    512)."""
    _, hop_length, sr = frame
    return max(1, round(hop * sr / hop_length)) * hop_length / sr


def _records(batches, proba, classes, n_input):
    """:class:`Window` records of ``(starts, waves)`` batches, in order."""
    names = [str(c) for c in classes]
    for starts, waves in batches:
        if waves.shape[1] < n_input:  # a window shorter than the model's input
            waves = np.pad(waves, ((0, 0), (0, n_input - waves.shape[1])))
        silent = is_silent(waves)
        rows = iter(proba(waves[~silent]) if not silent.all() else ())
        for start, quiet in zip(starts.tolist(), silent.tolist()):
            if quiet:
                yield Window(start, silent=True)
            else:
                row = next(rows)
                yield Window(start, classes[int(np.argmax(row))], _by_name(names, row))


def stream_windows(source, proba, classes, *, sr, duration, window, hop,
                   max_bandwidth=None):
    """Classify live audio: a :class:`Window` as soon as each window's audio has
    arrived. ``source`` is ``(rate, blocks)`` (see :mod:`._sources`)."""
    rate, blocks = source
    batches = cut_windows(blocks, rate, sr=sr, window=window, hop=hop,
                          max_bandwidth=max_bandwidth, batch=1)
    yield from _records(batches, proba, classes, int(round(sr * duration)))


def classify_windows(path, proba, classes, *, sr, duration, window, hop,
                     max_bandwidth=None, batch=16):
    """Read ``path`` in blocks and classify every window: a :class:`Recording`.

    ``proba(waves)`` maps ``(k, round(sr * duration))`` float32 waveforms to
    ``(k, n_classes)`` probabilities in the order of ``classes``. A file that
    cannot be read gives a record with its ``error``.
    """
    record = Recording(os.fspath(path))
    reader = Windows(path, sr=sr, window=window, hop=hop, max_bandwidth=max_bandwidth,
                     batch=batch)
    try:
        with noting_truncation() as notes:
            record.windows = list(_records(reader, proba, classes,
                                           int(round(sr * duration))))
    except SkCryError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        return record
    record.truncated = "; ".join(notes) or None
    record.duration, record.padded = reader.duration, reader.padded
    heard = [w for w in record.windows if not w.silent]
    if heard:
        names = [str(c) for c in classes]
        mean = np.mean([[w.probabilities[n] for n in names] for w in heard], axis=0)
        record.label = classes[int(np.argmax(mean))]
        record.probabilities = _by_name(names, mean)
    else:
        record.silent = True
    return record
