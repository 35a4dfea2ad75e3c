"""The numpy-only core every other floor builds on: the one STFT -> mel -> dB ->
DCT kernel (with the FFT passed in), frames shared by overlapping windows, and
the rules that turn window probabilities into events.

Needs numpy alone: the training extractors (:mod:`sk_cry.features`) and the
device runtime (:mod:`sk_cry.runtime`) both import it by these public names.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "._defaults": ["DURATION", "HOP_LENGTH", "N_FFT", "N_MELS", "N_MFCC", "SR"],
    "._kernel": ["MelSpectrum", "best_rfft", "blocked_bank", "dct_matrix", "floor_db",
                 "hann_window", "log_power", "numpy_rfft", "power_to_db"],
    "._frames": ["EVENT_HOP", "MAX_WINDOWS", "PADDING_SLACK", "WINDOW_HOP",
                 "FrameWindows", "too_many_windows"],
    "._events": ["Event", "EventRules", "EventTracker", "find_events"],
})
