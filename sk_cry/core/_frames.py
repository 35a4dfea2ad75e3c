"""Overlapping windows of a long stream that share one STFT.

Windows of 6 s every 3 s hear every sample twice; cut as separate clips, each
window's frames are transformed again (1,200 windows in an hour, 2.5x the
frames). Here the frames are computed once per stream, on one grid (frame ``k``
centred on sample ``k * hop_length``, zeros before the first and after the last
sample, as librosa's ``center=True``), and every window is a run of them.

A window starts on the frame grid: at ``round(start / hop_length)`` frames,
within ``hop_length / 2`` samples (16 ms at 16 kHz and hop 512) of the start
``hop`` asks for; its reported ``start`` is the grid's. Its frames are then the
frames of the window cut as a clip and transformed alone: the shared frames in
its middle are bit for bit the clip's, and its first and last few frames (2 and
2 at n_fft 2048, hop 512), which a clip alone pads with zeros where the
recording has its neighbouring samples, are transformed again for each window
with those zeros. Without that, the edges moved the default detector's window
probabilities by up to 0.18 (median 0.002) and lost one of seven events on a
30-minute night (``benchmarks/shared_frames.py``); with it, the windows'
probabilities are the clips' to float32 round-off and the events the same.
"""

import numpy as np

from ..exceptions import ParameterError
from ._kernel import MelSpectrum, log_power, numpy_rfft

__all__ = ["EVENT_HOP", "MAX_WINDOWS", "PADDING_SLACK", "WINDOW_HOP", "FrameWindows",
           "too_many_windows"]

#: The most windows one file is cut into: 200,000 windows of 1 s every 1 s are
#: 55 hours; past it a hop is far too fine for the recording (a hop of 1e-9 s
#: asked for 16,000 windows a second), and the work would have no bound.
MAX_WINDOWS = 200_000

#: Seconds a recording may fall short of one window without being called padded:
#: a full window, resampled, may come out a few samples short.
PADDING_SLACK = 0.01

#: The hop of a detector's windows, as a fraction of the window, where neither
#: the caller nor the bundle's detection settings give one.
EVENT_HOP = 0.25

#: The hop of ``predict_windows`` and ``listen`` windows, as a fraction of the
#: window, where the caller gives none: each moment is heard in two windows.
WINDOW_HOP = 0.5


def too_many_windows(hop):
    """The error for a file that would be cut into more than :data:`MAX_WINDOWS`."""
    return ParameterError(f"more than {MAX_WINDOWS:,} windows at a hop of {hop:g} s: "
                          "use a longer hop, or split the recording")


