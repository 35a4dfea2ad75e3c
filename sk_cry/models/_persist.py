"""Saving and loading fitted models: joblib with a checked header.

A model file is a short plain header and a joblib payload::

    line 1   b"sk_cry model\\n"                       the magic
    line 2   one line of UTF-8 JSON, e.g.
             {"format": 1, "model": "sk_cry.models._pipelines.CryPipeline",
              "versions": {"sk_cry": "0.1.0", "scikit-learn": "1.9.1",
                           "numpy": "2.4.6"},
              "payload_bytes": 91234, "payload_sha256": "<64 hex digits>"}
    rest     payload_bytes bytes: joblib.dump(model), a pickle

``head -2 model.skcry`` shows the header without loading anything. Models that
hold the CNN also record ``keras``, ``tensorflow`` and ``scikeras``.

Loading runs code from the file (it is a pickle): the SHA-256 catches a damaged
or truncated file, not a changed one, since whoever can rewrite the payload can
rewrite its hash too. Only load files from a source you trust.
"""

import hashlib
import io
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import joblib
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ModelFileError, ModelVersionWarning

__all__ = ["ModelFileError", "ModelVersionWarning", "load", "save"]

MAGIC = b"sk_cry model\n"
FORMAT = 1
# a header is a few hundred bytes; the cap keeps a file that only starts like
# ours from being read whole in search of a newline
_MAX_HEADER = 64 * 1024
# name in the header -> import name; the heavy ones only when the model needs them
_ALWAYS = {"sk_cry": "sk_cry", "scikit-learn": "sklearn", "numpy": "numpy"}
_CNN = {"keras": "keras", "tensorflow": "tensorflow", "scikeras": "scikeras"}
# line 2's required fields and their JSON types
_FIELDS = {"format": (int, "an integer"), "versions": (dict, "an object"),
           "payload_bytes": (int, "an integer"), "payload_sha256": (str, "a string")}


