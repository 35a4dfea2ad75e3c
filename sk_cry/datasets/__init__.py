"""Data sets: folders of recordings, and synthetic cries for demos and tests."""

from ._folder import AUDIO_EXTENSIONS, load_folder, write_folder
from ._synthetic import CRY_CLASSES, make_cries

__all__ = ["AUDIO_EXTENSIONS", "CRY_CLASSES", "load_folder", "make_cries", "write_folder"]
