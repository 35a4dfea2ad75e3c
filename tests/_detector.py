"""A small detector and a recording with cries at known times, both synthetic,
for the tests of detection, the monitor and the service."""

import numpy as np
import soundfile as sf

import sk_cry
from sk_cry.datasets import make_cries

SR = 16000


def noise(rng, n, level=0.02):
    """Background: low-passed noise and a hum, stationary."""
    white = rng.standard_normal(n).astype(np.float32)
    low = np.convolve(white, np.ones(8) / 8, mode="same")
    tone = np.sin(2 * np.pi * rng.uniform(80, 300) * np.arange(n) / SR)
    x = low / (np.abs(low).max() + 1e-9) + 0.3 * tone
    return (level * x / np.abs(x).max()).astype(np.float32)


def svm_detector(path, *, detection=None):
    """An SVM on 2-s windows, synthetic cries against noise, exported to ``path``
    (a few seconds to fit); returns the fitted pipeline."""
    rng = np.random.default_rng(0)
    cries, _ = make_cries(40, duration=2.0, noise=0.0, random_state=0)
    cries = cries * 0.3 + np.stack([noise(rng, 2 * SR) for _ in range(40)])
    background = np.stack([noise(rng, 2 * SR, level=rng.uniform(0.01, 0.3))
                           for _ in range(40)])
    svm = sk_cry.make_svm_pipeline(duration=2.0).fit(
        np.concatenate([cries, background]), np.array(["cry"] * 40 + ["background"] * 40))
    sk_cry.export(svm, path, detection=detection or {"hop": 0.5})
    return svm


def night(path, *, seconds=90.0, onsets=(15.0, 42.5, 70.0), cry_seconds=4.0, seed=1):
    """``seconds`` of background with a ``cry_seconds`` cry at each onset, written
    to ``path`` (16-bit WAV); returns the onsets."""
    rng = np.random.default_rng(seed)
    x = noise(rng, int(seconds * SR), level=0.05)
    cries, _ = make_cries(len(onsets), duration=cry_seconds, noise=0.0, random_state=7)
    for onset, cry in zip(onsets, cries):
        start = int(onset * SR)
        x[start:start + cry.size] += 0.5 * cry[:x.size - start]
    sf.write(path, x, SR, subtype="PCM_16")
    return list(onsets)
