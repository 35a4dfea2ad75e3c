"""How 2-D feature maps travel through sklearn as flat rows.

Every sk_cry extractor flattens a ``(n_bands, n_frames)`` map band-major (C order),
so band ``b`` is the contiguous run of columns ``b * n_frames : (b + 1) * n_frames``.
Maps that share a frame count (MFCC and log-mel from one hop length) can then be
concatenated by a ``FeatureUnion`` and split again by band counts alone;
:func:`band_layout` is the one place that says how many bands each map has.
"""

import numpy as np

from ..exceptions import ParameterError

__all__ = ["as_band_maps", "band_layout", "split_bands"]


def band_layout(n_mfcc, n_mels):
    """Band counts of the MFCC map and of the log-mel map, in this order.

    There are at most as many MFCCs as mel bands (the DCT of ``n_mels`` values
    has ``n_mels`` coefficients), so ``n_mfcc`` is clamped to ``n_mels``.

    Examples
    --------
    >>> band_layout(13, 128)
    (13, 128)
    >>> band_layout(40, 32)
    (32, 32)
    """
    return min(n_mfcc, n_mels), n_mels


def as_band_maps(X, n_bands):
    """View rows of flattened maps as ``(n_samples, n_bands, n_frames)``.

    Raises
    ------
    ParameterError
        If the number of columns is not a multiple of ``n_bands``.
    """
    n_samples, n_features = X.shape
    if n_features % n_bands:
        raise ParameterError(
            f"{n_features} feature columns cannot hold maps of {n_bands} bands "
            f"({n_features} is not a multiple of {n_bands}); set n_bands to the "
            "extractors' band count (n_mfcc + n_mels for the CNN pipeline)"
        )
    return X.reshape(n_samples, n_bands, n_features // n_bands)


def split_bands(X, input_bands):
    """Split concatenated flattened maps into one ``(n, bands, frames)`` array each.

    Parameters
    ----------
    X : ndarray of shape (n_samples, sum(input_bands) * n_frames)
    input_bands : sequence of int
        Band count of each map, in the order the maps were concatenated.

    Returns
    -------
    maps : list of ndarray, one of shape (n_samples, bands, n_frames) per entry
    """
    maps = as_band_maps(np.asarray(X), int(sum(input_bands)))
    edges = np.cumsum(input_bands)[:-1]
    return np.split(maps, edges, axis=1)
