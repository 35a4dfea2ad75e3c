"""Duplicated audio: identical, re-encoded, trimmed or rescaled copies, and windows
cut from one recording that overlap.

Each clip is summarised by its log-mel fingerprint at 8 kHz (20-ms frames) and
that fingerprint's frame-energy envelope. Three steps:

1. identical decoded audio: equal digests;
2. candidates: for every pair of clips, the lag at which their envelopes
   correlate best over at least ``min_overlap`` shared frames (all lags at once,
   from FFT cross-correlations), kept when that correlation is >= 0.9. This
   compares all pairs: 500 clips take about 2 s, and the time grows with the
   square of their number;
3. verification: the fingerprints correlate (>= 0.95; a 6-s Vorbis copy 6 dB
   quieter scored 0.946, its floor of quiet bands re-encoded, and is missed:
   lowering this lets so many look-alikes through to the next, costlier check
   that 2,000 clips took 172 s) and the waveforms
   themselves, reloaded at 8 kHz, correlate at the best sample lag within a
   frame of that lag (>= 0.98: that Vorbis copy scored 0.9988; two different
   synthetic cries holding one steady pitch for 1.4 s scored 0.91). The
   waveforms tell a copy (the same recording, sample for sample) from clips that
   only sound alike: 500 independent ``make_cries`` clips gave 75 false
   "overlapping audio" pairs on envelopes and fingerprints alone, none with it.
"""

import numpy as np
import scipy.fft
from joblib import Parallel, delayed, effective_n_jobs

from ..exceptions import AudioLoadError
from ..io import load_audio

__all__ = ["find_duplicates"]

_ENV_MIN, _FP_MIN, _WAVE_MIN = 0.9, 0.95, 0.98


def _envelopes(fingerprints, n_frames):
    """Frame-energy envelopes (dB) zero-padded to ``n_frames``, and their masks."""
    env = np.zeros((len(fingerprints), n_frames))
    mask = np.zeros_like(env)
    for i, fp in enumerate(fingerprints):
        env[i, : fp.shape[1]] = fp.mean(axis=0) / 10.0
        mask[i, : fp.shape[1]] = 1.0
    return env, mask


def _best_lags(env, mask, min_overlap, n_jobs=None):
    """For each pair (i, j), the lag where their envelopes correlate best.

    Pearson correlation restricted to the frames the two clips share at each
    lag, for all lags at once: the five running sums come from FFT
    cross-correlations. Lag ``l`` aligns frame ``t`` of clip i with frame
    ``t + l`` of clip j. Rows are shared out among ``n_jobs`` threads (every
    n_jobs-th row to one thread, so each gets as many pairs); the FFTs and array
    arithmetic run outside the GIL.
    """
    n, width = env.shape
    size = 2 * width
    E, E2, M = (scipy.fft.rfft(a.astype(np.float32), n=size) for a in (env, env ** 2, mask))
    lags = np.fft.fftfreq(size, 1 / size).astype(int)
    n_threads = max(1, min(effective_n_jobs(n_jobs), n - 1))

    def rows(first):
        pairs = []
        for i in range(first, n - 1, n_threads):
            def xc(a, b):
                return scipy.fft.irfft(np.conj(a[i]) * b[i + 1:], n=size)

            count = np.rint(xc(M, M))
            sx, sy, sxy = xc(E, M), xc(M, E), xc(E, E)
            sxx, syy = xc(E2, M), xc(M, E2)
            safe = np.maximum(count, 1)
            cov = sxy - sx * sy / safe
            var = (sxx - sx ** 2 / safe) * (syy - sy ** 2 / safe)
            ncc = np.where((count >= min_overlap) & (var > 1e-9),
                           cov / np.sqrt(np.maximum(var, 1e-18)), -np.inf)
            best = ncc.argmax(axis=1)
            for k, b in enumerate(best):
                pairs.append((i, i + 1 + k, float(ncc[k, b]), int(lags[b]),
                              int(count[k, b])))
        return pairs

    parts = Parallel(n_jobs=n_threads, prefer="threads")(
        delayed(rows)(first) for first in range(n_threads))
    return sorted(pair for part in parts for pair in part)


def _match(fp_a, fp_b, lag):
    """Correlation of two log-mel fingerprints where they overlap at ``lag``."""
    if lag >= 0:
        a, b = fp_a[:, :], fp_b[:, lag:]
    else:
        a, b = fp_a[:, -lag:], fp_b[:, :]
    m = min(a.shape[1], b.shape[1])
    a, b = a[:, :m].ravel(), b[:, :m].ravel()
    if m == 0 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])



def _waveform_match(clip_i, clip_j, lag, hop, sr):
    """Best normalised correlation of the two clips' samples where they overlap at
    ``lag`` frames, within one frame of it. ``clip_*``: (path, seconds)."""
    try:
        x = load_audio(clip_i[0], sr=sr, duration=clip_i[1])
        y = load_audio(clip_j[0], sr=sr, duration=clip_j[1])
    except AudioLoadError:  # read once already: only a file changed meanwhile
        return 0.0
    shift = lag * hop
    start = max(0, -shift) + hop
    stop = min(x.size, y.size - shift) - hop
    if stop - start < hop:
        return 0.0
    a = x[start:stop].astype(np.float64)
    b = y[start + shift - hop:stop + shift + hop].astype(np.float64)
    products = np.correlate(b, a, mode="valid")  # 2 * hop + 1 sample lags
    energy = np.concatenate([[0.0], np.cumsum(b * b)])
    norms = np.sqrt((energy[a.size:] - energy[:-a.size]) * (a * a).sum())
    return float(np.max(np.where(norms > 0, products / np.maximum(norms, 1e-30), 0.0)))


def find_duplicates(paths, durations, fingerprints, digests, *, min_overlap, hop, sr,
                    n_jobs=None):
    """Pairs of files that hold the same audio, in whole or in part.

    Parameters
    ----------
    paths : list of str
    durations : list of float
        Seconds of audio in each file.
    fingerprints : list of ndarray of shape (n_mels, n_frames)
        Log-mel maps in dB below each clip's peak, ``hop`` samples a frame at
        ``sr`` Hz.
    digests : list of str
        A hash of each clip's decoded samples: equal digests, identical audio.
    min_overlap : int
        Frames two clips must share to be called duplicates.
    hop, sr : int
        Of the fingerprints; the waveforms are reloaded at ``sr`` to verify.
    n_jobs : int or None, default=None
        Threads comparing envelopes.

    Returns
    -------
    pairs : list of (i, j, identical, lag, overlap)
        ``i < j``; ``lag`` in frames (frame t of clip i is frame t + lag of clip
        j); ``overlap`` in frames.
    """
    lengths = np.array([fp.shape[1] for fp in fingerprints])
    env, mask = _envelopes(fingerprints, int(lengths.max()))
    pairs = []
    for i, j, ncc, lag, overlap in _best_lags(env, mask, min_overlap, n_jobs):
        identical = digests[i] == digests[j]
        if not identical and (
                ncc < _ENV_MIN or _match(fingerprints[i], fingerprints[j], lag) < _FP_MIN
                or _waveform_match((paths[i], durations[i]), (paths[j], durations[j]),
                                   lag, hop, sr) < _WAVE_MIN):
            continue
        pairs.append((i, j, identical, lag, overlap))
    return pairs
