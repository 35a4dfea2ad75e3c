"""Decode the start of one audio file into a fixed-length mono float32 row.

numpy, soundfile and soxr only: the exported-model runtime reads files with it.
The file is opened and its header checked by :mod:`._open` first.
"""

import contextlib
import contextvars
import functools
import math
import os
import warnings
from collections import namedtuple

import numpy as np
import soundfile as sf
import soxr

from ..core import DURATION, SR
from ..exceptions import AudioLoadError, TruncatedAudioWarning
from . import _wav
from ._open import check_range, checked_header, open_regular, sf_detail

__all__ = ["AUDIO_EXTENSIONS", "MAX_FLOAT_PEAK", "RESAMPLE_QUALITY", "finish_into",
           "load_audio", "load_file_into", "noting_truncation", "read_frames",
           "truncated"]

#: File types sk_cry looks for in a folder (what libsndfile decodes).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")

#: librosa.resample's default (res_type="soxr_hq"), called directly
RESAMPLE_QUALITY = "HQ"
_SCALE = np.float32(1 / 32768)  # libsndfile's int16 -> float scaling

# Float samples lie within -1..1; 1e3 (60 dB over full scale) is far beyond any
# mix's headroom, and a flip of one of the top exponent bits goes far past it
# (0.5 becomes 8.5e37; issue 13 saw 8.7e34).
MAX_FLOAT_PEAK = 1e3
_FILTER_MARGIN = 256  # samples at the lowest rate: see _frames_to_read


def band_limit(y, sr, max_bandwidth):
    """Remove every frequency above ``max_bandwidth`` Hz, keeping the rate ``sr``.

    What :class:`AudioLoader` and :func:`load_audio` do with ``max_bandwidth``
    (and the runtime with waveforms): down to ``2 * max_bandwidth`` Hz and back
    up with soxr.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Mono audio at ``sr``.
    sr : int
    max_bandwidth : float
        Hz; at or above ``sr / 2`` nothing is removed and ``y`` is returned.

    Returns
    -------
    y : ndarray of shape (about n_samples,)
        float32 where soxr resampled it.
    """
    low_sr = int(round(2 * max_bandwidth))
    if low_sr >= sr:
        return y
    low = soxr.resample(y, sr, low_sr, quality=RESAMPLE_QUALITY)
    return soxr.resample(low, low_sr, sr, quality=RESAMPLE_QUALITY)


def finish_into(y, row, source, *, orig_sr, sr, max_bandwidth):
    """Check, resample and band-limit ``y``, then write it into ``row``.

    ``row`` gets the start of the audio, padded at the end with zeros. ``y`` may
    hold int16 samples (a mono PCM_16 file): they are scaled by 1/32768 as
    libsndfile would, straight into ``row`` when nothing else is to be done.
    """
    if y.size == 0:
        raise AudioLoadError(source, "holds no samples (empty audio); remove it from X")
    if y.dtype == np.int16:
        if orig_sr == sr and max_bandwidth is None:
            n = min(y.shape[0], row.shape[0])
            np.multiply(y[:n], _SCALE, out=row[:n])
            row[n:] = 0
            return
        y = np.multiply(y, _SCALE, dtype=np.float32)
    elif not np.all(np.isfinite(y)):
        raise AudioLoadError(
            source, "contains NaN or infinite samples; re-export or drop this clip"
        )
    if orig_sr != sr:
        y = soxr.resample(y, orig_sr, sr, quality=RESAMPLE_QUALITY)
    if max_bandwidth is not None:
        y = band_limit(y, sr, max_bandwidth)
    n = min(y.shape[0], row.shape[0])
    row[:n] = y[:n]
    row[n:] = 0


def _frames_to_read(orig_sr, *, n_out, sr, max_bandwidth):
    """Frames of a file at ``orig_sr`` that give the ``n_out`` samples kept.

    ``(needed, to_read)``: the frames the kept samples cover, and those plus a
    margin for the resampler's filters. 128 samples at the lowest rate in the chain
    (file, output, band limit) bring the kept samples to within 6e-7 of resampling
    the whole file (measured: 1-384 kHz to 8-16 kHz, with and without
    ``max_bandwidth`` down to 100 Hz); twice that is taken.
    """
    # at least 1 frame, so that an empty file stays an error with a tiny duration
    needed = max(1, math.ceil(n_out * orig_sr / sr))
    low = min(orig_sr, sr, int(round(2 * max_bandwidth)) if max_bandwidth else sr)
    if orig_sr == sr == low:
        return needed, needed  # no filter: the samples are copied
    return needed, needed + math.ceil(_FILTER_MARGIN * orig_sr / low)


# the truncation notes of the reads in this thread (or task), when asked for:
# warnings.catch_warnings swaps a process-wide hook, unsafe on reader threads
_NOTES = contextvars.ContextVar("sk_cry_truncation_notes", default=None)


