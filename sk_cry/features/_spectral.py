"""MFCC and log-mel features: pure functions and the transformers that wrap them."""

from numbers import Integral, Real

import librosa
import numpy as np
import scipy.fft
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["log_mel_spectrogram", "mfcc", "MelExtractor", "MFCCExtractor"]

_AMIN = 1e-10  # librosa.power_to_db's floor
_CHUNK = 32  # clips per STFT batch: bounds memory at ~25 MB per 6-s clip chunk


def _power_to_db(S, *, ref_max, top_db):
    """``librosa.power_to_db`` applied to each map of a batch on its own.

    ``ref_max=True`` is ``ref=np.max`` taken per map (not over the whole batch).
    """
    log_spec = 10.0 * np.log10(np.maximum(_AMIN, S))
    peak = log_spec.max(axis=(-2, -1), keepdims=True)
    if ref_max:
        log_spec = log_spec - np.maximum(peak, 10.0 * np.log10(_AMIN))
        peak = np.zeros_like(peak)
    if top_db is not None:
        log_spec = np.maximum(log_spec, peak - top_db)
    return log_spec


def _mel_power(y, *, sr, n_fft, hop_length, n_mels):
    return librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
    )


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
    # Type-II orthonormal DCT over the mel axis: librosa's definition (lifter=0).
    return scipy.fft.dct(S, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :]


class _MapExtractor(TransformerMixin, BaseEstimator):
    """Shared machinery: waveforms in, flattened ``(n_bands, n_frames)`` maps out."""

    _parameter_constraints = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 2, None, closed="left")],
        "hop_length": [Interval(Integral, 1, None, closed="left")],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "top_db": [Interval(Real, 0, None, closed="neither"), None],
    }
    _prefix = "band"

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
        self.feature_shape_ = (self._n_bands(), 1 + X.shape[1] // self.hop_length)
        return self

    def transform(self, X):
        """Compute the maps of every waveform.

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
        out = np.empty((X.shape[0], int(np.prod(self.feature_shape_))), np.float32)
        for start in range(0, X.shape[0], _CHUNK):
            maps = self._maps(X[start:start + _CHUNK])
            out[start:start + _CHUNK] = maps.reshape(maps.shape[0], -1)
        return out

    def get_feature_names_out(self, input_features=None):
        """Column names ``<prefix><band>_t<frame>``, e.g. ``mfcc0_t0``."""
        check_is_fitted(self)
        n_bands, n_frames = self.feature_shape_
        return np.asarray(
            [f"{self._prefix}{b}_t{t}" for b in range(n_bands) for t in range(n_frames)],
            dtype=object,
        )

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

    Attributes
    ----------
    feature_shape_ : tuple of (int, int)
        ``(n_mels, n_frames)``, the shape of each map before flattening.
    n_features_in_ : int
        Samples per input waveform.

    See Also
    --------
    log_mel_spectrogram : The function doing the work.
    MFCCExtractor : The cepstral view of the same spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import MelExtractor
    >>> ext = MelExtractor().fit(np.zeros((2, 96000), np.float32))
    >>> ext.feature_shape_
    (128, 188)
    """

    _prefix = "mel"

    def __init__(self, sr=16000, *, n_fft=2048, hop_length=512, n_mels=128, top_db=80.0):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.top_db = top_db

    def _n_bands(self):
        return self.n_mels

    def _maps(self, X):
        return log_mel_spectrogram(
            X, sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length,
            n_mels=self.n_mels, top_db=self.top_db,
        )


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
    _prefix = "mfcc"

    def __init__(
        self, sr=16000, *, n_mfcc=13, n_fft=2048, hop_length=512, n_mels=128,
        top_db=80.0,
    ):
        self.sr = sr
        self.n_mfcc = n_mfcc
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.top_db = top_db

    def _n_bands(self):
        return min(self.n_mfcc, self.n_mels)

    def _maps(self, X):
        return mfcc(
            X, sr=self.sr, n_mfcc=self.n_mfcc, n_fft=self.n_fft,
            hop_length=self.hop_length, n_mels=self.n_mels, top_db=self.top_db,
        )
