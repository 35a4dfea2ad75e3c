"""MFCC and log-mel features: pure functions and the transformers that wrap them.

All maps come from one batched core (:func:`_mel_power`): frames of every clip
are windowed and transformed by one float32 real FFT (``scipy.fft``), their power
projected on librosa's mel filter bank block by block (:func:`_mel_blocks`). The
numbers are librosa's (``center=True``, zero padding, periodic Hann window,
Slaney mel filters), several times faster than ``librosa.feature.melspectrogram``,
which transforms in float64 one clip at a time and multiplies by the whole,
mostly zero, filter bank. The MFCCs and the log-mel map of one clip differ only in
their dB reference, so :class:`MFCCMelExtractor` derives both from one STFT.
"""

from functools import lru_cache
from numbers import Integral, Real

import librosa
import numpy as np
import scipy.fft
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data
from threadpoolctl import ThreadpoolController

__all__ = [
    "log_mel_spectrogram", "mfcc", "MelExtractor", "MFCCExtractor", "MFCCMelExtractor",
]

_AMIN = 1e-10  # librosa.power_to_db's floor
_CHUNK = 4  # clips per STFT batch: ~6 MB of frames for 6-s clips at 16 kHz


@lru_cache(maxsize=8)
def _mel_blocks(sr, n_fft, n_mels, rows_per_block=8):
    """librosa's mel filter bank cut into blocks of filters and the bins they touch.

    Each filter is non-zero on a few neighbouring FFT bins, so the bank is about
    93 % zeros (128 bands, n_fft 2048): multiplying block by block does a
    fifteenth of the dense product's arithmetic, with the same result.
    """
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)
    blocks = []
    for start in range(0, n_mels, rows_per_block):
        rows = slice(start, start + rows_per_block)
        used = np.flatnonzero(basis[rows].any(axis=0))
        cols = slice(used[0], used[-1] + 1) if used.size else slice(0, 0)
        block = np.ascontiguousarray(basis[rows, cols].T)
        block.flags.writeable = False
        blocks.append((rows, cols, block))
    return tuple(blocks)


@lru_cache(maxsize=8)
def _window(n_fft):
    window = librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    window.flags.writeable = False
    return window


def _mel_power(y, *, sr, n_fft, hop_length, n_mels):
    """Mel power spectrogram of a batch, as ``librosa.feature.melspectrogram``.

    Returns an array of shape ``(..., n_mels, 1 + n_samples // hop_length)``.
    """
    y = np.asarray(y, dtype=np.float32)
    pad = [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    padded = np.pad(y, pad)  # librosa's center=True with pad_mode="constant"
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)
    frames = frames[..., ::hop_length, :] * _window(n_fft)
    spectrum = scipy.fft.rfft(frames, axis=-1, overwrite_x=True)
    power = np.abs(spectrum)
    power *= power  # (..., n_frames, n_bins)
    mel = np.zeros(power.shape[:-1] + (n_mels,), np.float32)
    for rows, cols, block in _mel_blocks(sr, n_fft, n_mels):
        mel[..., rows] = power[..., cols] @ block
    return np.swapaxes(mel, -1, -2)


def _power_to_db(S, *, ref_max, top_db):
    """``librosa.power_to_db`` applied to each map of a batch on its own.

    ``ref_max=True`` is ``ref=np.max`` taken per map (not over the whole batch).
    """
    log_spec = 10.0 * np.log10(np.maximum(_AMIN, S))
    return _rereference(log_spec, ref_max=ref_max, top_db=top_db)


def _rereference(log_spec, *, ref_max, top_db):
    """Floor (and, with ``ref_max``, shift) dB maps relative to each map's peak."""
    peak = log_spec.max(axis=(-2, -1), keepdims=True)
    if ref_max:
        log_spec = log_spec - np.maximum(peak, 10.0 * np.log10(_AMIN))
        peak = np.zeros_like(peak)
    if top_db is not None:
        log_spec = np.maximum(log_spec, peak - top_db)
    return log_spec


def _dct(S, n_mfcc):
    """Type-II orthonormal DCT over the mel axis: librosa's MFCC (lifter=0)."""
    return scipy.fft.dct(S, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :]


