"""Duplicated audio: identical, re-encoded, trimmed or rescaled copies, and windows
cut from one recording that overlap, found without comparing every pair of files.

Each clip is summarised, as it is scanned, by a compact :class:`Signature` of its
log-mel fingerprint at 8 kHz (20-ms frames): the frame-energy envelope and
hash keys of its patches, about 6 KB for a 6-s clip, so that the audit's memory
grows by kilobytes per file. Then three steps:

1. identical decoded audio: equal digests;
2. candidates: every 0.8-s patch of every fingerprint (pooled 2 x 2 to 16 bands
   of 40 ms), z-normalised so that a gain change does not matter, is hashed by
   the signs of random projections (locality-sensitive hashing, Charikar 2002)
   in ``_TABLES`` tables; every 5th patch of a clip is looked up, and each
   patch of another clip with the same key is a vote for that pair at that lag.
   Each clip keeps its ``_TOP`` partners with the most votes: a copy collides in
   every table at one lag, while clips that merely sound alike (synthetic cries
   of one class) collide at scattered lags. Work and memory grow with the number
   of patches, not with the number of pairs;
3. verification: the envelopes correlate (>= 0.9) over at least
   ``min_overlap`` shared frames at the voted lag (to within one frame); then
   both files are read again at 8 kHz and their fingerprints (>= 0.85: a 6-s
   Vorbis copy 6 dB quieter scored 0.946, its floor of quiet bands re-encoded)
   and waveforms, at the best sample lag within a frame (>= 0.98: that Vorbis
   copy scored 0.9988, two different synthetic cries holding one steady pitch
   for 1.4 s scored 0.91), must correlate. The waveforms tell a copy (the same
   recording, sample for sample) from clips that only sound alike: 500
   independent ``make_cries`` clips gave 75 false "overlapping audio" pairs on
   envelopes and fingerprints alone.

``benchmarks/scale.py --part audit`` measures 10,000 files (see
``benchmarks/RESULTS.md``).
"""

from typing import NamedTuple

import numpy as np

from ..exceptions import AudioLoadError
from ..features import log_mel_spectrogram
from ..io import load_audio

__all__ = ["SR", "HOP", "Signature", "find_duplicates", "projections", "signature"]

SR = 8000  # every clip has this band, whatever its source
HOP = 160  # 20-ms frames
_N_FFT, _N_MELS, _TOP_DB = 256, 32, 60.0

_ENV_MIN, _FP_MIN, _WAVE_MIN = 0.9, 0.85, 0.98
_POOL = 2  # 2 x 2 mean pooling of the fingerprint: 16 bands of 40 ms
_SPAN = 20  # pooled frames per patch (0.8 s)
_STRIDE = 5  # every 5th patch is looked up: any overlap of 1 s or more is met
_BITS = 24  # random projections per table (one key)
_TABLES = 8  # a patch and its re-encoded copy (correlation 0.99) share a key in
# one table with probability (1 - acos(0.99) / pi) ** 24 = 0.33
_MAX_BUCKET = 32  # a key shared by more patches is a common shape, not a copy
_FLAT = 0.5  # patches flatter than this (std, dB) say nothing: silence, hum
_TOP = 8  # partners kept per clip, by votes
_QUERY_BLOCK = 1 << 14  # lookups expanded at a time: bounds the vote arrays
_LAG_SPAN = 1 << 21  # pair and lag packed in one int64 (lags up to 2**20 frames)


class Signature(NamedTuple):
    """What the duplicate search keeps of one clip.

    Attributes
    ----------
    keys : ndarray of shape (n_tables, n_patches), uint32
        Hash key of each informative patch in each table.
    starts : ndarray of shape (n_patches,), int32
        First pooled frame of each patch.
    envelope : ndarray of shape (n_frames,), float32
        Mean of the fingerprint over bands, per frame (dB / 10).
    """

    keys: np.ndarray
    starts: np.ndarray
    envelope: np.ndarray


def fingerprint(x):
    """Log-mel map (dB below the clip's peak) of an 8-kHz waveform."""
    return log_mel_spectrogram(x, sr=SR, n_fft=_N_FFT, hop_length=HOP, n_mels=_N_MELS,
                               top_db=_TOP_DB)


