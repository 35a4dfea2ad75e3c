"""Data sets: folders of recordings, and synthetic cries for demos and tests."""

from ._detection import load_background, make_detection_set, make_night
from ._folder import (
    AGE_BANDS,
    AUDIO_EXTENSIONS,
    DONATE_A_CRY_REASONS,
    load_folder,
    parse_name,
    write_folder,
)
from ._synthetic import CRY_CLASSES, make_cries

__all__ = [
    "AGE_BANDS",
    "AUDIO_EXTENSIONS",
    "CRY_CLASSES",
    "DONATE_A_CRY_REASONS",
    "load_background",
    "load_folder",
    "make_cries",
    "make_detection_set",
    "make_night",
    "parse_name",
    "write_folder",
]
