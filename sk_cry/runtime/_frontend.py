"""The feature front end of an exported CNN pipeline, in numpy alone.

The same numbers as the pipeline's ``features`` and ``scaler`` steps
(:class:`~sk_cry.MFCCMelExtractor` and :class:`~sk_cry.FeatureScaler`), by the
same float32 arithmetic clip by clip: a centred, zero-padded STFT under a
periodic Hann window, the power projected on the mel filter bank block by block
(:func:`blocked_bank`, which the extractor uses too), ``10 * log10`` floored at
``top_db`` below the clip's peak; the MFCCs are the orthonormal DCT of that map,
the log-mel map is it minus its peak; every band standardised by the training
statistics. Only the FFT differs: numpy's here, ``ducc0``'s in the extractor
(equal to float32 round-off). The window, the filter bank and the DCT rows
travel in the bundle as arrays computed by librosa and scipy at export.

One clip at a time into buffers made once: a batch of clips through numpy's FFT
took 3.7 ms a clip against 1.7 ms one by one (``benchmarks/runtime.py``).
"""

import numpy as np

__all__ = ["FrontEnd", "blocked_bank"]

_AMIN = np.float32(1e-10)  # librosa.power_to_db's floor
_DB = np.float32(10 / np.log(10))  # 10 * log10(x) == _DB * log(x); log is ~4x faster


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


class FrontEnd:
    """One waveform -> the network's scaled inputs, one ``(1, bands, frames)``
    array per branch. Not thread-safe: it writes into buffers of its own.

    Parameters
    ----------
    params : dict
        ``sr``, ``duration``, ``n_fft``, ``hop_length``, ``top_db`` (or None),
        ``input_bands`` (MFCC bands, mel bands).
    arrays : dict of ndarray
        ``window`` (n_fft,), ``mel_basis`` (n_mels, n_fft // 2 + 1), ``dct``
        (n_mfcc, n_mels), ``mean`` and ``scale`` (n_mfcc + n_mels,).
    n_samples : int
        Length of every waveform.
    """

    def __init__(self, params, arrays, n_samples):
        n_fft, hop = int(params["n_fft"]), int(params["hop_length"])
        self.top_db = params["top_db"]
        n_mfcc, n_mels = (int(b) for b in params["input_bands"])
        n_frames, half = 1 + n_samples // hop, n_fft // 2
        self.padded = np.zeros(n_samples + 2 * half, np.float32)
        self.clip = self.padded[half:half + n_samples]  # center=True, zero padding
        self.windows = np.lib.stride_tricks.sliding_window_view(self.padded, n_fft)[::hop]
        self.window = arrays["window"].astype(np.float32)
        self.frames = np.empty((n_frames, n_fft), np.float32)
        self.spectrum = np.empty((n_frames, half + 1), np.complex64)
        self.bank = blocked_bank(arrays["mel_basis"])
        self.dct = arrays["dct"].astype(np.float32)
        self.maps = np.empty((1, n_mfcc + n_mels, n_frames), np.float32)
        self.mfcc, self.mel = self.maps[0, :n_mfcc], self.maps[0, n_mfcc:]
        self.mean = arrays["mean"].astype(np.float32)[:, None]
        self.scale = arrays["scale"].astype(np.float32)[:, None]
        self.n_mfcc = n_mfcc
        # numpy's FFT copies each clip's frames to float64 (3 MB for 6 s at
        # 16 kHz). glibc serves a block that large with fresh pages, faulted in
        # on every call (3.3 ms a clip instead of 1.7 measured), until a freed
        # block has raised its dynamic mmap threshold above that size, which
        # freeing this one does (glibc's documented behaviour, nothing set).
        np.empty(4 * self.frames.nbytes, np.uint8)

    def __call__(self, clip):
        """The scaled maps of one float32 waveform, as the network's inputs
        (views into a buffer that the next call overwrites)."""
        self.clip[...] = clip
        np.multiply(self.windows, self.window, out=self.frames)
        np.fft.rfft(self.frames, axis=1, out=self.spectrum)
        parts = self.spectrum.view(np.float32)  # re, im, re, im, ...
        np.square(parts, out=parts)
        mel = self.mel
        for rows, cols, block in self.bank:
            np.matmul(block, parts[:, cols].T, out=mel[rows])
        np.maximum(mel, _AMIN, out=mel)
        np.log(mel, out=mel)
        mel *= _DB
        peak = mel.max()
        if self.top_db is not None:
            np.maximum(mel, peak - np.float32(self.top_db), out=mel)
        np.matmul(self.dct, mel, out=self.mfcc)
        mel -= peak
        maps = self.maps[0]
        maps -= self.mean
        maps /= self.scale
        return [self.maps[:, :self.n_mfcc], self.maps[:, self.n_mfcc:]]
