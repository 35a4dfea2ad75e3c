"""The one STFT -> mel -> dB -> DCT kernel, in numpy, with the FFT passed in.

The training extractors (:mod:`sk_cry.features`) and an exported model's front
end (:mod:`sk_cry.runtime`) both compute their maps here, so that the numbers
they must agree on (to 1e-6) are made by one piece of code. The numbers are
librosa's: a centred, zero-padded STFT under a periodic Hann window, the power
projected on a mel filter bank, ``librosa.power_to_db(S, ref=1.0, top_db)``;
the MFCCs are the orthonormal type-II DCT of that map (``lifter=0``).

Everything works in float32 in buffers made once (a fresh ~3 MB array for each
6-s clip costs more than the arithmetic on it: new pages are faulted in), and the
mel filter bank is applied block by block (:func:`blocked_bank`): it is ~93 %
zeros.
"""

from functools import lru_cache

import numpy as np

__all__ = ["MelSpectrum", "best_rfft", "blocked_bank", "dct_matrix", "floor_db",
           "hann_window", "log_power", "numpy_rfft", "power_to_db"]

_AMIN = np.float32(1e-10)  # librosa.power_to_db's floor
_DB = np.float32(10 / np.log(10))  # 10 * log10(x) == _DB * log(x); log is ~4x faster


@lru_cache(maxsize=8)
def hann_window(n_fft):
    """The periodic Hann window (``scipy.signal.get_window("hann", n_fft)``, which
    librosa uses), float32, read-only."""
    k = np.arange(n_fft, dtype=np.float64)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * k / n_fft)).astype(np.float32)
    window.flags.writeable = False
    return window


@lru_cache(maxsize=8)
def dct_matrix(n_mels, n_mfcc):
    """The first ``n_mfcc`` rows (at most ``n_mels``) of the orthonormal type-II
    DCT of ``n_mels`` points (``scipy.fft.dct(np.eye(n_mels), axis=0,
    norm="ortho")[:n_mfcc]``), float32: librosa's MFCCs (``lifter=0``) are this
    matrix times the dB mel map."""
    k = np.arange(min(n_mfcc, n_mels), dtype=np.float64)[:, None]
    n = np.arange(n_mels, dtype=np.float64)[None, :]
    matrix = np.sqrt(2.0 / n_mels) * np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels))
    matrix[0] /= np.sqrt(2.0)
    matrix = matrix.astype(np.float32)
    matrix.flags.writeable = False
    return matrix


def blocked_bank(basis, rows_per_block=8):
    """A mel filter bank cut into blocks of filters and the bins they touch.

    Each filter is non-zero on a few neighbouring FFT bins, so the bank is about
    93 % zeros (128 bands, n_fft 2048): multiplying block by block does a
    fifteenth of the dense product's arithmetic, with the same result. Every
    weight is repeated twice, to apply to the squared real and imaginary parts of
    a bin side by side (``complex64`` viewed as ``float32``): the power
    ``re**2 + im**2`` is summed by the product itself.

    Returns
    -------
    blocks : tuple of (rows slice, columns slice of the float32 view, weights)
    """
    basis = np.asarray(basis, np.float32)
    blocks = []
    for start in range(0, basis.shape[0], rows_per_block):
        rows = slice(start, start + rows_per_block)
        used = np.flatnonzero(basis[rows].any(axis=0))
        first, stop = (used[0], used[-1] + 1) if used.size else (0, 0)
        block = np.repeat(basis[rows, first:stop], 2, axis=1)
        block.flags.writeable = False
        blocks.append((rows, slice(2 * first, 2 * stop), block))
    return tuple(blocks)


def numpy_rfft(frames, out):
    """numpy's real FFT of each row of ``frames`` into ``out`` (complex64).

    The default FFT of :class:`MelSpectrum`; ``ducc0.fft.r2c`` gives the same
    numbers to float32 round-off at about twice the speed (``benchmarks/runtime.py``).
    """
    np.fft.rfft(frames, axis=1, out=out)


def _ducc0_rfft(frames, out):
    import ducc0

    ducc0.fft.r2c(frames, axes=(1,), out=out, nthreads=1)


@lru_cache(maxsize=1)
def best_rfft():
    """``ducc0``'s real FFT where it is installed (a dependency of sk_cry, with
    wheels for x86_64 and aarch64), else :func:`numpy_rfft`.

    ducc0 (by the author of numpy's pocketfft) transforms float32 frames 2.2x
    faster than numpy 2's FFT here (0.57 s against 1.27 s for the 112,497
    frames of an hour at 16 kHz, n_fft 2048; ``benchmarks/runtime.py``), with
    the same numbers to float32 round-off. The extractors and the runtime both
    use this one, so that their maps agree.
    """
    try:
        import ducc0  # noqa: F401
    except ImportError:
        return numpy_rfft
    return _ducc0_rfft


