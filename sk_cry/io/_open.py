"""Opening an audio file safely, and checking its header before any decoding.

A file is opened only if it is a regular file (a FIFO would block, a device can
be endless), and refused when its header contradicts itself or declares a
sample rate or channel count no recording has. Standard library only; the
decoders (:mod:`._decode`, :mod:`._stream`) start from what this hands them.
"""

import os
import stat

from ..exceptions import AudioLoadError
from . import _wav

__all__ = ["check_range", "checked_header", "declared_frames", "open_regular",
           "sf_detail"]

# What sk_cry reads; a header outside is refused as damaged (AudioLoadError).
# Sample rates: below 1 kHz a file cannot hold a cry (its fundamental lies at
# 250-600 Hz), so such a header is corrupt (a declared 1 Hz made the loader
# resample 187 KB into 3 GB); 384 kHz is the highest rate audio interfaces record.
_MIN_RATE, _MAX_RATE = 1_000, 384_000
# Channels: FLAC stops at 8 and WAVE_FORMAT_EXTENSIBLE names 18 speaker positions;
# 32 leaves room for microphone arrays and 4th-order ambisonics (25 channels).
_MAX_CHANNELS = 32


def open_regular(path):
    """``(fd, size)`` of the regular file ``path``, opened for reading.

    Anything else is refused before it is opened: a FIFO would block ``open`` (and
    so ``predict``) until some process writes to it, and a device can be endless.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise AudioLoadError(path, "no such file; check the path (relative paths are "
                             f"resolved from {os.getcwd()})") from None
    except (OSError, ValueError) as exc:
        raise AudioLoadError(path, f"cannot be read ({exc}); check the path and its "
                             "permissions") from None
    _check_regular(path, st.st_mode)
    try:
        # O_NONBLOCK: should a FIFO take the file's place after the check above,
        # open returns at once instead of waiting for a writer (fstat then refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise AudioLoadError(path, f"cannot be opened ({exc.strerror}); check its "
                             "permissions") from None
    st = os.fstat(fd)
    try:
        _check_regular(path, st.st_mode)
    except AudioLoadError:
        os.close(fd)
        raise
    return fd, st.st_size


def _check_regular(path, mode):
    """Refuse a ``mode`` that is not a regular file's, naming what it is."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise AudioLoadError(path, "is a directory; pass the files inside it "
                             "(sk_cry.datasets.load_folder lists a folder)")
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "not a plain file")
    raise AudioLoadError(path, f"is not a regular file ({kind}); sk_cry reads audio "
                         "only from files: save the stream to a file first")


def check_range(path, rate, channels):
    """Refuse a declared sample ``rate`` or ``channels`` count outside what sk_cry
    reads (1,000-384,000 Hz, 1-32 channels)."""
    if not _MIN_RATE <= rate <= _MAX_RATE:
        raise AudioLoadError(path, f"declares a sample rate of {rate} Hz, outside the "
                             f"{_MIN_RATE:,}-{_MAX_RATE:,} Hz sk_cry reads; the header "
                             "is damaged, or resample the file (e.g. `ffmpeg -i in.wav "
                             "-ar 16000 out.wav`)")
    if not 1 <= channels <= _MAX_CHANNELS:
        raise AudioLoadError(path, f"declares {channels} channels, outside the "
                             f"1-{_MAX_CHANNELS} sk_cry reads; the header is damaged, "
                             "or mix it down (e.g. `ffmpeg -i in.wav -ac 1 out.wav`)")


def checked_header(fd, size, path):
    """The WAV header of an open file (None for other formats), refused when it
    contradicts itself or declares a rate or channel count out of range."""
    if size == 0:
        raise AudioLoadError(path, "is empty (0 bytes): there is no audio in it; "
                             "record or copy it again")
    header = _wav.read_header(fd, size, path)
    if header is not None:
        check_range(path, header.rate, header.channels)
        _wav.check_coding(header, path)
    return header


def declared_frames(path):
    """Frames the header of the WAV file ``path`` declares, or None.

    What the ``data`` chunk promises, which is more than the file holds when it
    was cut short (a size written as "to the end of the file" declares what is
    there). None for other formats, and for WAV codings that pack samples in
    blocks (libsndfile checks those). The header is checked as by
    :func:`~sk_cry.io.load_audio`.

    Raises
    ------
    AudioLoadError
        As :func:`~sk_cry.io.load_audio` for a file it refuses before decoding.
    """
    path = os.fspath(path)
    fd, size = open_regular(path)
    try:
        header = checked_header(fd, size, path)
    finally:
        os.close(fd)
    return None if header is None else header.frames


def sf_detail(exc):
    """libsndfile's message without its "Error opening 3:" (a file descriptor)."""
    detail = getattr(exc, "error_string", None) or str(exc)
    return detail.removeprefix("Error : ").rstrip(".")
