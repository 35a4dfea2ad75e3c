"""Decode audio files (or accept waveforms) into fixed-length mono float32 rows."""

import functools
import math
import os
import stat
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import soundfile as sf
import soxr
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from ..exceptions import AudioLoadError, TruncatedAudioWarning
from . import _wav

__all__ = ["AudioLoader", "load_audio"]

_QUALITY = "HQ"  # librosa.resample's default (res_type="soxr_hq"), called directly
_SCALE = np.float32(1 / 32768)  # libsndfile's int16 -> float scaling
_CHUNK = 16  # clips per parallel task

# What sk_cry reads; a header outside is refused as damaged (AudioLoadError).
# Sample rates: below 1 kHz a file cannot hold a cry (its fundamental lies at
# 250-600 Hz), so such a header is corrupt (a declared 1 Hz made the loader
# resample 187 KB into 3 GB); 384 kHz is the highest rate audio interfaces record.
_MIN_RATE, _MAX_RATE = 1_000, 384_000
# Channels: FLAC stops at 8 and WAVE_FORMAT_EXTENSIBLE names 18 speaker positions;
# 32 leaves room for microphone arrays and 4th-order ambisonics (25 channels).
_MAX_CHANNELS = 32
# Float samples lie within -1..1; 1e3 (60 dB over full scale) is far beyond any
# mix's headroom, and a flip of one of the top exponent bits goes far past it
# (0.5 becomes 8.5e37; issue 13 saw 8.7e34).
_MAX_FLOAT_PEAK = 1e3
_FILTER_MARGIN = 256  # samples at the lowest rate: see _frames_to_read
# Frames per soundfile read: a decoder error part way loses at most one block
# (0.37 s at 44.1 kHz); the reads cost 0.03-0.08 ms more per 6-s file than one.
_BLOCK = 1 << 14


def _is_path(item):
    return isinstance(item, (str, os.PathLike, np.str_))


def _one_column(X, columns):
    """The clips of a 2-D non-numeric ``X``: its only column, or ``X`` unchanged.

    A one-column DataFrame, or an ``(n, 1)`` array, of paths (or of waveform
    objects) becomes its column: iterated as rows, each clip would be a 1-element
    array, neither a path nor a waveform. Several columns are refused when ``X``
    is a DataFrame or its first row holds a path (paths beside labels, say); a 2-D
    object array of numbers stays what it was, one waveform per row.
    """
    if X.shape[1] == 1:
        return X[:, 0]
    row = X[0] if X.shape[0] else []
    strings = [j for j, v in enumerate(row) if _is_path(v)]
    if columns is None and not strings:
        return X
    # suggest the column that looks like file names ("a.wav") over labels ("hungry")
    named = [j for j in strings if os.path.splitext(os.fspath(row[j]))[1]]
    j = (named or strings or [0])[0]
    if columns is not None:
        names = list(columns)
        shown = ", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else "")
        fix = f"X[{names[j]!r}]"
    else:
        shown, fix = "", f"X[:, {j}]"
    raise AudioLoadError(
        "X", f"has {X.shape[1]} columns{f' ({shown})' if shown else ''} and is not "
        f"numeric waveforms; pass only the column of file paths, e.g. {fix}",
    )


def _band_limit(y, sr, max_bandwidth):
    """Remove every frequency above ``max_bandwidth`` Hz, keeping the rate ``sr``."""
    low_sr = int(round(2 * max_bandwidth))
    if low_sr >= sr:
        return y
    low = soxr.resample(y, sr, low_sr, quality=_QUALITY)
    return soxr.resample(low, low_sr, sr, quality=_QUALITY)


def _finish_into(y, row, source, *, orig_sr, sr, max_bandwidth):
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
        y = soxr.resample(y, orig_sr, sr, quality=_QUALITY)
    if max_bandwidth is not None:
        y = _band_limit(y, sr, max_bandwidth)
    n = min(y.shape[0], row.shape[0])
    row[:n] = y[:n]
    row[n:] = 0