def save(model, path):
    """Save a fitted model (e.g. a pipeline) to one file, with a record of versions.

    The file holds a one-line JSON header (the sk_cry, scikit-learn and numpy
    versions, and Keras, TensorFlow and scikeras when the model holds the CNN;
    the payload's length and SHA-256) and then ``joblib.dump(model)``. The file
    is written beside ``path`` and renamed into place, so an interrupted save
    leaves no half-written model under ``path``.

    Parameters
    ----------
    model : fitted scikit-learn estimator
        Typically a :class:`~sk_cry.models.CryPipeline` from
        :func:`~sk_cry.make_svm_pipeline` or :func:`~sk_cry.make_cnn_pipeline`;
        for a pipeline, its last step must be fitted.
    path : str or path-like
        The file to write (replaced if it exists); ``.skcry`` is a good suffix,
        since ``joblib.load`` cannot read it.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted: there is nothing to save that
        ``make_svm_pipeline()`` would not build again.

    See Also
    --------
    load : Read the file back, checking the payload before unpickling it.

    Examples
    --------
    >>> import tempfile
    >>> import sk_cry
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier().fit([[0], [1], [1]], [0, 1, 1])
    >>> path = sk_cry.save(model, tempfile.mkdtemp() + "/dummy.skcry")
    >>> sk_cry.load(path).predict([[5]])
    array([1])
    """
    path = Path(path)
    try:
        check_is_fitted(model)
    except NotFittedError as error:
        raise NotFittedError(
            f"not saving {type(model).__name__} to {path}: it is not fitted; call "
            "fit(X, y) first"
        ) from error
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    payload = buffer.getvalue()
    versions = {name: _running_version(module) for name, module in _ALWAYS.items()}
    # The CNN's versions go in only when the payload names keras or tensorflow
    # modules (a pickle stores every class it needs by module name): an SVM saved
    # in a process that happens to have TensorFlow loaded then records no
    # TensorFlow, and loading it elsewhere warns about nothing it does not use.
    if b"keras" in payload or b"tensorflow" in payload:
        versions.update({name: _running_version(module) for name, module in _CNN.items()
                         if module in sys.modules})
    header = {
        "format": FORMAT,
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "versions": versions,
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(json.dumps(header).encode() + b"\n")
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path):
    """Load a model written by :func:`save`, checking it before unpickling.

    Loading runs code from the file: the payload is a pickle, and a pickle can
    do anything the running user can. The SHA-256 in the header detects a
    damaged or truncated file; it does not detect a changed one, since whoever
    can rewrite the file can rewrite the hash as well. **Only load files from a
    source you trust.**

    Before anything is unpickled, the payload's length and SHA-256 must be the
    ones in the header. Then each recorded version is compared with the running
    one: any that differ are named in one :class:`ModelVersionWarning` (the
    model may fail to load, or predict differently).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    model : object
        The fitted model, as it was saved.

    Raises
    ------
    ModelFileError
        If the file is not an sk_cry model file (a plain joblib or pickle file
        included), its header is damaged or from a newer sk_cry, or its payload
        has another length or SHA-256 than the header records.

    Warns
    -----
    ModelVersionWarning
        If sk_cry, scikit-learn, numpy (or, for the CNN, Keras, TensorFlow or
        scikeras) differ from the versions the file was saved with.

    See Also
    --------
    save
    """
    path = Path(path)
    with open(path, "rb") as f:
        header = _read_header(f, path)
        payload = f.read(header["payload_bytes"] + 1)
    if len(payload) != header["payload_bytes"]:
        state = "truncated" if len(payload) < header["payload_bytes"] else "extended"
        raise ModelFileError(
            f"{path} is {state}: its header records a payload of "
            f"{header['payload_bytes']} bytes, the file holds "
            f"{'at least ' if state == 'extended' else ''}{len(payload)} after the header; "
            "nothing was unpickled. Save the model again, or copy the file again from its source"
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header["payload_sha256"]:
        raise ModelFileError(
            f"{path} is damaged: the SHA-256 of its payload is {digest}, its header "
            f"records {header['payload_sha256']}; nothing was unpickled. Save the "
            "model again, or copy the file again from its source"
        )
    _warn_about_versions(header["versions"], path)
    return joblib.load(io.BytesIO(payload))


def _read_header(f, path):
    """The header of an open model file, checked; ``f`` is left at the payload."""
    start = f.read(len(MAGIC))
    if start != MAGIC:
        raise ModelFileError(
            f"{path} is not an sk_cry model file (it does not start with {MAGIC!r}; "
            "sk_cry.save writes those). If it is a joblib or pickle file you made or "
            "trust, joblib.load reads it, but loading runs code from the file (it is a "
            "pickle): load only files from a source you trust"
        )
    line = f.readline(_MAX_HEADER)
    if not line.endswith(b"\n"):
        raise _damaged_header(path, "the file ends inside it" if len(line) < _MAX_HEADER
                              else f"no end of line in its first {_MAX_HEADER} bytes")
    try:
        header = json.loads(line)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise _damaged_header(path, f"not JSON: {error}") from error
    if not isinstance(header, dict):
        raise _damaged_header(path, "not a JSON object")
    for field, (kind, what) in _FIELDS.items():
        if field not in header:
            raise _damaged_header(path, f"no {field}")
        if type(header[field]) is not kind:  # not isinstance: True is an int
            raise _damaged_header(path, f"{field} is {header[field]!r}, not {what}")
    if header["payload_bytes"] < 0:
        raise _damaged_header(path, f"payload_bytes is {header['payload_bytes']}")
    if header["format"] > FORMAT:
        raise ModelFileError(
            f"{path} is in sk_cry model format {header['format']}; this sk_cry reads "
            f"format {FORMAT} and older: upgrade sk_cry to load it"
        )
    return header


def _damaged_header(path, reason):
    return ModelFileError(
        f"{path} has a damaged header ({reason}); nothing was unpickled. Save the "
        "model again, or copy the file again from its source"
    )


def _running_version(module):
    """The installed version of ``module`` (an import name), without importing it
    if it is not loaded yet (TensorFlow takes seconds); None if not installed."""
    if module == "sk_cry":
        from .. import __version__

        return __version__
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", None)
    from importlib import metadata

    # the distribution may be named otherwise (tensorflow-cpu, tensorflow-macos)
    for dist in metadata.packages_distributions().get(module, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _warn_about_versions(saved, path):
    differ = []
    for name, version in saved.items():
        module = {**_ALWAYS, **_CNN}.get(name, name)
        running = _running_version(module)
        if running != version:
            differ.append(f"{name} {version} (running {running or 'not installed'})")
    if differ:
        warnings.warn(
            f"{path} was saved with {', '.join(differ)}; the model may fail to load "
            "or predict differently. Install the saved versions, or fit and save the "
            "model again with the running ones",
            ModelVersionWarning, stacklevel=3,
        )