def log_mel_spectrogram(
    y, *, sr=16000, n_fft=2048, hop_length=512, n_mels=128, top_db=80.0
):
    """Log-mel spectrogram in dB relative to each clip's peak.

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, ...),
    ref=np.max, top_db=top_db)`` for each clip, but works on a batch.

    Parameters
    ----------
    y : ndarray of shape (..., n_samples)
        One waveform or a batch of waveforms.
    sr : int, default=16000
    n_fft : int, default=2048
    hop_length : int, default=512
    n_mels : int, default=128
    top_db : float or None, default=80.0
        Floor, in dB below each clip's peak.

    Returns
    -------
    S_db : ndarray of shape (..., n_mels, 1 + n_samples // hop_length)

    Examples
    --------
    >>> import numpy as np
    >>> log_mel_spectrogram(np.random.default_rng(0).normal(size=96000)).shape
    (128, 188)
    """
    S = _mel_power(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return _power_to_db(S, ref_max=True, top_db=top_db)


def mfcc(
    y=None, *, sr=16000, S=None, n_mfcc=13, n_fft=2048, hop_length=512, n_mels=128,
    top_db=80.0,
):
    """Mel-frequency cepstral coefficients, as ``librosa.feature.mfcc``.

    Parameters
    ----------
    y : ndarray of shape (..., n_samples) or None
        Waveform(s). Ignored if ``S`` is given.
    sr : int, default=16000
    S : ndarray of shape (..., n_mels, n_frames) or None
        A precomputed log-power mel spectrogram (dB, ``ref=1.0``), so that MFCCs
        and a log-mel map can share one STFT.
    n_mfcc : int, default=13
    n_fft, hop_length, n_mels, top_db :
        Used only to compute ``S`` from ``y``.

    Returns
    -------
    M : ndarray of shape (..., n_mfcc, n_frames)

    Examples
    --------
    >>> import numpy as np
    >>> mfcc(np.random.default_rng(0).normal(size=96000)).shape
    (13, 188)
    """
    if S is None:
        power = _mel_power(y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
        S = _power_to_db(power, ref_max=False, top_db=top_db)
    return _dct(S, n_mfcc)


def _compute_maps(cls, params, X, n_jobs):
    """Maps of every row of ``X`` by an extractor ``cls(**params)``.

    Module-level, so that ``joblib.Memory`` can cache it by its arguments (the
    parameters that change the numbers, and the waveforms themselves).
    """
    extractor = cls(**params)
    out = np.empty((X.shape[0], int(np.prod(extractor._map_shape(X.shape[1])))),
                   np.float32)

    def fill(start):
        maps = extractor._maps(X[start:start + _CHUNK])
        out[start:start + _CHUNK] = maps.reshape(maps.shape[0], -1)

    starts = range(0, X.shape[0], _CHUNK)
    if len(starts) == 1 or effective_n_jobs(n_jobs) == 1:
        for start in starts:
            fill(start)
        return out
    # one BLAS thread per worker: nested BLAS threads slow the workers down
    with _threadpools().limit(limits=1, user_api="blas"):
        Parallel(n_jobs=n_jobs, require="sharedmem")(delayed(fill)(s) for s in starts)
    return out


@lru_cache(maxsize=1)
def _threadpools():
    # finding the loaded BLAS libraries takes milliseconds: do it once
    return ThreadpoolController()


class _MapExtractor(TransformerMixin, BaseEstimator):
    """Shared machinery: waveforms in, flattened ``(n_bands, n_frames)`` maps out."""

    _parameter_constraints = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 2, None, closed="left")],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "top_db": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def fit(self, X, y=None):
        """Record the input length and the output map shape.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)
            Waveforms, as produced by :class:`~sk_cry.AudioLoader`.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float32)
        self.feature_shape_ = self._map_shape(X.shape[1])
        return self

    def _map_shape(self, n_samples):
        """``(n_bands, n_frames)`` of the map of an ``n_samples`` waveform."""
        return (sum(n for _, n in self._bands()), 1 + n_samples // self.hop_length)

    def transform(self, X):
        """Compute the maps of every waveform.

        Chunks of clips are processed on ``n_jobs`` threads (numpy and
        ``scipy.fft`` release the GIL). With ``memory``, the result is cached by
        the waveforms' content and the parameters, so that the validation folds
        of a grid search are not computed again for every candidate.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)

        Returns
        -------
        features : ndarray of shape (n_clips, n_bands * n_frames), dtype float32
            Each row is one ``feature_shape_`` map, flattened band-major.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("n_jobs", "memory")}
        compute = check_memory(self.memory).cache(_compute_maps, ignore=["n_jobs"])
        return compute(type(self), params, X, self.n_jobs)

    def get_feature_names_out(self, input_features=None):
        """Column names ``<map><band>_t<frame>``, e.g. ``mfcc0_t0``, ``mel5_t3``."""
        check_is_fitted(self)
        n_frames = self.feature_shape_[1]
        return np.asarray(
            [f"{prefix}{b}_t{t}" for prefix, n_bands in self._bands()
             for b in range(n_bands) for t in range(n_frames)],
            dtype=object,
        )

    def _spectral(self):
        return dict(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length,
                    n_mels=self.n_mels)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class MelExtractor(_MapExtractor):
    """Log-mel spectrogram of each waveform, in dB below the clip's peak.

    The defaults reproduce the reference project's mel input: 16 kHz, 2048-point
    FFT, hop 512, 128 mel bands, so a 6-s clip gives a 128 x 188 map.

    Parameters
    ----------
    sr : int, default=16000
        Sampling rate of the input waveforms (match :class:`~sk_cry.AudioLoader`).
    n_fft : int, default=2048
    hop_length : int, default=512
    n_mels : int, default=128
    top_db : float or None, default=80.0
        Values are floored at this many dB below each clip's peak.
    n_jobs : int or None, default=None
        Threads computing chunks of clips in parallel (joblib semantics).
    memory : str, joblib.Memory or None, default=None
        Cache of computed maps (a folder or a ``joblib.Memory``); ``None`` caches
        nothing.

    Attributes
    ----------
    feature_shape_ : tuple of (int, int)
        ``(n_mels, n_frames)``, the shape of each map before flattening.
    n_features_in_ : int
        Samples per input waveform.

    See Also
    --------
    log_mel_spectrogram : The function doing the work.
    MFCCMelExtractor : Both maps of the reference from one STFT.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import MelExtractor
    >>> ext = MelExtractor().fit(np.zeros((2, 96000), np.float32))
    >>> ext.feature_shape_
    (128, 188)
    """

    def __init__(
        self, sr=16000, *, n_fft=2048, hop_length=512, n_mels=128, top_db=80.0,
        n_jobs=None, memory=None,
    ):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.top_db = top_db
        self.n_jobs = n_jobs
        self.memory = memory

    def _bands(self):
        return [("mel", self.n_mels)]

    def _maps(self, X):
        return log_mel_spectrogram(X, top_db=self.top_db, **self._spectral())


