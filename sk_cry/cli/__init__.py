"""Command line: ``sk-cry demo`` and ``sk-cry audit FOLDER``."""

from ._main import main

__all__ = ["main"]
