"""Transformers that act on flattened feature maps band by band."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ..core import N_MFCC
from ..exceptions import ParameterError
from ._layout import as_band_maps

__all__ = ["FeatureScaler", "TimePooling"]


class FeatureScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise each band of flattened feature maps, pooling over time.

    A :class:`~sklearn.preprocessing.StandardScaler` fitted on every (clip, frame)
    pair as one sample of ``n_bands`` values: each MFCC coefficient or mel band
    gets one mean and one scale, learned from the training clips only (the
    reference notebook fitted its scaler on the test set too). Unlike a plain
    ``StandardScaler`` on the flat columns, it keeps the relative level of frames
    within a band, which is what the convolutions look at.

    Parameters
    ----------
    n_bands : int or None, default=None
        Number of bands in each row (rows are band-major maps, as the sk_cry
        extractors produce; for the CNN pipeline ``n_mfcc + n_mels``). ``None``
        treats every column as its own band, i.e. a plain ``StandardScaler``.

    Attributes
    ----------
    scaler_ : StandardScaler
        The wrapped scaler, fitted on ``(n_clips * n_frames, n_bands)`` samples.
    mean_ : ndarray of shape (n_bands,)
    scale_ : ndarray of shape (n_bands,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import FeatureScaler
    >>> X = np.array([[0., 2., 10., 30.], [4., 6., 50., 70.]])  # 2 bands x 2 frames
    >>> FeatureScaler(n_bands=2).fit(X).mean_
    array([ 3., 40.])
    """

    _parameter_constraints = {"n_bands": [Interval(Integral, 1, None, closed="left"), None]}

    def __init__(self, n_bands=None):
        self.n_bands = n_bands

    def _band_maps(self, X):
        return as_band_maps(X, X.shape[1] if self.n_bands is None else self.n_bands)

    def fit(self, X, y=None):
        """Learn one mean and one scale per band.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_bands * n_frames)
        y : ignored

        Returns
        -------
        self : FeatureScaler
        """
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        maps = self._band_maps(X)
        # every (clip, frame) pair is one sample of n_bands values
        self.scaler_ = StandardScaler().fit(
            maps.transpose(0, 2, 1).reshape(-1, maps.shape[1]))
        self.mean_ = self.scaler_.mean_
        self.scale_ = self.scaler_.scale_
        return self

    def transform(self, X):
        """Standardise ``X`` with the training statistics.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_bands * n_frames)

        Returns
        -------
        X_scaled : ndarray of the same shape and dtype
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        maps = self._band_maps(X)
        # StandardScaler.transform's arithmetic (statistics cast to X's dtype: the
        # same numbers), broadcast over each band's frames instead of transposing
        # every map to (frame, band) samples and back
        scaled = np.subtract(maps, self.mean_.astype(X.dtype)[:, np.newaxis])
        scaled /= self.scale_.astype(X.dtype)[:, np.newaxis]
        return scaled.reshape(X.shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_STATS = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}


class TimePooling(TransformerMixin, BaseEstimator):
    """Summarise each band of flattened feature maps over time.

    Turns an MFCC map into the fixed-size vector classic classifiers need (the
    SVM baseline: mean and standard deviation of each coefficient).

    Parameters
    ----------
    n_bands : int, default=13
        Number of bands in each row (13 for the default MFCC map).
    stats : tuple of {"mean", "std", "min", "max"}, default=("mean", "std")
        Statistics computed per band, in output order.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when the input had column names.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import TimePooling
    >>> TimePooling(n_bands=2).fit_transform(np.array([[1., 3., 10., 10.]]))
    array([[ 2., 10.,  1.,  0.]])
    """

    _parameter_constraints = {
        "n_bands": [Interval(Integral, 1, None, closed="left")],
        "stats": [tuple, list],
    }

    def __init__(self, n_bands=N_MFCC, stats=("mean", "std")):
        self.n_bands = n_bands
        self.stats = stats

    def fit(self, X, y=None):
        """Check the layout; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_bands * n_frames)
        y : ignored

        Returns
        -------
        self : TimePooling
        """
        self._validate_params()
        unknown = set(self.stats) - set(_STATS)
        if unknown or not self.stats:
            raise ParameterError(
                f"stats must be a non-empty subset of {sorted(_STATS)}, got {self.stats!r}"
            )
        X = validate_data(self, X)
        as_band_maps(X, self.n_bands)
        return self

    def transform(self, X):
        """Pool every band over time.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_bands * n_frames)

        Returns
        -------
        pooled : ndarray of shape (n_clips, n_bands * len(stats))
            All bands' first statistic, then all bands' second, ...
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        maps = as_band_maps(X, self.n_bands)
        return np.concatenate([_STATS[s](maps, axis=2) for s in self.stats], axis=1)

    def get_feature_names_out(self, input_features=None):
        """``<band>_<stat>``, e.g. ``mfcc0_mean``, band names taken from the input."""
        check_is_fitted(self)
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is not None:
            per_band = np.asarray(input_features).reshape(self.n_bands, -1)[:, 0]
            bands = [str(name).rsplit("_t", 1)[0] for name in per_band]
        else:
            bands = [f"band{b}" for b in range(self.n_bands)]
        return np.asarray([f"{b}_{s}" for s in self.stats for b in bands], dtype=object)
