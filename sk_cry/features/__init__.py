"""Features: waveforms -> MFCC and log-mel maps, and band-wise transforms of them."""

from ._layout import as_band_maps, band_layout, split_bands
from ._maps import FeatureScaler, TimePooling
from ._spectral import (
    MelExtractor,
    MFCCExtractor,
    MFCCMelExtractor,
    log_mel_spectrogram,
    mfcc,
)

__all__ = [
    "FeatureScaler",
    "MelExtractor",
    "MFCCExtractor",
    "MFCCMelExtractor",
    "TimePooling",
    "as_band_maps",
    "band_layout",
    "log_mel_spectrogram",
    "mfcc",
    "split_bands",
]
