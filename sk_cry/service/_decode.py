"""Decoding an upload within ``max_seconds``: refused from the header where the
format declares its length, and counted while decoding anyway (413); the
loader's warnings (an upload cut short) recorded per request, as notes that
name "the upload", not its temporary file."""

import contextlib
import itertools
import threading
import warnings
from dataclasses import dataclass

import soundfile as sf

from ..exceptions import SkCryError, TruncatedAudioWarning
from ..io import declared_frames, file_blocks
from ._refusal import Refusal

__all__ = ["BLOCK", "Decoded", "as_upload", "decode_within", "recording_warnings"]

# Samples decoded per second allowed: 48-kHz stereo. A second of 384-kHz 8-channel
# FLAC costs 30 times what a second of 16-kHz mono does (measured: 1.24 s against
# 0.04 s for a minute), and compresses as well when it is silence.
_SAMPLES_PER_SECOND = 96_000
#: Frames per read of /predict: the decoded frames are counted against the bounds
#: a block at a time, so a count passes a bound by less than one block.
BLOCK = 1 << 14
_UNKNOWN_LENGTH = 1 << 62  # libsndfile's frames of a FLAC that does not declare it
_OPTION = "sk-cry serve --max-seconds"


class _WarningsByThread:
    """The warnings each thread issues, recorded per request.

    ``warnings.catch_warnings(record=True)`` swaps the process-wide
    ``warnings.showwarning`` and puts back what it found on exit: two requests
    decoded at once in two threads would take each other's warnings, and the one
    to exit second would leave the first one's recorder in place for good
    (Python's documentation: not thread-safe). Here one hook, installed while any
    request is being decoded, gives each warning to the thread that issued it;
    other threads' warnings go where they went before. While it is installed,
    :class:`~sk_cry.exceptions.TruncatedAudioWarning` is shown every time: the
    ``default`` action would also keep each message (it names a temporary file)
    in the issuing module's registry, a slow leak in a long-running service.
    """

    def __init__(self):
        self._lock, self._local, self._users = threading.Lock(), threading.local(), 0
        self._saved = self._context = None

    @contextlib.contextmanager
    def record(self):
        caught = self._local.caught = []
        with self._lock:
            if not self._users:
                self._context = warnings.catch_warnings()
                self._context.__enter__()
                warnings.simplefilter("always", TruncatedAudioWarning)
                self._saved, warnings.showwarning = warnings.showwarning, self._show
            self._users += 1
        try:
            yield caught
        finally:
            self._local.caught = None
            with self._lock:
                self._users -= 1
                if not self._users:
                    self._context.__exit__(None, None, None)

    def _show(self, message, category, filename, lineno, file=None, line=None):
        caught = getattr(self._local, "caught", None)
        if caught is None:
            return self._saved(message, category, filename, lineno, file, line)
        caught.append(str(message))


_recorded = _WarningsByThread()
#: ``with recording_warnings() as caught:`` the calling thread's warnings, as
#: strings, kept in ``caught`` rather than shown.
recording_warnings = _recorded.record


def _header(path):
    """soundfile's view of a header that file_blocks has just opened and checked."""
    try:
        return sf.info(str(path))
    except (RuntimeError, TypeError, ValueError) as exc:  # not seen: a safety net
        raise Refusal(422, f"the upload is not readable audio ({exc})") from None


def _over(frames, rate, channels, max_seconds, verb):
    seconds = frames / rate
    if seconds > max_seconds:
        return (f"the upload {verb} {seconds:.1f} s of audio, more than the "
                f"{max_seconds:g} s this service decodes per request; send a shorter "
                f"recording, or start the service with a larger {_OPTION}")
    return (f"the upload {verb} {seconds:.1f} s of {channels}-channel {rate}-Hz audio, "
            f"{frames * channels:,} samples: more than the "
            f"{int(max_seconds * _SAMPLES_PER_SECOND):,} ({max_seconds:g} s of 48-kHz "
            f"stereo) this service decodes per request; send fewer channels or a lower "
            f"sample rate, or start the service with a larger {_OPTION}")


