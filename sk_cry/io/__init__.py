"""Audio input: files or waveforms -> fixed-length mono waveforms."""

from ._loader import AudioLoader, load_audio

__all__ = ["AudioLoader", "load_audio"]
