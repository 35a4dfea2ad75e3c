"""The feature front end of an exported CNN pipeline: the kernel of
:mod:`sk_cry.core` with the bundle's arrays.

The same numbers as the pipeline's ``features`` and ``scaler`` steps
(:class:`~sk_cry.MFCCMelExtractor` and :class:`~sk_cry.FeatureScaler`), made by
the same code (:class:`~sk_cry.core.MelSpectrum`, the same FFT): the dB mel map
floored at ``top_db`` below its peak; the MFCCs its DCT, the log-mel map it
minus its peak; every band standardised by the training statistics. The window,
the filter bank and the DCT rows travel in the bundle as arrays.

One clip at a time into buffers made once: a batch of clips took 3.7 ms a clip
against 1.7 ms one by one (``benchmarks/runtime.py``).
"""

import numpy as np

from ..core import MelSpectrum, best_rfft, floor_db, log_power

__all__ = ["FrontEnd"]


class FrontEnd:
    """Waveforms, or dB mel frames, -> the network's scaled inputs, one
    ``(1, bands, frames)`` array per branch. Not thread-safe: it writes into
    buffers of its own.

    Parameters
    ----------
    params : dict
        ``n_fft``, ``hop_length``, ``top_db`` (or None), ``input_bands`` (MFCC
        bands, mel bands).
    arrays : dict of ndarray
        ``window`` (n_fft,), ``mel_basis`` (n_mels, n_fft // 2 + 1), ``dct``
        (n_mfcc, n_mels), ``mean`` and ``scale`` (n_mfcc + n_mels,).
    n_samples : int
        Length of every waveform.
    """

    def __init__(self, params, arrays, n_samples):
        self.n_fft, self.hop_length = int(params["n_fft"]), int(params["hop_length"])
        self.top_db = params["top_db"]
        n_mfcc, n_mels = (int(b) for b in params["input_bands"])
        self.window = arrays["window"].astype(np.float32)
        self.mel_basis = arrays["mel_basis"].astype(np.float32)
        self.spectrum = MelSpectrum(n_samples, n_fft=self.n_fft,
                                    hop_length=self.hop_length, window=self.window,
                                    mel_basis=self.mel_basis, rfft=best_rfft())
        self.n_frames = self.spectrum.n_frames
        self.dct = arrays["dct"].astype(np.float32)
        self.maps = np.empty((1, n_mfcc + n_mels, self.n_frames), np.float32)
        self.mfcc, self.mel = self.maps[0, :n_mfcc], self.maps[0, n_mfcc:]
        self.mean = arrays["mean"].astype(np.float32)[:, None]
        self.scale = arrays["scale"].astype(np.float32)[:, None]
        self.n_mfcc = n_mfcc

    def __call__(self, clip):
        """The scaled maps of one float32 waveform, as the network's inputs
        (views into a buffer that the next call overwrites)."""
        log_power(self.spectrum.power(clip, self.mel))
        return self._scaled()

    def from_db(self, frames):
        """The scaled maps of a window whose dB mel frames (``log_power`` of the
        mel power, no floor yet; shape ``(n_mels, n_frames)``) were computed
        once for a whole recording (:class:`~sk_cry.core.FrameWindows`)."""
        self.mel[...] = frames
        return self._scaled()

    def _scaled(self):
        peak = floor_db(self.mel, self.top_db)
        np.matmul(self.dct, self.mel, out=self.mfcc)
        self.mel -= peak
        maps = self.maps[0]
        maps -= self.mean
        maps /= self.scale
        return [self.maps[:, :self.n_mfcc], self.maps[:, self.n_mfcc:]]
