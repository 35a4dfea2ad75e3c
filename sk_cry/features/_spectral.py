"""MFCC and log-mel features: pure functions and the transformers that wrap them.

All maps come from the one float32 kernel of :mod:`sk_cry.core` (the one an
exported model's front end runs too), clip by clip in buffers each thread keeps,
so that no clip pays for fresh memory: frames are windowed into one buffer,
transformed by ``ducc0``'s real FFT into another, squared in place and projected
on librosa's mel filter bank block by block. The numbers are librosa's
(``center=True``, zero padding, periodic Hann window, Slaney mel filters),
several times faster than ``librosa.feature.melspectrogram``, which transforms
in float64 one clip at a time and multiplies by the whole, mostly zero, filter
bank. The MFCCs and the log-mel map of one clip differ only in their dB
reference, so :class:`MFCCMelExtractor` derives both from one STFT.
"""

import threading
from functools import lru_cache, partial
from numbers import Integral, Real

import librosa
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data
from threadpoolctl import ThreadpoolController

from ..core import (
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    N_MFCC,
    SR,
    MelSpectrum,
    best_rfft,
    dct_matrix,
    hann_window,
    power_to_db,
)
from ..exceptions import AudioLoadError
from ._layout import band_layout

__all__ = [
    "log_mel_spectrogram", "mfcc", "MelExtractor", "MFCCExtractor", "MFCCMelExtractor",
]

_CHUNK = 16  # clips per parallel task


@lru_cache(maxsize=8)
def _mel_basis(sr, n_fft, n_mels):
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


class _Workspace(MelSpectrum):
    """A :class:`~sk_cry.core.MelSpectrum` for ``n_samples`` clips, and a mel
    buffer; ``key`` says which parameters it was made for."""

    def __init__(self, n_samples, *, sr, n_fft, hop_length, n_mels):
        super().__init__(n_samples, n_fft=n_fft, hop_length=hop_length,
                         window=hann_window(n_fft),
                         mel_basis=_mel_basis(sr, n_fft, n_mels), rfft=best_rfft())
        self.key = (n_samples, sr, n_fft, hop_length, n_mels)
        self.mel = np.empty((n_mels, self.n_frames), np.float32)


_LOCAL = threading.local()


def _workspace(n_samples, *, sr, n_fft, hop_length, n_mels):
    """This thread's workspace, kept from call to call.

    Fresh buffers cost more than the arithmetic for one clip (a new ~3 MB array
    is new memory pages): a one-clip prediction reuses the last call's.
    """
    work = getattr(_LOCAL, "work", None)
    if work is None or work.key != (n_samples, sr, n_fft, hop_length, n_mels):
        work = _LOCAL.work = _Workspace(n_samples, sr=sr, n_fft=n_fft,
                                        hop_length=hop_length, n_mels=n_mels)
    return work


def _log_mel_into(clip, out, work, *, top_db):
    """The log-mel map (dB below its peak) into ``out``; returns the peak in dB."""
    work.power(clip, out)
    peak = power_to_db(out, top_db)
    out -= peak
    return peak


def _mfcc_into(clip, out, work, *, n_mfcc, top_db, mel=None):
    """MFCCs into ``out``; the dB mel map (ref=1) is left in ``mel`` (default: the
    workspace's). Returns that map's peak in dB."""
    mel = work.mel if mel is None else mel
    work.power(clip, mel)
    peak = power_to_db(mel, top_db)
    np.matmul(dct_matrix(mel.shape[0], n_mfcc), mel, out=out)
    return peak


def _fill_maps(clips, out, map_into, spectral, first=0, name="X"):
    """``map_into(clip, maps, work)`` for each clip and its slot of ``out``.

    ``map_into`` returns the map's peak in dB: NaN or infinite whenever the clip
    holds a NaN or infinite sample, which is how bad input is caught without a
    separate pass over every sample. ``clips[0]`` is ``{name}[{first}]`` to the
    caller, for the error message.
    """
    work = _workspace(clips.shape[-1], **spectral)
    with np.errstate(invalid="ignore", over="ignore"):  # bad clips raise below
        peaks = [map_into(clip, maps, work) for clip, maps in zip(clips, out)]
    for i, peak in enumerate(peaks):
        if not np.isfinite(peak):
            raise AudioLoadError(
                f"{name}[{first + i}]", "contains NaN or infinite samples (or values too "
                "large for a float32 power spectrum); drop or repair this clip",
            )


