"""Synthetic infant cries: the embedded default data of the demo and the tests."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..core import DURATION, SR

__all__ = ["make_cries", "CRY_CLASSES"]

#: What separates the classes of :func:`make_cries`. Class ``k`` of ``K`` sits at
#: ``a = k / (K - 1)`` between the two ends below (times ``class_sep``); every clip
#: then draws its own values around its class's, so classes overlap.
CRY_CLASSES = {
    "f0_hz": (380.0, 500.0),  # fundamental: fussing cries lower, hunger cries higher
    "burst_s": (1.1, 0.45),  # cry units: long wails vs short rhythmic bursts
    "pause_s": (0.6, 0.25),  # silence between units
    "arch": (0.05, 0.3),  # rise-and-fall of pitch within a unit (fraction of f0)
}


def _class_values(k, n_classes, class_sep):
    a = 0.0 if n_classes == 1 else class_sep * k / (n_classes - 1)
    return {name: lo + a * (hi - lo) for name, (lo, hi) in CRY_CLASSES.items()}


def _synth_clip(rng, n, sr, f0_hz, burst_s, pause_s, arch, noise):
    """One clip: harmonic cry units with arched pitch, pauses and background noise."""
    f0 = np.full(n, f0_hz)
    amp = np.zeros(n)
    f0_clip = f0_hz * np.exp(rng.normal(0.0, 0.08))  # each baby its own pitch
    pos = int(rng.uniform(0.0, 0.3) * sr)
    while pos < n:
        length = int(max(0.12, rng.normal(burst_s, 0.2 * burst_s)) * sr)
        end = min(n, pos + length)
        u = np.linspace(0.0, 1.0, end - pos)
        f0[pos:end] = f0_clip * (1.0 + arch * np.sin(np.pi * u)) * (
            1.0 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * u * length / sr)
        )  # arch contour plus a 4-7 Hz vibrato
        amp[pos:end] = np.sin(np.pi * u) ** 0.5 * rng.uniform(0.5, 1.0)
        pos = end + int(max(0.05, rng.normal(pause_s, 0.3 * pause_s)) * sr)
    phase = 2.0 * np.pi * np.cumsum(f0) / sr
    rolloff = rng.uniform(1.0, 2.0)
    harmonics = np.arange(1, 11)
    weights = harmonics ** -rolloff * (harmonics * f0_clip * 1.3 < sr / 2)
    voiced = np.sin(np.outer(phase, harmonics)) @ weights
    x = amp * voiced
    x *= rng.uniform(0.3, 0.9) / max(np.abs(x).max(), 1e-9)
    return x + noise * rng.standard_normal(n)


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "sr": [Interval(Integral, 1000, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "class_sep": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_cries(
    n_samples=100, *, n_classes=2, sr=SR, duration=DURATION, class_sep=1.0,
    noise=0.02, shuffle=True, random_state=None,
):
    """Generate synthetic infant cries, like ``sklearn.datasets.make_classification``.

    Each clip is a run of cry units (harmonic tones with up to 10 partials, an
    arched pitch contour and a slight vibrato) separated by pauses, over white
    noise. The classes differ in four documented ways (see ``CRY_CLASSES``):
    class 0 has lower pitch, long wails with long pauses and a flat contour;
    the last class has higher pitch, short rhythmic bursts and a strongly
    arched contour; classes in between interpolate. Every clip varies around
    its class (pitch, lengths, timbre, level), so the task is not trivial at
    small ``class_sep``. No file is read or downloaded.

    Parameters
    ----------
    n_samples : int, default=100
        Number of clips, split as evenly as possible across classes.
    n_classes : int, default=2
    sr : int, default=16000
        Sampling rate in Hz.
    duration : float, default=6.0
        Clip length in seconds.
    class_sep : float, default=1.0
        Scales the differences between classes; 0 makes them identical.
    noise : float, default=0.02
        Standard deviation of the added white noise (peaks are 0.3-0.9).
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, round(sr * duration)), dtype float32
        Waveforms, one per row.
    y : ndarray of shape (n_samples,), dtype int
        Class of each clip.

    Examples
    --------
    >>> from sk_cry.datasets import make_cries
    >>> X, y = make_cries(10, duration=1.0, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((10, 16000), [0, 1])
    """
    rng = check_random_state(random_state)
    n = int(round(sr * duration))
    y = np.arange(n_samples) % n_classes
    X = np.empty((n_samples, n), np.float32)
    for i, k in enumerate(y):
        X[i] = _synth_clip(rng, n, sr, noise=noise, **_class_values(k, n_classes, class_sep))
    if shuffle:
        order = rng.permutation(n_samples)
        X, y = X[order], y[order]
    return X, y