@contextlib.contextmanager
def noting_truncation():
    """Collect, in a list, the message of every read cut short in this thread
    while the context is open (the :class:`~sk_cry.TruncatedAudioWarning`
    warnings, which are still issued), so that a file's record can say it was
    truncated."""
    notes = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def truncated(message):
    """Issue a :class:`~sk_cry.TruncatedAudioWarning`, and note it where
    :func:`noting_truncation` is open."""
    notes = _NOTES.get()
    if notes is not None:
        notes.append(message)
    warnings.warn(TruncatedAudioWarning(message), stacklevel=3)


def _check_complete(path, read, *, strict):
    """Warn (or raise if ``strict``) when a file holds less than its header declares.

    Only the samples that are kept count: a file cut after 20 s loads silently into
    6-s rows, as its first 6 s are all there.
    """
    got, declared, rate = read.y.shape[0], read.declared, read.rate
    expected = min(declared, read.needed)
    if got >= expected:
        return
    missing = expected - got
    if read.stopped_by is None:
        what = (f"is truncated: its header declares {declared} samples "
                f"({declared / rate:.3f} s) but it holds {got} ({got / rate:.3f} s)")
    else:
        what = (f"is truncated or damaged: its header declares {declared} samples "
                f"({declared / rate:.3f} s) but decoding stopped after {got} "
                f"({got / rate:.3f} s): {read.stopped_by}")
    if strict or got == 0:
        raise AudioLoadError(path, f"{what}; re-export or copy the file again")
    truncated(f"{path}: {what}; the {missing} samples ({missing / rate:.3f} s) missing "
              "from the part loaded are filled with silence. Re-export or copy the "
              "file again, or pass strict=True to refuse truncated files")


# What a reader got from the start of a file: ``y`` (mono samples), the file's
# ``rate``, the frames its header ``declared`` and those ``needed`` for the output,
# whether its samples are ``float_coded``, and the decoder's error if one
# ``stopped_by`` before the end of what was asked (None otherwise).
_Read = namedtuple("_Read", "y rate declared needed float_coded stopped_by")


def _decode(path, *, n_out, sr, max_bandwidth=None, strict=False):
    """Mono samples of the start of an audio file, and its rate.

    Reads only the frames that give the ``n_out`` output samples at ``sr`` (see
    :func:`_frames_to_read`), so that a 30-minute file costs what a 6-s one does.
    Mono 16-bit PCM WAV files come back as int16 (read by :func:`_wav.read_pcm16`);
    everything else is read by ``soundfile`` as float32, channels averaged.
    libsndfile converts 16-bit samples to float one at a time; numpy does the same
    scaling (by 1/32768, libsndfile's) about three times faster, so int16 is kept.
    """
    frames = functools.partial(_frames_to_read, n_out=n_out, sr=sr,
                               max_bandwidth=max_bandwidth)
    fd, size = open_regular(path)
    try:
        header = checked_header(fd, size, path)
        if header is not None and header.pcm16_mono:
            needed, n = frames(header.rate)
            read = _Read(y=_wav.read_pcm16(fd, header, n), rate=header.rate,
                         declared=header.frames, needed=needed, float_coded=False,
                         stopped_by=None)
        else:
            read = _read_soundfile(fd, path, header, frames)
    except OSError as exc:  # a read error from the disk or the network share
        raise AudioLoadError(path, f"could not be read ({exc}); check the disk or "
                             "copy the file again") from exc
    finally:
        os.close(fd)
    _check_complete(path, read, strict=strict)
    y = read.y
    if read.float_coded and y.size:
        peak = max(y.max(), -y.min())  # NaN compares False: finish_into names it
        if peak > MAX_FLOAT_PEAK:
            raise AudioLoadError(path, f"holds a sample of magnitude {peak:.3g}, beyond "
                                 f"the {MAX_FLOAT_PEAK:g} sk_cry accepts from a float "
                                 "file (float audio lies within -1..1); the file is "
                                 "corrupt, or was written in integer units: divide it "
                                 "by 32768 and re-export it")
    return y, read.rate


def _read_soundfile(fd, path, header, frames):
    """The start of a file through libsndfile: a :class:`_Read`.

    A decoder error part way (a FLAC file cut short) keeps what was decoded
    before it (:func:`read_frames`) and is reported as a truncation.
    """
    try:
        with sf.SoundFile(fd, closefd=False) as f:
            rate, channels = f.samplerate, f.channels
            check_range(path, rate, channels)
            # libsndfile shortens a cut WAV file's frames to what it holds; the
            # header read by _wav says what was declared
            declared = f.frames
            if header is not None and header.frames is not None:
                declared = header.frames
            needed, n = frames(rate)
            n = min(n, f.frames)
            out = np.empty((n, channels), np.float32)
            got, error = read_frames(f, out)
            if error is not None and got == 0:
                raise error
            stopped_by = None if error is None else sf_detail(error)
            float_coded = f.subtype in ("FLOAT", "DOUBLE")
    except AudioLoadError:
        raise
    except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
        # sf.LibsndfileError is a RuntimeError
        raise AudioLoadError(
            path,
            f"is not readable audio ({sf_detail(exc)}); convert it to WAV, FLAC or "
            "OGG (e.g. `ffmpeg -i in.mp3 out.wav`), or re-export it if it is damaged",
        ) from exc
    y = out[:got, 0] if channels == 1 else out[:got].mean(axis=1)
    return _Read(y, rate, declared, needed, float_coded, stopped_by)