class MelSpectrum:
    """The mel power spectrogram of a buffer of samples, into buffers made once.

    Write samples into :attr:`signal` (or pass them to :meth:`power`), then call
    the object: the STFT frames of the buffer are windowed, transformed by
    ``rfft``, squared in place and projected on the mel filter bank block by
    block. Not thread-safe: each thread needs its own.

    Parameters
    ----------
    n_samples : int
        Samples in :attr:`signal`.
    n_fft, hop_length : int
    window : ndarray of shape (n_fft,)
        :func:`hann_window` for librosa's numbers.
    mel_basis : ndarray of shape (n_mels, n_fft // 2 + 1)
        A mel filter bank (``librosa.filters.mel``).
    rfft : callable, default=numpy_rfft
        ``rfft(frames, out)``: the real FFT of each float32 row of ``frames``
        into the complex64 ``out``.
    center : bool, default=True
        True: ``n_fft // 2`` zeros on both sides of the signal, frame ``t``
        centred on sample ``t * hop_length`` (librosa's ``center=True``), so
        ``1 + n_samples // hop_length`` frames; False: frames of the signal as
        it is, ``1 + (n_samples - n_fft) // hop_length`` of them (a stretch of
        a longer recording whose neighbouring samples are in the buffer).

    Attributes
    ----------
    signal : ndarray of shape (n_samples,), float32
    n_frames : int

    Examples
    --------
    >>> import numpy as np
    >>> basis = np.ones((4, 257), np.float32)
    >>> spectrum = MelSpectrum(16000, n_fft=512, hop_length=256,
    ...                        window=hann_window(512), mel_basis=basis)
    >>> spectrum.power(np.zeros(16000, np.float32)).shape
    (4, 63)
    """

    def __init__(self, n_samples, *, n_fft, hop_length, window, mel_basis,
                 rfft=numpy_rfft, center=True):
        half = n_fft // 2 if center else 0
        self.padded = np.zeros(n_samples + 2 * half, np.float32)
        self.signal = self.padded[half:half + n_samples]
        windows = np.lib.stride_tricks.sliding_window_view(self.padded, n_fft)
        self.windows = windows[::hop_length]
        self.n_frames = self.windows.shape[0]
        self.window = np.asarray(window, np.float32)
        self.frames = np.empty((self.n_frames, n_fft), np.float32)
        self.spectrum = np.empty((self.n_frames, n_fft // 2 + 1), np.complex64)
        parts = self.spectrum.view(np.float32)  # re, im, re, im, ...
        self.parts = parts
        # the spectrum's columns under each block of filters, as views made once:
        # one clip costs a few numpy calls, not dozens (each holds the GIL)
        self.bank = [(rows, parts[:, cols].T, block)
                     for rows, cols, block in blocked_bank(mel_basis)]
        self.n_mels = np.asarray(mel_basis).shape[0]
        self.rfft = rfft

    def __call__(self, out=None):
        """The mel power of the frames of :attr:`signal`: ``(n_mels, n_frames)``
        float32, written into ``out`` when given."""
        if out is None:
            out = np.empty((self.n_mels, self.n_frames), np.float32)
        np.multiply(self.windows, self.window, out=self.frames)
        self.rfft(self.frames, self.spectrum)
        np.square(self.parts, out=self.parts)
        for rows, parts, block in self.bank:
            np.matmul(block, parts, out=out[rows])
        return out

    def power(self, y, out=None):
        """Copy the waveform ``y`` into :attr:`signal` and return its mel power."""
        self.signal[...] = y
        return self(out)


def log_power(S):
    """``10 * log10(max(S, 1e-10))`` in place (``librosa.power_to_db`` with
    ``ref=1.0`` and no ``top_db``); returns ``S``."""
    np.maximum(S, _AMIN, out=S)
    np.log(S, out=S)
    S *= _DB
    return S


def floor_db(S, top_db):
    """Floor the dB map ``S`` at ``top_db`` below its peak, in place (None: no
    floor); returns the peak."""
    peak = S.max()
    if top_db is not None:
        np.maximum(S, peak - np.float32(top_db), out=S)
    return peak


def power_to_db(S, top_db):
    """``librosa.power_to_db(S, ref=1.0, top_db=top_db)`` in place; returns the
    peak in dB (NaN or infinite when ``S`` holds a NaN or infinite value, which
    is how callers catch bad samples without a pass of their own)."""
    return floor_db(log_power(S), top_db)
