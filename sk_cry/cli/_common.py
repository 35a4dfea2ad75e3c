"""What several commands share: a command's parser, its error and warning lines,
progress bars, options that default to the library's values, and reading models
and audio paths. Standard library only at import, so that building the parser
(``sk-cry --help``) loads nothing heavy."""

import argparse
import functools
import importlib
import inspect
import os
import sys
from pathlib import Path

__all__ = ["PATH_WIDTH", "LibraryDefault", "add_command", "add_quiet", "add_seed",
           "audio_files", "bar", "chunks", "error", "given", "is_bundle", "load_model",
           "resolved", "shown", "warn"]

#: Characters of a path in a table row; a longer one keeps its end.
PATH_WIDTH = 60


def add_command(sub, name, help, *examples, description=None):
    """The parser of sub-command ``name``: ``help`` in ``sk-cry --help``, and
    as its own description (unless ``description``) above the examples."""
    text = description or f"{help[0].upper()}{help[1:]}."
    label = "example" if len(examples) == 1 else "examples"
    return sub.add_parser(
        name, help=help, description=f"{text}\n\n{label}:\n"
        + "\n".join(f"  {example}" for example in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter)


def error(command, message):
    """Say ``message`` on stderr as ``command``'s error; returns the status, 2."""
    print(f"sk-cry {command}: error: {message}", file=sys.stderr)
    return 2


def warn(command, message):
    print(f"sk-cry {command}: warning: {message}", file=sys.stderr)


def add_quiet(parser):
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_seed(parser):
    """``--seed``: every command that fits is seeded, so that a run repeats."""
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of the fits (default %(default)s)")


def bar(iterable=None, *, args, **kwargs):
    """A tqdm progress bar on the terminal (``args.terminal``: stderr, unfiltered);
    nothing when that is not a terminal, or with ``--quiet``."""
    from tqdm import tqdm

    out = getattr(args, "terminal", None) or sys.stderr
    return tqdm(iterable, disable=args.quiet or not out.isatty(), leave=False,
                file=out, **kwargs)


def chunks(n, size, *, args, desc):
    """Slices of ``range(n)``, ``size`` at a time, with a bar counting files."""
    with bar(total=n, args=args, desc=desc, unit="file") as progress:
        for start in range(0, n, size):
            yield slice(start, start + size)
            progress.update(min(size, n - start))


class LibraryDefault:
    """An option whose default is the library's, so that the number is written
    once, there: a public constant (``name``), or the default of one keyword
    ``parameter`` of a public function, class or method (``name`` dotted).

    It is looked up when first needed, not when the parser is built: for the
    help (``%(default)s`` shows it) or by the command. A command passes on only
    the options that were :func:`given`, so that the library applies its own
    default; where it needs the number itself, it takes :func:`resolved`.
    """

    def __init__(self, module, name, parameter=None):
        self.module, self.name, self.parameter = module, name, parameter

    @functools.cached_property
    def value(self):
        found = functools.reduce(getattr, self.name.split("."),
                                 importlib.import_module(self.module))
        if self.parameter is None:
            return found
        return inspect.signature(found).parameters[self.parameter].default

    def __str__(self):
        try:
            value = self.value
        except ImportError:  # the help of a command whose extra is not installed
            where = f"{self.module}.{self.name}"
            return where if self.parameter is None else f"{where}'s {self.parameter}"
        return format(value, "g") if isinstance(value, float) else str(value)

    def __repr__(self):
        return f"LibraryDefault({self.module!r}, {self.name!r}, {self.parameter!r})"


def resolved(value):
    """``value``, or the library's value where it is a :class:`LibraryDefault`."""
    return value.value if isinstance(value, LibraryDefault) else value


def given(args, *names):
    """``{name: value}`` of the options the user gave (neither None nor a
    :class:`LibraryDefault`): keyword arguments that leave the library's own
    defaults in place."""
    values = {name: getattr(args, name, None) for name in names}
    return {name: value for name, value in values.items()
            if value is not None and not isinstance(value, LibraryDefault)}


def is_bundle(path):
    """A bundle is a ZIP archive from its first byte (a saved pipeline is a
    header and a pickle, which may hold ZIP archives of its own)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def load_model(path):
    """``(model, kind)``: a bundle on the runtime (kind ``"bundle"``), or a
    saved pipeline (``"pipeline"``)."""
    import stat

    from ..exceptions import ModelFileError

    try:
        mode, size = os.stat(path).st_mode, os.stat(path).st_size
    except OSError as exc:
        raise ModelFileError(f"{path}: {exc.strerror}; name a bundle (sk-cry export) "
                             "or a saved model (sk-cry train)") from None
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path} is not a regular file; name a bundle (sk-cry "
                             "export) or a saved model (sk-cry train)")
    if size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes), not a bundle or a saved "
                             "model; copy, export or train it again")
    if is_bundle(path):
        from ..runtime import load

        return load(path), "bundle"
    from ..models import load

    return load(path), "pipeline"


def audio_files(items):
    """The paths to read: each item, and in a folder every entry named like
    audio, whatever it is (a FIFO, a broken link, a link loop, a folder named
    ``x.wav``): the loader says why it cannot be read, in that entry's row.
    Links to folders are not followed (no loops)."""
    from ..io import AUDIO_EXTENSIONS

    files = []
    for item in map(Path, items):
        if not item.is_dir():
            files.append(str(item))  # a missing or bad file becomes a row with its error
            continue
        found = []
        for folder, dirs, names in os.walk(item):
            found += [os.path.join(folder, n) for n in dirs + names
                      if os.path.splitext(n)[1].lower() in AUDIO_EXTENSIONS]
        files += sorted(found)
    return files


def shown(path):
    """A path on one line of a table: ``repr``'s escapes for a newline or a
    control character, the path itself otherwise."""
    return path if path.isprintable() else repr(path)[1:-1]