def _batch(y, n_bands, map_into, spectral):
    """The maps of a waveform or a batch ``y`` of shape (..., n_samples)."""
    y = np.asarray(y, dtype=np.float32)
    clips = y.reshape(-1, y.shape[-1])
    n_frames = 1 + y.shape[-1] // spectral["hop_length"]
    out = np.empty((clips.shape[0], n_bands, n_frames), np.float32)
    with _threadpools().limit(limits=1, user_api="blas"):
        _fill_maps(clips, out, map_into, spectral, name="y")
    return out.reshape(y.shape[:-1] + out.shape[1:])


def log_mel_spectrogram(
    y, *, sr=SR, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS, top_db=80.0
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

    Raises
    ------
    AudioLoadError
        If a clip holds a NaN or infinite sample (the message names it: ``y[i]``).

    Examples
    --------
    >>> import numpy as np
    >>> log_mel_spectrogram(np.random.default_rng(0).normal(size=96000)).shape
    (128, 188)
    """
    spectral = dict(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return _batch(y, n_mels, partial(_log_mel_into, top_db=top_db), spectral)


def mfcc(
    y=None, *, sr=SR, S=None, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP_LENGTH,
    n_mels=N_MELS, top_db=80.0,
):
    """Mel-frequency cepstral coefficients, as ``librosa.feature.mfcc``.

    Parameters
    ----------
    y : ndarray of shape (..., n_samples) or None
        Waveform(s). Ignored if ``S`` is given.
    sr : int, default=16000
    S : ndarray of shape (..., n_mels, n_frames) or None
        A precomputed log-power mel spectrogram (dB, ``ref=1.0``).
    n_mfcc : int, default=13
    n_fft, hop_length, n_mels, top_db :
        Used only to compute ``S`` from ``y``.

    Returns
    -------
    M : ndarray of shape (..., n_mfcc, n_frames)

    Raises
    ------
    AudioLoadError
        If a clip holds a NaN or infinite sample (the message names it: ``y[i]``).

    Examples
    --------
    >>> import numpy as np
    >>> mfcc(np.random.default_rng(0).normal(size=96000)).shape
    (13, 188)
    """
    if S is not None:
        S = np.asarray(S, dtype=np.float32)
        return np.matmul(dct_matrix(S.shape[-2], n_mfcc), S)
    spectral = dict(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    fill = partial(_mfcc_into, n_mfcc=n_mfcc, top_db=top_db)
    return _batch(y, band_layout(n_mfcc, n_mels)[0], fill, spectral)


def _compute_maps(cls, params, X, n_jobs):
    """Maps of every row of ``X`` by an extractor ``cls(**params)``.

    Module-level, so that ``joblib.Memory`` can cache it by its arguments (the
    parameters that change the numbers, and the waveforms themselves).
    """
    return _all_maps(cls(**params), X, n_jobs)


def _all_maps(extractor, X, n_jobs):
    """Maps of every row of ``X``, chunks of clips on ``n_jobs`` threads."""
    out = np.empty((X.shape[0],) + extractor._map_shape(X.shape[1]), np.float32)

    def fill(start):
        extractor._fill(X[start:start + _CHUNK], out[start:start + _CHUNK], start)

    starts = range(0, X.shape[0], _CHUNK)
    # small products, one BLAS thread: faster alone, and no nested threads in workers
    with _threadpools().limit(limits=1, user_api="blas"):
        if len(starts) == 1 or effective_n_jobs(n_jobs) == 1:
            for start in starts:
                fill(start)
        else:
            Parallel(n_jobs=n_jobs, require="sharedmem")(
                delayed(fill)(s) for s in starts)
    return out.reshape(X.shape[0], -1)


@lru_cache(maxsize=1)
def _threadpools():
    # finding the loaded BLAS libraries takes milliseconds, limiting them 0.05 ms
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
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its maps, as ``fit(X).transform(X)``.

        ``X`` is checked once: a NaN or infinite sample shows in its map's peak
        (an ``AudioLoadError`` naming the row), so no separate pass over every
        sample is made.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)
        y : ignored

        Returns
        -------
        features : ndarray of shape (n_clips, n_bands * n_frames), dtype float32
        """
        return self._maps(self._fit(X, ensure_all_finite=False))

    def _fit(self, X, ensure_all_finite=True):
        self._validate_params()
        X = validate_data(self, X, dtype=np.float32, ensure_all_finite=ensure_all_finite)
        self.feature_shape_ = self._map_shape(X.shape[1])
        return X

    def _fill(self, X, out, first=0):
        """Write the maps of the waveforms ``X`` into ``out`` (n_clips, n_bands,
        n_frames); ``X[0]`` is row ``first`` of the caller's input."""
        _fill_maps(X, out, self._map_into, self._spectral(), first)

    def _map_shape(self, n_samples):
        """``(n_bands, n_frames)`` of the map of an ``n_samples`` waveform."""
        return (sum(n for _, n in self._bands()), 1 + n_samples // self.hop_length)

    def transform(self, X):
        """Compute the maps of every waveform.

        Chunks of clips are processed on ``n_jobs`` threads (numpy and ducc0
        release the GIL). With ``memory``, the result is cached by
        the waveforms' content and the parameters, so that the validation folds
        of a grid search are not computed again for every candidate.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_samples)

        Returns
        -------
        features : ndarray of shape (n_clips, n_bands * n_frames), dtype float32
            Each row is one ``feature_shape_`` map, flattened band-major.

        Raises
        ------
        AudioLoadError
            If a waveform holds a NaN or infinite sample (named as ``X[i]``).
        """
        check_is_fitted(self)
        # non-finite samples are caught by the kernels, without a pass of their own
        X = validate_data(self, X, dtype=np.float32, reset=False, ensure_all_finite=False)
        return self._maps(X)

    def _maps(self, X):
        if self.memory is None:  # no cache key to build (a one-clip call waits for it)
            return _all_maps(self, X, self.n_jobs)
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("n_jobs", "memory")}
        compute = check_memory(self.memory).cache(_compute_maps, ignore=["n_jobs"])
        return compute(type(self), params, X, self.n_jobs)

    def get_band_counts(self):
        """Band count of each map in an output row, in order (``[13, 128]`` for
        :class:`MFCCMelExtractor`'s defaults); their sum is what a
        :class:`~sk_cry.FeatureScaler` after this step needs as ``n_bands``."""
        return [n for _, n in self._bands()]

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
        self, sr=SR, *, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS, top_db=80.0,
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

    def _map_into(self, clip, out, work):
        return _log_mel_into(clip, out, work, top_db=self.top_db)


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
        self, sr=SR, *, n_mfcc=N_MFCC, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS,
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
        return [("mfcc", band_layout(self.n_mfcc, self.n_mels)[0])]

    def _map_into(self, clip, out, work):
        return _mfcc_into(clip, out, work, n_mfcc=self.n_mfcc, top_db=self.top_db)


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
        return list(zip(("mfcc", "mel"), band_layout(self.n_mfcc, self.n_mels)))

    def _map_into(self, clip, out, work):
        n_mfcc = band_layout(self.n_mfcc, self.n_mels)[0]
        # the MFCCs' dB map, kept in place and shifted to its peak, is the log-mel map
        peak = _mfcc_into(clip, out[:n_mfcc], work, n_mfcc=self.n_mfcc,
                          top_db=self.top_db, mel=out[n_mfcc:])
        out[n_mfcc:] -= peak
        return peak