class FrameWindows:
    """The dB mel frames of a stream, computed once, cut into windows.

    Parameters
    ----------
    sr : int
        Sample rate of the blocks.
    window, hop : float
        Seconds per window and between window starts.
    n_fft, hop_length : int
    stft_window : ndarray of shape (n_fft,)
    mel_basis : ndarray of shape (n_mels, n_fft // 2 + 1)
    rfft : callable
        As :class:`MelSpectrum`'s.
    chunk : int, default=64
        Frames transformed at a time: 64 frames of 2,048 samples (0.5 MB)
        stay in the CPU's cache; 512 took 10.4 us a frame against 5.5.

    Attributes
    ----------
    duration : float or None
        Seconds of audio in the stream, once it has ended.
    padded : bool
        The stream was shorter than one window (its one window is padded with
        zeros at the end).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry.core import hann_window
    >>> frames = FrameWindows(sr=16000, window=2.0, hop=1.0, n_fft=512, hop_length=256,
    ...                       stft_window=hann_window(512),
    ...                       mel_basis=np.ones((4, 257), np.float32))
    >>> blocks = np.zeros((5, 16000), np.float32)       # 5 s of silence in 1-s blocks
    >>> [(start, db.shape, wave.size) for start, db, wave in frames.cut(blocks)][:2]
    [(0.0, (4, 126), 32000), (0.992, (4, 126), 32000)]
    """

    def __init__(self, *, sr, window, hop, n_fft, hop_length, stft_window, mel_basis,
                 rfft=None, chunk=64):
        self.sr, self.hop_length, self.n_fft = int(sr), int(hop_length), int(n_fft)
        self.n_win = int(round(sr * window))
        self.n_hop = max(1, int(round(sr * hop)))
        self.n_frames = 1 + self.n_win // self.hop_length  # frames per window
        self.chunk = int(chunk)
        self.spectrum = MelSpectrum((self.chunk - 1) * self.hop_length + self.n_fft,
                                    n_fft=self.n_fft, hop_length=self.hop_length,
                                    window=stft_window, mel_basis=mel_basis,
                                    rfft=rfft or numpy_rfft, center=False)
        self.n_mels = self.spectrum.n_mels
        # frames k < lead and k >= tail overlap a clip's zero padding
        half = self.n_fft // 2
        self.lead = -(-half // self.hop_length)
        self.tail = (self.n_win - half) // self.hop_length + 1
        n_edge = max(self.lead, self.n_frames - self.tail)
        self.edges = MelSpectrum((n_edge - 1) * self.hop_length + self.n_fft,
                                 n_fft=self.n_fft, hop_length=self.hop_length,
                                 window=stft_window, mel_basis=mel_basis,
                                 rfft=rfft or numpy_rfft, center=False)
        self.window_db = np.empty((self.n_mels, self.n_frames), np.float32)
        self.duration, self.padded = None, False

    def _as_clip(self, shared, wave):
        """The window's dB frames as its clip alone has them: the shared frames,
        its edge frames transformed again over the clip's zero padding."""
        H, half, out = self.hop_length, self.n_fft // 2, self.window_db
        out[...] = shared
        signal, n = self.edges.signal, self.edges.signal.size
        # the first frames: half a frame of zeros, then the window's first samples
        signal[:half] = 0
        signal[half:] = wave[:n - half]
        frames = log_power(self.edges())
        out[:, :self.lead] = frames[:, :self.lead]
        # the last frames: from the first one's left edge, zeros after the window
        first = self.tail * H - half
        piece = wave[first:first + n]
        signal[:piece.size], signal[piece.size:] = piece, 0
        frames = log_power(self.edges())
        out[:, self.tail:] = frames[:, :self.n_frames - self.tail]
        return out

    def cut(self, blocks):
        """Yield ``(start, db, wave)`` for every window of the stream ``blocks``
        (mono float32 arrays at ``sr``): the start in seconds (on the frame
        grid), the window's dB mel frames ``(n_mels, n_frames)`` (``log_power``,
        no ``top_db`` floor) and its samples ``(round(sr * window),)``, both
        views that the next window may overwrite.

        Windows start every ``hop`` while they fit; one more ends with the
        stream if audio is left after the last; a stream shorter than one
        window gives one window padded with zeros (as
        :func:`sk_cry.io.cut_windows`).
        """
        H, half = self.hop_length, self.n_fft // 2
        samples = np.zeros(half, np.float32)  # samples[0] is sample s_off
        s_off = -half
        db = np.zeros((self.n_mels, 0), np.float32)  # db[:, 0] is frame f_off
        f_off, f_next = 0, 0  # f_next: the first frame not yet computed
        total, j, last_end, ended, final = 0, 0, 0, False, False
        blocks = iter(blocks)
        while True:
            block = None if ended else next(blocks, None)
            if block is not None:
                block = np.asarray(block, np.float32).ravel()
                total += block.size
                samples = np.concatenate([samples, block])
            elif not ended:
                ended, self.duration = True, total / self.sr
                if total == 0:
                    return
                # zeros after the end: the last frames are centred on them, and
                # a stream shorter than a window is padded with them
                tail = max(self.n_win - total, 0) + self.n_fft + self.chunk * H
                samples = np.concatenate([samples, np.zeros(tail, np.float32)])
            # transform every chunk of frames whose samples have all arrived
            new = []
            while (f_next + self.chunk - 1) * H - half + self.n_fft <= s_off + samples.size:
                first = f_next * H - half - s_off
                piece = samples[first:first + self.spectrum.signal.size]
                new.append(log_power(self.spectrum.power(piece)))
                f_next += self.chunk
            if new:
                db = np.concatenate([db] + new, axis=1)
            # every window whose frames are ready
            while True:
                if j * self.n_hop + self.n_win <= total:
                    start = j * self.n_hop
                elif not ended or final:
                    break
                elif total < self.n_win:  # shorter than one window: padded
                    self.padded = total < self.n_win - self.sr * PADDING_SLACK
                    start = 0
                elif last_end < total:  # audio left: one window ending with it
                    start = total - self.n_win
                else:
                    return
                f = int(round(start / H))
                if f + self.n_frames > f_next:
                    if ended:
                        raise RuntimeError("FrameWindows: frames missing at the end")
                    break
                if j >= MAX_WINDOWS:
                    raise too_many_windows(self.n_hop / self.sr)
                s = f * H
                wave = samples[s - s_off:s - s_off + self.n_win]
                yield (s / self.sr, self._as_clip(db[:, f - f_off:f - f_off +
                                                     self.n_frames], wave), wave)
                if start == j * self.n_hop and start + self.n_win <= total:
                    j, last_end = j + 1, start + self.n_win
                else:
                    final = True
            if final:
                return
            # forget what no later window or frame needs: the next regular
            # window, or the one that may end with the stream, starts no earlier
            keep = min(j * self.n_hop, max(total - self.n_win, 0))
            keep_f = min(int(round(keep / H)), f_next)
            if keep_f > f_off:
                db, f_off = db[:, keep_f - f_off:], keep_f
            keep_s = min(f_next * H - half, keep_f * H) - s_off
            if keep_s > 0:
                samples, s_off = samples[keep_s:], s_off + keep_s