class MFCCExtractor(_MapExtractor):
    """MFCCs of each waveform, as ``librosa.feature.mfcc``.

    The defaults reproduce the reference project's MFCC input: 13 coefficients
    from a 128-band mel spectrogram (16 kHz, n_fft 2048, hop 512): 13 x 188 for
    a 6-s clip.

    Parameters
    ----------
    sr : int, default=16000
    n_mfcc : int, default=13
    n_fft : int, default=2048
    hop_length : int, default=512
    n_mels : int, default=128
    top_db : float or None, default=80.0
    n_jobs : int or None, default=None
        Threads computing chunks of clips in parallel (joblib semantics).
    memory : str, joblib.Memory or None, default=None
        Cache of computed maps (a folder or a ``joblib.Memory``); ``None`` caches
        nothing.

    Attributes
    ----------
    feature_shape_ : tuple of (int, int)
        ``(n_mfcc, n_frames)``.
    n_features_in_ : int

    See Also
    --------
    mfcc : The function doing the work.
    TimePooling : Mean/std over time, for classic classifiers.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import MFCCExtractor
    >>> MFCCExtractor().fit_transform(np.zeros((2, 96000), np.float32)).shape
    (2, 2444)
    """

    _parameter_constraints = {
        **_MapExtractor._parameter_constraints,
        "n_mfcc": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, sr=16000, *, n_mfcc=13, n_fft=2048, hop_length=512, n_mels=128,
        top_db=80.0, n_jobs=None, memory=None,
    ):
        self.sr = sr
        self.n_mfcc = n_mfcc
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.top_db = top_db
        self.n_jobs = n_jobs
        self.memory = memory

    def _bands(self):
        return [("mfcc", min(self.n_mfcc, self.n_mels))]

    def _maps(self, X):
        return mfcc(X, n_mfcc=self.n_mfcc, top_db=self.top_db, **self._spectral())


class MFCCMelExtractor(MFCCExtractor):
    """The reference's two inputs, MFCCs and log-mel map, from one STFT per clip.

    Each row is the MFCC map followed by the log-mel map, both flattened
    band-major: the same numbers as ``FeatureUnion([("mfcc", MFCCExtractor()),
    ("mel", MelExtractor())])`` at about half the cost, since the two maps share
    the mel power spectrogram and differ only in their dB reference.

    Parameters
    ----------
    sr : int, default=16000
    n_mfcc : int, default=13
    n_fft : int, default=2048
    hop_length : int, default=512
    n_mels : int, default=128
    top_db : float or None, default=80.0
    n_jobs : int or None, default=None
        Threads computing chunks of clips in parallel (joblib semantics).
    memory : str, joblib.Memory or None, default=None
        Cache of computed maps (a folder or a ``joblib.Memory``); ``None`` caches
        nothing.

    Attributes
    ----------
    feature_shape_ : tuple of (int, int)
        ``(n_mfcc + n_mels, n_frames)``: the MFCC bands, then the mel bands.
    n_features_in_ : int

    See Also
    --------
    sk_cry.features.split_bands : Split a row back into the two maps.
    make_cnn_pipeline : Uses it as its ``features`` step.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import MFCCMelExtractor
    >>> ext = MFCCMelExtractor().fit(np.zeros((2, 96000), np.float32))
    >>> ext.feature_shape_
    (141, 188)
    >>> ext.get_feature_names_out()[[0, 13 * 188]].tolist()
    ['mfcc0_t0', 'mel0_t0']
    """

    def _bands(self):
        return super()._bands() + [("mel", self.n_mels)]

    def _maps(self, X):
        power = _mel_power(X, **self._spectral())
        log_spec = _power_to_db(power, ref_max=False, top_db=self.top_db)
        mel = _rereference(log_spec, ref_max=True, top_db=self.top_db)
        return np.concatenate([_dct(log_spec, self.n_mfcc), mel], axis=-2)