def read_frames(f, out):
    """Read frames of the open ``sf.SoundFile`` ``f`` into the float array
    ``out``, of shape (n_frames, channels), until it is full or the file ends.

    ``(k, error)``: the ``k`` frames now in ``out[:k]``, and the decoder's
    ``sf.LibsndfileError`` if it failed part way (None otherwise). A failed read
    has decoded into ``out`` every whole frame of the codec before the failure (a
    FLAC file cut short: "flac decoder lost sync" or "Internal psf_fseek()
    failed"), but soundfile raises without saying how many, and libsndfile's
    position is -1 after some failures. So ``out`` is filled with NaN first,
    which no decoder writes for integer-coded audio: the frames before the first
    NaN row are kept, and a failure loses no audio that was decoded (libsndfile
    1.2.2, FLAC cut at 10 points: every whole 4096-frame FLAC frame before the
    cut, the same for reads of 1,024 to 65,536 frames). A float file holding NaN
    that also fails part way is cut at its first NaN, as truncated.
    """
    out.fill(np.nan)
    try:
        return f.read(out=out).shape[0], None
    except sf.LibsndfileError as error:
        written = ~np.isnan(out).any(axis=1)
        return (out.shape[0] if written.all() else int(np.argmin(written))), error


def load_file_into(path, row, *, sr, max_bandwidth, strict):
    """Decode the start of the file ``path`` into ``row`` (see :func:`load_audio`)."""
    y, orig_sr = _decode(path, n_out=row.shape[0], sr=sr, max_bandwidth=max_bandwidth,
                         strict=strict)
    finish_into(y, row, path, orig_sr=orig_sr, sr=sr, max_bandwidth=max_bandwidth)


def load_audio(path, *, sr=SR, duration=DURATION, max_bandwidth=None, strict=False):
    """Decode the start of one audio file into a mono waveform of fixed length.

    Only the first ``duration`` seconds are read (and a few hundred samples more for
    the resampler's filters), so a long recording costs what a short one does.
    Input that is not clean audio ends in an :class:`~sk_cry.AudioLoadError` that
    names the file, never in another exception or a hang.

    Parameters
    ----------
    path : str or path-like
        A regular file that libsndfile can read (WAV, FLAC, OGG/Vorbis, ...), at
        1,000 to 384,000 Hz with 1 to 32 channels.
    sr : int, default=16000
        Output sampling rate in Hz; the file is resampled if it differs.
    duration : float, default=6.0
        Output length in seconds: the first ``duration`` seconds are kept, shorter
        audio is padded at the end with silence.
    max_bandwidth : float or None, default=None
        If set, remove all content above this frequency in Hz (resampling down to
        ``2 * max_bandwidth`` and back up to ``sr``). ``4000`` makes every clip
        sound like 8 kHz audio, whatever it was recorded at.
    strict : bool, default=False
        What to do with a truncated file, one that holds fewer samples than its
        header declares within the part loaded: ``False`` pads it with silence and
        warns (:class:`~sk_cry.exceptions.TruncatedAudioWarning`), ``True`` raises
        :class:`~sk_cry.AudioLoadError`. A file cut after ``duration`` seconds
        loads without a word either way. The declared length comes from the header
        (WAV, FLAC, AIFF, ...); a cut Ogg file declares none and loads what is left.

    Returns
    -------
    y : ndarray of shape (round(sr * duration),), dtype float32
        The waveform, channels averaged to mono.

    Raises
    ------
    AudioLoadError
        If the path is missing, a directory or not a regular file (a FIFO, a
        device); if the file cannot be decoded, or its header is damaged or
        contradicts itself (a WAV ``fmt`` chunk whose bits per sample, bytes per
        frame or bytes per second disagree); if it declares a sample rate outside
        1,000-384,000 Hz or a channel count outside 1-32; if it is empty, holds
        non-finite samples or, for float files, samples beyond +-1000; if it is
        truncated and ``strict=True``. The message names the file and the fix.

    Warns
    -----
    TruncatedAudioWarning
        If the file is truncated within the part loaded and ``strict=False``: the
        message names the file and how many samples (and seconds) are missing.

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> sf.write(path, np.zeros(8000), 8000)
    >>> load_audio(path, sr=16000, duration=2.0).shape
    (32000,)
    """
    row = np.empty(int(round(sr * duration)), np.float32)
    load_file_into(path, row, sr=sr, max_bandwidth=max_bandwidth, strict=strict)
    return row
