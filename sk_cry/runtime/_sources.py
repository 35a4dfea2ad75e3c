"""Live audio for :meth:`BundleModel.listen`: a microphone, or a file played at
the pace it was recorded (the same code path, for tests and demonstrations).

A source is ``(rate, blocks)``: a sample rate and an iterator of mono float32
blocks, as :func:`sk_cry.io._stream.file_blocks` returns for a file.
"""

import queue
import time
import warnings

import numpy as np

from ..exceptions import SkCryError
from ..io import file_blocks

__all__ = ["microphone", "played"]

_QUEUED = 64  # blocks waiting for the classifier at most (16 s at 0.25 s)


def microphone(device=None, rate=None, block=0.25):
    """``(rate, blocks)`` from a microphone, through ``sounddevice`` (PortAudio).

    Parameters
    ----------
    device : int, str or None
        A sounddevice input device (``python -m sounddevice`` lists them);
        None: the system's default input.
    rate : int or None
        Sample rate; None: the device's default.
    block : float
        Seconds per block.

    Raises
    ------
    SkCryError
        If sounddevice or PortAudio is not installed, or the device cannot be
        opened.
    """
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:  # OSError: PortAudio library missing
        raise SkCryError(f"listening needs sounddevice and PortAudio ({exc}): "
                         "pip install \"sk-cry[listen]\" (and on Debian or "
                         "Raspberry Pi OS: apt-get install libportaudio2)") from exc
    try:
        rate = int(rate or sd.query_devices(device, "input")["default_samplerate"])
    except (ValueError, sd.PortAudioError) as exc:
        raise SkCryError(f"no input device {device!r}: {exc}; list them with "
                         "python -m sounddevice") from exc
    arrived = queue.Queue(maxsize=_QUEUED)
    dropped = [0]

    def callback(indata, frames, when, status):
        try:
            arrived.put_nowait(indata[:, 0].copy())
        except queue.Full:  # the classifier fell behind: drop, do not grow
            dropped[0] += 1

    def blocks():
        with sd.InputStream(device=device, channels=1, samplerate=rate, dtype="float32",
                            blocksize=int(rate * block), callback=callback):
            warned = 0
            while True:
                yield arrived.get()
                if dropped[0] > warned:  # said once per run of drops
                    warnings.warn(f"the classifier fell behind the microphone: "
                                  f"{dropped[0]} blocks of {block:g} s dropped so far")
                    warned = dropped[0]

    return rate, blocks()


def played(path, block=0.25, speed=1.0):
    """``(rate, blocks)`` of a file, each block released when it would have been
    recorded: a microphone stand-in that runs the same code.

    ``speed`` plays it that many times faster than it was recorded (0: as fast
    as it is read).
    """
    if not speed >= 0:
        raise SkCryError(f"speed={speed!r}: a file is played at a speed of 0 (as fast "
                         "as it can) or more (1: as recorded)")
    rate, blocks = file_blocks(path, block=4096)  # opened and checked now
    n = max(1, int(rate * block))

    def paced():
        start, sent = time.monotonic(), 0
        for piece in _rechunked(blocks, n):
            sent += piece.size
            if speed:
                time.sleep(max(0.0, start + sent / rate / speed - time.monotonic()))
            yield piece

    return rate, paced()


def _rechunked(blocks, n):
    """The samples of ``blocks`` again, ``n`` at a time (the last may be shorter)."""
    pending, held = [], 0
    for b in blocks:
        pending.append(b)
        held += b.size
        while held >= n:
            joined = np.concatenate(pending)
            yield joined[:n]
            pending, held = [joined[n:]], held - n
    if held:
        yield np.concatenate(pending)
