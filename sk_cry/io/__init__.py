"""Reading audio: :func:`load_audio` (numpy, soundfile and soxr only) and the
:class:`AudioLoader` transformer (scikit-learn), each imported on first use."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "._decode": ["AUDIO_EXTENSIONS", "band_limit", "load_audio", "noting_truncation"],
    "._loader": ["AudioLoader"],
    "._open": ["declared_frames"],
    "._stream": ["Windows", "cut_windows", "file_blocks", "resample_blocks"]})
