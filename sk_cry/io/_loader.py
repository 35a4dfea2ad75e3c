"""Decode audio files (or accept waveforms) into fixed-length mono float32 rows."""

import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from ..core import DURATION, SR
from ..exceptions import AudioLoadError
from ._decode import finish_into, load_file_into

__all__ = ["AudioLoader"]

_CHUNK = 16  # clips per parallel task


def _is_path(item):
    return isinstance(item, (str, os.PathLike, np.str_))


def _one_column(X, columns):
    """The clips of a 2-D non-numeric ``X``: its only column, or ``X`` unchanged.

    A one-column DataFrame, or an ``(n, 1)`` array, of paths (or of waveform
    objects) becomes its column: iterated as rows, each clip would be a 1-element
    array, neither a path nor a waveform. Several columns are refused when ``X``
    is a DataFrame or its first row holds a path (paths beside labels, say); a 2-D
    object array of numbers stays what it was, one waveform per row.
    """
    if X.shape[1] == 1:
        return X[:, 0]
    row = X[0] if X.shape[0] else []
    strings = [j for j, v in enumerate(row) if _is_path(v)]
    if columns is None and not strings:
        return X
    # suggest the column that looks like file names ("a.wav") over labels ("hungry")
    named = [j for j in strings if os.path.splitext(os.fspath(row[j]))[1]]
    j = (named or strings or [0])[0]
    if columns is not None:
        names = list(columns)
        shown = ", ".join(map(repr, names[:5])) + (", ..." if len(names) > 5 else "")
        fix = f"X[{names[j]!r}]"
    else:
        shown, fix = "", f"X[:, {j}]"
    raise AudioLoadError(
        "X", f"has {X.shape[1]} columns{f' ({shown})' if shown else ''} and is not "
        f"numeric waveforms; pass only the column of file paths, e.g. {fix}",
    )


