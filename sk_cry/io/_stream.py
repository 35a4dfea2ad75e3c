"""Audio as a stream of blocks (a file read piece by piece, a microphone), cut
into overlapping windows without ever holding the whole recording."""

import os

import numpy as np
import soundfile as sf
import soxr

from ..core import MAX_WINDOWS, PADDING_SLACK, too_many_windows
from ..exceptions import AudioLoadError
from ._decode import MAX_FLOAT_PEAK, RESAMPLE_QUALITY, read_frames, truncated
from ._open import check_range, checked_header, open_regular, sf_detail

__all__ = ["Windows", "cut_windows", "file_blocks", "resample_blocks"]

_BLOCK = 1 << 16  # frames per read: 4 s at 16 kHz


def file_blocks(path, block=_BLOCK):
    """``(rate, blocks)``: the file's sample rate, and a generator of its mono
    float32 samples ``block`` frames at a time.

    The same checks as :func:`~sk_cry.io.load_audio` (regular file, header,
    sample rate and channel ranges, finite samples within range); a decoder
    error part way ends the blocks, after the samples decoded before it, with a
    :class:`~sk_cry.exceptions.TruncatedAudioWarning`.
    """
    path = os.fspath(path)
    fd, size = open_regular(path)
    try:
        checked_header(fd, size, path)
        f = sf.SoundFile(fd, closefd=False)
        check_range(path, f.samplerate, f.channels)
    except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
        os.close(fd)
        if isinstance(exc, AudioLoadError):
            raise
        raise AudioLoadError(path, f"is not readable audio ({sf_detail(exc)}); convert "
                             "it to WAV, FLAC or OGG") from exc
    except BaseException:
        os.close(fd)
        raise

    def blocks():
        float_coded = f.subtype in ("FLOAT", "DOUBLE")
        try:
            with f:
                while True:
                    data = np.empty((block, f.channels), np.float32)
                    k, error = read_frames(f, data)
                    mono = data[:k, 0] if f.channels == 1 else data[:k].mean(axis=1)
                    peak = np.max(np.abs(mono), initial=0.0)
                    if not np.isfinite(peak) or (float_coded and peak > MAX_FLOAT_PEAK):
                        raise AudioLoadError(path, "holds NaN, infinite or out-of-range "
                                             "samples; re-export it")
                    if error is not None:
                        truncated(f"{path}: the decoder stopped part way "
                                  f"({sf_detail(error)}); the audio before it is kept")
                    if k:
                        yield mono
                    if error is not None or not k:
                        return
        except OSError as exc:
            raise AudioLoadError(path, f"could not be read ({exc})") from exc
        finally:
            os.close(fd)

    return f.samplerate, blocks()


def resample_blocks(blocks, rate, sr, max_bandwidth=None):
    """``blocks`` at ``rate`` -> blocks at ``sr``, band-limited (streamed soxr,
    the loader's quality)."""
    stages = [(rate, sr)] if rate != sr else []
    if max_bandwidth is not None and 2 * max_bandwidth < sr:
        low = int(round(2 * max_bandwidth))
        stages += [(sr, low), (low, sr)]
    streams = [soxr.ResampleStream(a, b, 1, dtype="float32", quality=RESAMPLE_QUALITY)
               for a, b in stages]
    for block in blocks:
        for stream in streams:
            block = stream.resample_chunk(np.asarray(block, np.float32))
        yield block
    if streams:
        block = np.zeros(0, np.float32)
        for stream in streams:
            block = stream.resample_chunk(block, last=True)
        yield block


def cut_windows(blocks, rate, *, sr, window, hop, max_bandwidth=None, batch=16,
                stats=None):
    """Windows of a stream of mono blocks: ``(starts, waves)`` batches.

    ``blocks`` at ``rate`` Hz are brought to ``sr`` (and band-limited to
    ``max_bandwidth``). Windows of ``window`` seconds start every ``hop`` seconds
    while they fit; if audio is left after the last of them, one more window ends
    where the stream ends, so every sample is in a window and none is padded. A
    stream shorter than one window gives one window padded with silence at the
    end. A batch is yielded as soon as it holds ``batch`` windows (1: each
    window as soon as its audio has arrived). ``stats``, a dict, receives
    ``duration`` (seconds) and ``padded`` when the stream ends.
    """
    if not hop > 0 or not window > 0:
        raise ValueError(f"window and hop must be positive, got {window} and {hop}")
    n_win, n_hop = int(round(sr * window)), max(1, int(round(sr * hop)))
    buffer, origin = np.zeros(0, np.float32), 0  # buffer[0] is sample `origin`
    next_start, last_end, total = 0, 0, 0
    starts, waves = [], []

    def cut(start):
        if start // n_hop >= MAX_WINDOWS:
            raise too_many_windows(n_hop / sr)
        starts.append(start / sr)
        waves.append(buffer[start - origin:start - origin + n_win].copy())

    for block in resample_blocks(blocks, rate, sr, max_bandwidth):
        buffer = np.concatenate([buffer, block])
        total = origin + buffer.size
        while next_start + n_win <= total:
            cut(next_start)
            last_end = next_start + n_win
            next_start += n_hop
            if len(waves) >= batch:
                yield np.array(starts), np.stack(waves)
                starts, waves = [], []
        # keep the next window's samples and the last window's worth
        keep_from = max(min(next_start, total - n_win), origin)
        buffer, origin = buffer[keep_from - origin:], keep_from
    padded = False
    if total and last_end == 0:  # shorter than one window
        padded = total < n_win - sr * PADDING_SLACK
        starts.append(0.0)
        waves.append(np.pad(buffer, (0, n_win - buffer.size)))
    elif last_end < total:
        cut(total - n_win)
    if stats is not None:
        stats.update(duration=total / sr, padded=padded)
    if waves:
        yield np.array(starts), np.stack(waves)


class Windows:
    """The windows of one file, in batches (:func:`cut_windows` over
    :func:`file_blocks`), never holding the whole file.

    Iterating yields ``(starts, waves)``: window starts in seconds, shape
    ``(k,)``, and the windows, shape ``(k, round(sr * window))`` float32. After
    the iteration, ``duration`` holds the recording's length in seconds and
    ``padded`` whether it was shorter than one window.

    Raises
    ------
    AudioLoadError
        As :func:`~sk_cry.io.load_audio`, for a file that cannot be read, and
        for a file with no samples.
    """

    def __init__(self, path, *, sr, window, hop, max_bandwidth=None, batch=16):
        self.path = os.fspath(path)
        self._params = dict(sr=int(sr), window=window, hop=hop,
                            max_bandwidth=max_bandwidth, batch=int(batch))
        self.duration, self.padded = None, False

    def __iter__(self):
        rate, blocks = file_blocks(self.path)
        stats = {}
        yield from cut_windows(blocks, rate, stats=stats, **self._params)
        self.duration, self.padded = stats["duration"], stats["padded"]
        if not self.duration:
            raise AudioLoadError(self.path, "holds no samples (empty audio)")
