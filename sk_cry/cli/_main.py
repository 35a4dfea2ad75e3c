"""``sk-cry``: the parser, built from the command modules, and the dispatch.

One module per command (``_<command>.py``), each with ``add_parser(sub)``, which
adds its sub-command and points it at its ``run(args)``; what several commands
share lives in ``_common.py`` (messages, progress bars, the library's defaults,
models and paths), ``_fitting.py`` (``train`` and ``evaluate``: the options of a
fit, the pipelines, the checks of the data) and ``_events.py`` (``detect``,
``listen``, ``monitor``); command modules import those, never each other. Each
command imports what it needs when it runs, so that ``sk-cry --help`` and
``sk-cry audit`` never load TensorFlow (4 s and 700 MB).
"""

import argparse
import logging
import os
import sys

from . import (
    _audit,
    _calibrate,
    _demo,
    _detect,
    _evaluate,
    _export,
    _listen,
    _monitor,
    _predict,
    _serve,
    _train,
)
from ._quiet import native_logs_filtered

__all__ = ["main"]

#: The commands, in the order ``sk-cry --help`` lists them.
COMMANDS = (_demo, _audit, _train, _predict, _detect, _monitor, _calibrate, _evaluate,
            _export, _serve, _listen)


def main(argv=None):
    """Run the ``sk-cry`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="sk-cry", description="scikit-learn compatible infant-cry classification")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    args = parser.parse_args(argv)
    # TensorFlow's Python warnings (tf.function retracing on tiny fits) are
    # for its developers; the command line is an application and may say so
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with native_logs_filtered() as terminal:
        args.terminal = terminal
        try:
            return args.func(args)
        except BrokenPipeError:  # `sk-cry predict ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


if __name__ == "__main__":
    sys.exit(main())