class AudioLoader(TransformerMixin, BaseEstimator):
    """Turn audio file paths (or raw waveforms) into fixed-length waveforms.

    The first step of every sk_cry pipeline, so that ``X`` can be a plain list of
    file paths, or a column of them (a pandas Series or one-column DataFrame).
    Stateless: ``fit`` only checks the parameters.

    Parameters
    ----------
    sr : int, default=16000
        Output sampling rate in Hz. Files at other rates are resampled.
        Waveforms passed directly are taken to be at this rate already.
    duration : float, default=6.0
        Output length in seconds (the reference clips are 6 s). Only the first
        ``duration`` seconds of a longer file are read; shorter clips are padded at
        the end with silence.
    max_bandwidth : float or None, default=None
        If set, remove all content above this many Hz, so that clips recorded at
        different rates share one band (``4000`` matches 8 kHz audio). A guard
        against models that learn the recording device instead of the cry.
    strict : bool, default=False
        If True, a truncated file (fewer samples than its header declares, within
        the part loaded) raises :class:`~sk_cry.AudioLoadError`; by default it is
        padded with silence and a :class:`~sk_cry.exceptions.TruncatedAudioWarning`
        names it.
    n_jobs : int or None, default=None
        Number of files decoded in parallel, on threads (joblib semantics: ``-1``
        all cores).

    Notes
    -----
    Files are read as :func:`load_audio` reads them: regular files only, at 1,000
    to 384,000 Hz with 1 to 32 channels, headers checked; anything else raises
    :class:`~sk_cry.AudioLoadError` naming the file (see its Raises section).

    See Also
    --------
    load_audio : The function that decodes one file.
    sk_cry.features.MelExtractor : The usual next step.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_cry import AudioLoader
    >>> AudioLoader(sr=100, duration=1.0).fit_transform([np.ones(30)]).shape
    (1, 100)
    """

    _parameter_constraints = {
        "sr": [Interval(Integral, 1, None, closed="left")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "max_bandwidth": [Interval(Real, 0, None, closed="neither"), None],
        "strict": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, sr=SR, duration=DURATION, *, max_bandwidth=None, strict=False,
                 n_jobs=None):
        self.sr = sr
        self.duration = duration
        self.max_bandwidth = max_bandwidth
        self.strict = strict
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        """Check the parameters and the shape of ``X``; nothing is learned.

        Parameters
        ----------
        X : sequence of paths or waveforms, one-column DataFrame, or None
            As in :meth:`transform`; only its structure is checked (files are
            read by ``transform``).
        y : ignored

        Returns
        -------
        self : AudioLoader
        """
        self._validate_params()
        if X is not None:
            self._as_items(X)
        return self

    def transform(self, X):
        """Load every clip of ``X``.

        Parameters
        ----------
        X : sequence of str or path-like, or of 1-D arrays, or 2-D array
            File paths: a list, tuple, 1-D array or pandas Series of ``str`` or
            ``pathlib.Path``, or one column of them (a one-column DataFrame or an
            array of shape ``(n_clips, 1)``). Or waveforms already at ``sr``: a
            list of 1-D arrays, or a 2-D numeric array with one per row.

        Returns
        -------
        waveforms : ndarray of shape (n_clips, round(sr * duration)), dtype float32

        Raises
        ------
        AudioLoadError
            For a clip that cannot be loaded (with threads, the first to fail),
            naming it: see :func:`load_audio`.
        """
        self._validate_params()
        items = self._as_items(X)
        kwargs = dict(sr=self.sr, max_bandwidth=self.max_bandwidth)
        out = np.empty((len(items), self.n_samples), np.float32)

        def fill(start):
            for i in range(start, min(start + _CHUNK, len(items))):
                self._load_into(i, items[i], out[i], kwargs, self.strict)

        # threads: libsndfile and soxr work outside the GIL, and each row is
        # written in place instead of being pickled back from another process
        starts = range(0, len(items), _CHUNK)
        if len(starts) == 1:  # one task: skip joblib's set-up (a one-clip prediction)
            fill(0)
        else:
            Parallel(n_jobs=self.n_jobs, require="sharedmem")(
                delayed(fill)(s) for s in starts)
        return out

    @property
    def n_samples(self):
        """Samples per output row: ``round(sr * duration)``."""
        return int(round(self.sr * self.duration))

    @staticmethod
    def _as_items(X):
        """Check the structure of ``X`` (not the files) and list its clips."""
        if _is_path(X):
            raise AudioLoadError(
                X, "X must be a list of paths, not a single path; wrap it: [path]"
            )
        if sp.issparse(X):
            raise AudioLoadError("X", "sparse input is not audio; pass a dense array")
        # A DataFrame is recognised by its columns, as scikit-learn does, so that
        # pandas need not be installed (or imported) here
        columns = getattr(X, "columns", None)
        if hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
            X = np.asarray(X)
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "OUS":
            X = _one_column(X, columns)
        if isinstance(X, np.ndarray) and X.dtype.kind not in "OUS":
            if X.dtype.kind == "c":
                raise AudioLoadError(
                    "X", "Complex data not supported: audio samples are real numbers"
                )
            if X.ndim != 2:
                raise AudioLoadError(
                    "X", f"a numeric X must be 2-D (one waveform per row), got shape "
                    f"{X.shape}; Reshape your data with X.reshape(1, -1) for a "
                    "single clip",
                )
            if X.shape[1] == 0:
                raise AudioLoadError(
                    "X", f"0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                    "required: the waveforms hold no samples",
                )
            bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
            if bad.size:
                raise AudioLoadError(
                    f"X[{bad[0]}]", "contains NaN or infinite samples; drop or repair it"
                )
        try:
            items = list(X)
        except TypeError as exc:
            raise AudioLoadError(
                "X", f"expected a sequence of file paths or waveforms, got "
                f"{type(X).__name__}",
            ) from exc
        if not items:
            raise AudioLoadError("X", "holds no clips (0 samples); pass at least one")
        return items

    @staticmethod
    def _load_into(i, item, row, kwargs, strict=False):
        if _is_path(item):
            load_file_into(item, row, strict=strict, **kwargs)
            return
        try:
            y = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise AudioLoadError(
                f"X[{i}]", f"is neither a file path nor a numeric waveform "
                f"({type(item).__name__})",
            ) from exc
        if y.ndim != 1:
            raise AudioLoadError(
                f"X[{i}]", f"a waveform must be 1-D, got shape {y.shape}; "
                "mix channels to mono first",
            )
        finish_into(y, row, f"X[{i}]", orig_sr=kwargs["sr"], **kwargs)

    def __setstate__(self, state):
        # a loader pickled before ``strict`` existed (issue 13) loads with its default
        state.setdefault("strict", False)
        super().__setstate__(state)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``sample0``, ``sample1``, ..."""
        return np.asarray([f"sample{i}" for i in range(self.n_samples)], dtype=object)

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
