"""Command line: ``sk-cry demo``."""

from ._main import main

__all__ = ["main"]
