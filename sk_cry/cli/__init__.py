"""The ``sk-cry`` command line: the library's workflow, typed. Each command
calls the public function a Python user would (``sk-cry train`` calls
``pipe.fit``, ``sk-cry evaluate`` ``sk_cry.evaluate``, ``sk-cry export``
``sk_cry.export``); ``sk-cry --help`` lists them, one module each
(``sk_cry/cli/_main.py`` says the rule)."""

from ._main import main

__all__ = ["main"]