def projections(random_state=0):
    """The random hyperplanes every clip's patches are hashed with."""
    dims = (_N_MELS // _POOL) * _SPAN
    rng = np.random.default_rng(random_state)
    return rng.standard_normal((dims, _TABLES * _BITS)).astype(np.float32)


def signature(x, planes):
    """:class:`Signature` of an 8-kHz waveform ``x``."""
    fp = fingerprint(x)
    bands, frames = (n - n % _POOL for n in fp.shape)
    pooled = fp[:bands, :frames].reshape(
        bands // _POOL, _POOL, frames // _POOL, _POOL).mean(axis=(1, 3))
    envelope = (fp.mean(axis=0) / 10.0).astype(np.float32)
    if pooled.shape[1] < _SPAN:
        return Signature(np.empty((_TABLES, 0), np.uint32), np.empty(0, np.int32), envelope)
    patches = np.lib.stride_tricks.sliding_window_view(pooled, _SPAN, axis=1)
    patches = patches.transpose(1, 0, 2).reshape(patches.shape[1], -1)
    spread = patches.std(axis=1)
    keep = np.flatnonzero(spread > _FLAT)
    z = (patches[keep] - patches[keep].mean(axis=1, keepdims=True)) / spread[keep, None]
    bits = (z.astype(np.float32) @ planes > 0).reshape(keep.size, _TABLES, _BITS)
    weights = np.uint32(1) << np.arange(_BITS, dtype=np.uint32)
    keys = (bits * weights).sum(axis=2, dtype=np.uint32).T
    return Signature(np.ascontiguousarray(keys), keep.astype(np.int32), envelope)


def _top_partners(clip, partner, lag, votes, top):
    """Rows of each clip's ``top`` partners by votes, each at its best lag."""
    order = np.lexsort((-votes, partner, clip))  # the best lag of each pair first
    clip, partner, lag, votes = clip[order], partner[order], lag[order], votes[order]
    best = np.r_[True, (clip[1:] != clip[:-1]) | (partner[1:] != partner[:-1])]
    clip, partner, lag, votes = clip[best], partner[best], lag[best], votes[best]
    order = np.lexsort((-votes, clip))
    clip, partner, lag = clip[order], partner[order], lag[order]
    first = np.r_[0, np.flatnonzero(clip[1:] != clip[:-1]) + 1]
    rank = np.arange(clip.size) - np.repeat(first, np.diff(np.r_[first, clip.size]))
    keep = rank < top
    return clip[keep], partner[keep], lag[keep]


def _candidates(signatures, top=_TOP):
    """``(i, j, lag)`` rows, i < j, lag in frames (frame t of clip i is frame
    t + lag of clip j): each clip's ``top`` partners by the number of its
    looked-up patches that collide with theirs at one lag.

    The clips' lookups are made a block of clips at a time and reduced to their
    top partners at once, so memory holds the index (12 bytes a patch a table)
    and one block's votes, whatever the number of clips.
    """
    n = len(signatures)
    if n < 2 or not any(s.starts.size for s in signatures):
        return np.empty((0, 3), np.int64)
    keys = np.concatenate([s.keys for s in signatures], axis=1)
    clips = np.concatenate([np.full(s.starts.size, i, np.int64)
                            for i, s in enumerate(signatures)])
    starts = np.concatenate([s.starts for s in signatures]).astype(np.int64)
    orders = [np.argsort(table, kind="stable").astype(np.int32) for table in keys]
    sorted_keys = [table[order] for table, order in zip(keys, orders)]
    queries = np.flatnonzero(starts % _STRIDE == 0)
    # blocks of whole clips, about _QUERY_BLOCK lookups each
    cuts = np.searchsorted(clips[queries], clips[queries[::_QUERY_BLOCK]][1:], side="left")
    found = []
    for query in np.split(queries, np.unique(cuts)):
        codes = []
        for table, order, ordered in zip(keys, orders, sorted_keys):
            lo = np.searchsorted(ordered, table[query], side="left")
            size = np.searchsorted(ordered, table[query], side="right") - lo
            use = (size > 1) & (size <= _MAX_BUCKET)
            size, lo = size[use], lo[use]
            q = np.repeat(query[use], size)
            offsets = np.arange(q.size) - np.repeat(np.cumsum(size) - size, size)
            e = order[np.repeat(lo, size) + offsets].astype(np.int64)
            other = clips[q] != clips[e]
            q, e = q[other], e[other]
            codes.append((clips[q] * n + clips[e]) * _LAG_SPAN
                         + starts[e] - starts[q] + _LAG_SPAN // 2)
        codes, votes = np.unique(np.concatenate(codes), return_counts=True)
        if not codes.size:
            continue
        pair, lag = codes // _LAG_SPAN, codes % _LAG_SPAN - _LAG_SPAN // 2
        clip, partner, lag = _top_partners(pair // n, pair % n, lag, votes, top)
        first = clip < partner
        found.append(np.stack([np.where(first, clip, partner),
                               np.where(first, partner, clip),
                               np.where(first, lag, -lag)], axis=1))
    if not found:
        return np.empty((0, 3), np.int64)
    rows = np.unique(np.concatenate(found), axis=0)  # a pair both clips chose
    rows[:, 2] *= _POOL
    return rows


def _pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else -1.0


def _envelope_match(env_i, env_j, lag, min_overlap):
    """Pearson correlation of two envelopes where they overlap at ``lag`` frames
    (frame t of i is frame t + lag of j), and the frames shared."""
    start, stop = max(0, -lag), min(env_i.size, env_j.size - lag)
    if stop - start < min_overlap:
        return -1.0, 0
    return _pearson(env_i[start:stop].astype(np.float64),
                    env_j[start + lag:stop + lag].astype(np.float64)), stop - start


def _fingerprint_match(fp_a, fp_b, lag):
    """Correlation of two fingerprints where they overlap at ``lag`` frames."""
    a, b = (fp_a, fp_b[:, lag:]) if lag >= 0 else (fp_a[:, -lag:], fp_b)
    m = min(a.shape[1], b.shape[1])
    return _pearson(a[:, :m].ravel(), b[:, :m].ravel()) if m else -1.0


def _waveform_match(x, y, lag):
    """Best normalised correlation of two 8-kHz waveforms where they overlap at
    ``lag`` frames, within one frame of it."""
    shift = lag * HOP
    start = max(0, -shift) + HOP
    stop = min(x.size, y.size - shift) - HOP
    if stop - start < HOP:
        return 0.0
    a = x[start:stop].astype(np.float64)
    b = y[start + shift - HOP:stop + shift + HOP].astype(np.float64)
    products = np.correlate(b, a, mode="valid")  # 2 * HOP + 1 sample lags
    energy = np.concatenate([[0.0], np.cumsum(b * b)])
    norms = np.sqrt((energy[a.size:] - energy[:-a.size]) * (a * a).sum())
    return float(np.max(np.where(norms > 0, products / np.maximum(norms, 1e-30), 0.0)))


def _same_recording(clip_i, clip_j, lag):
    """Fingerprints and waveforms, read again, agree at ``lag``. ``clip_*``:
    (path, seconds)."""
    try:
        x, y = (load_audio(path, sr=SR, duration=seconds) for path, seconds in (clip_i, clip_j))
    except AudioLoadError:  # read once already: only a file changed meanwhile
        return False
    return (_fingerprint_match(fingerprint(x), fingerprint(y), lag) >= _FP_MIN
            and _waveform_match(x, y, lag) >= _WAVE_MIN)


def find_duplicates(paths, durations, signatures, digests, *, min_overlap):
    """Pairs of files that hold the same audio, in whole or in part.

    Parameters
    ----------
    paths : list of str
    durations : list of float
        Seconds of audio in each file.
    signatures : list of Signature
        :func:`signature` of each clip at 8 kHz.
    digests : list of str
        A hash of each clip's decoded samples: equal digests, identical audio.
    min_overlap : int
        Frames two clips must share to be called duplicates.

    Returns
    -------
    pairs : list of (i, j, identical, lag, overlap)
        ``i < j``; ``lag`` in frames (frame t of clip i is frame t + lag of clip
        j); ``overlap`` in frames.
    """
    pairs = {}
    by_digest = {}
    for i, digest in enumerate(digests):
        by_digest.setdefault(digest, []).append(i)
    for same in by_digest.values():
        for a, i in enumerate(same):
            for j in same[a + 1:]:
                pairs[i, j] = (True, 0, signatures[i].envelope.size)
    envelopes = [s.envelope for s in signatures]
    for i, j, voted in _candidates(signatures).tolist():
        if (i, j) in pairs:
            continue
        # the vote's lag is a pooled frame (2 frames): try the frames around it
        score, overlap, lag = max(
            _envelope_match(envelopes[i], envelopes[j], lag, min_overlap) + (lag,)
            for lag in range(voted - _POOL + 1, voted + _POOL))
        if score >= _ENV_MIN and _same_recording((paths[i], durations[i]),
                                                 (paths[j], durations[j]), lag):
            pairs[i, j] = (False, int(lag), int(overlap))
    return [(i, j, *pairs[i, j]) for i, j in sorted(pairs)]