@dataclass
class Decoded:
    """What :func:`decode_within` gives: ``value`` (what ``use`` returned),
    ``frames`` decoded at ``rate`` Hz, and ``notes`` on the upload (cut short, or
    a header that declares more than it holds), naming "the upload"."""

    value: object
    frames: int
    rate: int
    notes: list

    @property
    def seconds(self):
        return self.frames / self.rate


def as_upload(text, path):
    """The loader's ``text`` with the temporary file ``path`` named "the upload"."""
    return text.replace(str(path), "the upload")


def _unreadable(exc, path):
    return Refusal(422, as_upload(f"{type(exc).__name__}: {exc}", path))


def decode_within(path, use, *, max_seconds, block=BLOCK, done="classified"):
    """Decode the upload at ``path`` within ``max_seconds``, giving its blocks to
    ``use``.

    Refused before any audio is decoded when the header declares more than
    ``max_seconds``, or more samples (frames times channels) than
    ``max_seconds`` of 48-kHz stereo hold; otherwise the blocks are counted as
    they are decoded, and decoding stops with the refusal as soon as the count
    passes either bound (a header that declares no length, or less than the file
    holds).

    Parameters
    ----------
    path : path-like
        The upload, on disk.
    use : callable
        ``use(rate, blocks)``: consumes the mono float32 blocks (an iterator
        that raises :class:`Refusal` past the bounds) and returns the value kept.
    max_seconds : float
    block : int or None, default=BLOCK
        Frames per read (None: :func:`sk_cry.io.file_blocks`' own).
    done : str, default="classified"
        What was done with the audio, for the note on an upload cut short.

    Returns
    -------
    decoded : Decoded

    Raises
    ------
    Refusal
        413 past the bounds; 422 for audio that cannot be read (the loader's
        message), or none at all.
    """
    budget = int(max_seconds * _SAMPLES_PER_SECOND)
    counted = 0
    with recording_warnings() as caught:
        try:
            rate, blocks = file_blocks(path) if block is None else \
                file_blocks(path, block=block)
        except SkCryError as exc:
            raise _unreadable(exc, path) from None
        try:
            # started, so that closing it closes its file whatever happens next
            first = next(blocks, None)
            # file_blocks has checked the header; this reads it again, not the audio
            info = _header(path)
            frames = info.frames if 0 < info.frames < _UNKNOWN_LENGTH else None
            if frames is not None and (frames / rate > max_seconds
                                       or frames * info.channels > budget):
                raise Refusal(413, _over(frames, rate, info.channels, max_seconds,
                                         "holds"))
            declared = declared_frames(path) if info.format == "WAV" else None

            def bounded():
                nonlocal counted
                for chunk in itertools.chain([] if first is None else [first], blocks):
                    counted += chunk.shape[0]
                    if counted > max_seconds * rate or counted * info.channels > budget:
                        raise Refusal(413, _over(counted, rate, info.channels,
                                                 max_seconds, "holds at least"))
                    yield chunk

            value = use(rate, bounded())
        except SkCryError as exc:
            raise _unreadable(exc, path) from None
        finally:
            blocks.close()  # its file, when a refusal stopped it part way
    notes = [as_upload(text, path) for text in caught]
    expected = max(frames or 0, declared or 0)
    if counted < expected:
        notes.append(f"the upload's header declares {expected} frames "
                     f"({expected / rate:.3f} s) but {counted} "
                     f"({counted / rate:.3f} s) could be decoded: it was cut short or "
                     f"its header is damaged; the audio decoded was {done}")
    if not counted:
        raise Refusal(422, "the upload holds no audio that could be decoded"
                      + (f" ({'; '.join(notes)})" if notes else ""))
    return Decoded(value, counted, rate, notes)