def _open_regular(path):
    """``(fd, size)`` of the regular file ``path``, opened for reading.

    Anything else is refused before it is opened: a FIFO would block ``open`` (and
    so ``predict``) until some process writes to it, and a device can be endless.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise AudioLoadError(path, "no such file; check the path (relative paths are "
                             f"resolved from {os.getcwd()})") from None
    except (OSError, ValueError) as exc:
        raise AudioLoadError(path, f"cannot be read ({exc}); check the path and its "
                             "permissions") from None
    _check_regular(path, st.st_mode)
    try:
        # O_NONBLOCK: should a FIFO take the file's place after the check above,
        # open returns at once instead of waiting for a writer (fstat then refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise AudioLoadError(path, f"cannot be opened ({exc.strerror}); check its "
                             "permissions") from None
    st = os.fstat(fd)
    try:
        _check_regular(path, st.st_mode)
    except AudioLoadError:
        os.close(fd)
        raise
    return fd, st.st_size


def _check_regular(path, mode):
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise AudioLoadError(path, "is a directory; pass the files inside it "
                             "(sk_cry.datasets.load_folder lists a folder)")
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "not a plain file")
    raise AudioLoadError(path, f"is not a regular file ({kind}); sk_cry reads audio "
                         "only from files: save the stream to a file first")


def _check_range(path, rate, channels):
    if not _MIN_RATE <= rate <= _MAX_RATE:
        raise AudioLoadError(path, f"declares a sample rate of {rate} Hz, outside the "
                             f"{_MIN_RATE:,}-{_MAX_RATE:,} Hz sk_cry reads; the header "
                             "is damaged, or resample the file (e.g. `ffmpeg -i in.wav "
                             "-ar 16000 out.wav`)")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise AudioLoadError(path, f"declares {channels} channels, outside the "
                             f"1-{_MAX_CHANNELS} sk_cry reads; the header is damaged, "
                             "or mix it down (e.g. `ffmpeg -i in.wav -ac 1 out.wav`)")


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
    warnings.warn(TruncatedAudioWarning(
        f"{path}: {what}; the {missing} samples ({missing / rate:.3f} s) missing from "
        "the part loaded are filled with silence. Re-export or copy the file again, "
        "or pass strict=True to refuse truncated files"), stacklevel=2)


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
    fd, size = _open_regular(path)
    try:
        header = _wav.read_header(fd, size, path)
        if header is not None:
            _check_range(path, header.rate, header.channels)
            _wav.check_coding(header, path)
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
        peak = max(y.max(), -y.min())  # NaN compares False: _finish_into names it
        if peak > _MAX_FLOAT_PEAK:
            raise AudioLoadError(path, f"holds a sample of magnitude {peak:.3g}, beyond "
                                 f"the {_MAX_FLOAT_PEAK:g} sk_cry accepts from a float "
                                 "file (float audio lies within -1..1); the file is "
                                 "corrupt, or was written in integer units: divide it "
                                 "by 32768 and re-export it")
    return y, read.rate


def _read_soundfile(fd, path, header, frames):
    """The start of a file through libsndfile, read in blocks: a :class:`_Read`.

    Blocks, so that a decoder error part way (a FLAC file cut short: "flac decoder
    lost sync") keeps what came before it and is reported as a truncation.
    """
    try:
        with sf.SoundFile(fd, closefd=False) as f:
            rate, channels = f.samplerate, f.channels
            _check_range(path, rate, channels)
            # libsndfile shortens a cut WAV file's frames to what it holds; the
            # header read by _wav says what was declared
            declared = f.frames
            if header is not None and header.frames is not None:
                declared = header.frames
            needed, n = frames(rate)
            n = min(n, f.frames)
            dtype = "int16" if f.subtype == "PCM_16" and channels == 1 else "float32"
            out = np.empty((n, channels), dtype)
            got, stopped_by = 0, None
            while got < n:
                try:
                    k = f.read(out=out[got:got + _BLOCK]).shape[0]
                except sf.LibsndfileError as exc:
                    if got == 0:
                        raise
                    stopped_by = _sf_detail(exc)
                    break
                if k == 0:
                    break
                got += k
            float_coded = f.subtype in ("FLOAT", "DOUBLE")
    except AudioLoadError:
        raise
    except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
        # sf.LibsndfileError is a RuntimeError
        raise AudioLoadError(
            path,
            f"is not readable audio ({_sf_detail(exc)}); convert it to WAV, FLAC or "
            "OGG (e.g. `ffmpeg -i in.mp3 out.wav`), or re-export it if it is damaged",
        ) from exc
    y = out[:got, 0] if channels == 1 else out[:got].mean(axis=1)
    return _Read(y, rate, declared, needed, float_coded, stopped_by)


def _sf_detail(exc):
    """libsndfile's message without its "Error opening 3:" (a file descriptor)."""
    detail = getattr(exc, "error_string", None) or str(exc)
    return detail.removeprefix("Error : ").rstrip(".")


def _load_file_into(path, row, *, sr, max_bandwidth, strict):
    y, orig_sr = _decode(path, n_out=row.shape[0], sr=sr, max_bandwidth=max_bandwidth,
                         strict=strict)
    _finish_into(y, row, path, orig_sr=orig_sr, sr=sr, max_bandwidth=max_bandwidth)


def load_audio(path, *, sr=16000, duration=6.0, max_bandwidth=None, strict=False):
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
    _load_file_into(path, row, sr=sr, max_bandwidth=max_bandwidth, strict=strict)
    return row


class AudioLoader(TransformerMixin, BaseEstimator):
    """Turn audio file paths (or raw waveforms) into fixed-length waveforms.

    The first step of every sk_cry pipeline, so that ``X`` can be a plain list of
    file paths, or a column of them (a pandas Series or one-column DataFrame).
    Stateless: ``fit`` only checks the parameters.

    Parameters
    ----------
    sr : int, default=16000
        Output sampling rate in Hz. Files at other rates are resampled.
        Waveforms passed directly are taken to be at this rate already.
    duration : float, default=6.0
        Output length in seconds (the reference clips are 6 s). Only the first
        ``duration`` seconds of a longer file are read; shorter clips are padded at
        the end with silence.
    max_bandwidth : float or None, default=None
        If set, remove all content above this many Hz, so that clips recorded at
        different rates share one band (``4000`` matches 8 kHz audio). A guard
        against models that learn the recording device instead of the cry.
    strict : bool, default=False
        If True, a truncated file (fewer samples than its header declares, within
        the part loaded) raises :class:`~sk_cry.AudioLoadError`; by default it is
        padded with silence and a :class:`~sk_cry.exceptions.TruncatedAudioWarning`
        names it.
    n_jobs : int or None, default=None
        Number of files decoded in parallel, on threads (joblib semantics: ``-1``
        all cores).

    Notes
    -----
    Files are read as :func:`load_audio` reads them: regular files only, at 1,000
    to 384,000 Hz with 1 to 32 channels, headers checked; anything else raises
    :class:`~sk_cry.AudioLoadError` naming the file (see its Raises section).

    See Also
    --------
    load_audio : The function that decodes one file.
    sk_cry.features.MelExtractor : The usual next step.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import AudioLoader
    >>> AudioLoader(sr=100, duration=1.0).fit_transform([np.ones(30)]).shape
    (1, 100)
    """

    _parameter_constraints = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "max_bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "strict": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, sr=16000, duration=6.0, *, max_bandwidth=None, strict=False,
                 n_jobs=None):
        self.sr = sr
        self.duration = duration
        self.max_bandwidth = max_bandwidth
        self.strict = strict
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        """Check the parameters and the shape of ``X``; nothing is learned.

        Parameters
        ----------
        X : sequence of paths or waveforms, one-column DataFrame, or None
            As in :meth:`transform`; only its structure is checked (files are
            read by ``transform``).
        y : ignored

        Returns
        -------
        self : AudioLoader
        """
        self._validate_params()
        if X is not None:
            self._as_items(X)
        return self

    def transform(self, X):
        """Load every clip of ``X``.

        Parameters
        ----------
        X : sequence of str or path-like, or of 1-D arrays, or 2-D array
            File paths: a list, tuple, 1-D array or pandas Series of ``str`` or
            ``pathlib.Path``, or one column of them (a one-column DataFrame or an
            array of shape ``(n_clips, 1)``). Or waveforms already at ``sr``: a
            list of 1-D arrays, or a 2-D numeric array with one per row.

        Returns
        -------
        waveforms : ndarray of shape (n_clips, round(sr * duration)), dtype float32

        Raises
        ------
        AudioLoadError
            For a clip that cannot be loaded (with threads, the first to fail),
            naming it: see :func:`load_audio`.
        """
        self._validate_params()
        items = self._as_items(X)
        kwargs = dict(sr=self.sr, max_bandwidth=self.max_bandwidth)
        out = np.empty((len(items), self.n_samples), np.float32)

        def fill(start):
            for i in range(start, min(start + _CHUNK, len(items))):
                self._load_into(i, items[i], out[i], kwargs, self.strict)

        # threads: libsndfile and soxr work outside the GIL, and each row is
        # written in place instead of being pickled back from another process
        starts = range(0, len(items), _CHUNK)
        if len(starts) == 1:  # one task: skip joblib's set-up (a one-clip prediction)
            fill(0)
        else:
            Parallel(n_jobs=self.n_jobs, require="sharedmem")(
                delayed(fill)(s) for s in starts)
        return out

    @property
    def n_samples(self):
        """Samples per output row: ``round(sr * duration)``."""
        return int(round(self.sr * self.duration))

    @staticmethod
    def _as_items(X):
        """Check the structure of ``X`` (not the files) and list its clips."""
        if _is_path(X):
            raise AudioLoadError(
                X, "X must be a list of paths, not a single path; wrap it: [path]"
            )
        if sp.issparse(X):
            raise AudioLoadError("X", "sparse input is not audio; pass a dense array")
        # A DataFrame is recognised by its columns, as scikit-learn does, so that
        # pandas need not be installed (or imported) here
        columns = getattr(X, "columns", None)
        if hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
            X = np.asarray(X)
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "OUS":
            X = _one_column(X, columns)
        if isinstance(X, np.ndarray) and X.dtype.kind not in "OUS":
            if X.dtype.kind == "c":
                raise AudioLoadError(
                    "X", "Complex data not supported: audio samples are real numbers"
                )
            if X.ndim != 2:
                raise AudioLoadError(
                    "X", f"a numeric X must be 2-D (one waveform per row), got shape "
                    f"{X.shape}; Reshape your data with X.reshape(1, -1) for a single clip",
                )
            if X.shape[1] == 0:
                raise AudioLoadError(
                    "X", f"0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                    "required: the waveforms hold no samples",
                )
            bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
            if bad.size:
                raise AudioLoadError(
                    f"X[{bad[0]}]", "contains NaN or infinite samples; drop or repair it"
                )
        try:
            items = list(X)
        except TypeError as exc:
            raise AudioLoadError(
                "X", f"expected a sequence of file paths or waveforms, got "
                f"{type(X).__name__}",
            ) from exc
        if not items:
            raise AudioLoadError("X", "holds no clips (0 samples); pass at least one")
        return items

    @staticmethod
    def _load_into(i, item, row, kwargs, strict=False):
        if _is_path(item):
            _load_file_into(item, row, strict=strict, **kwargs)
            return
        try:
            y = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise AudioLoadError(
                f"X[{i}]", f"is neither a file path nor a numeric waveform "
                f"({type(item).__name__})",
            ) from exc
        if y.ndim != 1:
            raise AudioLoadError(
                f"X[{i}]", f"a waveform must be 1-D, got shape {y.shape}; "
                "mix channels to mono first",
            )
        _finish_into(y, row, f"X[{i}]", orig_sr=kwargs["sr"], **kwargs)

    def __setstate__(self, state):
        # a loader pickled before ``strict`` existed (issue 13) loads with its default
        state.setdefault("strict", False)
        super().__setstate__(state)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``sample0``, ``sample1``, ..."""
        return np.asarray([f"sample{i}" for i in range(self.n_samples)], dtype=object)

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
