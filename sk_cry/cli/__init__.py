"""The ``sk-cry`` command line: ``demo``, ``audit``, ``train``, ``predict``,
``detect``, ``evaluate``, ``export``, ``serve`` and ``listen`` (``sk-cry --help``)."""

from ._main import main

__all__ = ["main"]
