"""An exported model, loaded and run with numpy, soundfile, soxr and LiteRT."""

import os
import threading

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ..exceptions import ModelFileError, ParameterError
from ..io._decode import load_audio
from ._bundle import read_bundle
from ._frontend import FrontEnd
from ._records import (
    check_windowing,
    classify_windows,
    file_predictions,
    load_or_error,
    stream_windows,
)

__all__ = ["BundleModel", "load"]

_BATCH = 32  # files read (and held as waveforms) at a time


class BundleModel:
    """A classifier loaded from a bundle that :func:`sk_cry.export` wrote.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, in the order of the probability columns.
    sr, duration, max_bandwidth :
        How the fitted pipeline's loader read files: files are read the same way.
    sha256 : str
        SHA-256 of the network (the model's identity).
    sk_cry_version : str
        The sk_cry that exported it.
    """

    def __init__(self, manifest, model, network, arrays):
        loader = model["loader"]
        self.sr, self.duration = int(loader["sr"]), float(loader["duration"])
        self.max_bandwidth = loader["max_bandwidth"]
        self.classes_ = np.asarray(model["classes"])
        self.sha256 = manifest["network_sha256"]
        self.sk_cry_version = manifest["sk_cry_version"]
        self._front_end = FrontEnd(model["front_end"], arrays,
                                   int(round(self.sr * self.duration)))
        interpreter = Interpreter(model_content=network, num_threads=1)
        self._run = interpreter.get_signature_runner()
        self._lock = threading.Lock()  # the front end and the interpreter: one call at a time

    def __repr__(self):
        return (f"<BundleModel: classes {self.classes_.tolist()}, {self.duration:g} s "
                f"at {self.sr} Hz, network {self.sha256[:12]}>")

    def _fitted(self, X):
        """Float waveforms ``X`` as ``(n, round(sr * duration))`` float32, cut or
        padded."""
        n = int(round(self.sr * self.duration))
        waves = np.atleast_2d(X).astype(np.float32, copy=False)
        if waves.ndim != 2:
            raise ParameterError(f"waveforms must be 1-D or 2-D, got shape {X.shape}")
        if not np.all(np.isfinite(waves)):
            raise ParameterError("waveforms hold NaN or infinite samples")
        fitted = np.zeros((waves.shape[0], n), np.float32)
        fitted[:, :min(n, waves.shape[1])] = waves[:, :n]
        return fitted

    def _proba(self, waves):
        """Probabilities of ``(n, n_samples)`` float32 waveforms, one clip at a
        time through the front end's buffers and the interpreter (both serve one
        call at a time)."""
        out = np.empty((len(waves), len(self.classes_)), np.float32)
        with self._lock:
            for i, clip in enumerate(waves):
                inputs = self._front_end(clip)
                (row,) = self._run(**{f"input_{k}": x for k, x in
                                      enumerate(inputs)}).values()
                out[i] = row[0]
        return out

    def predict_proba(self, X):
        """Class probabilities of each clip.

        Parameters
        ----------
        X : list of paths, or ndarray of shape (n_clips, n_samples) or (n_samples,)
            Files are read as the pipeline's loader read them (the first
            ``duration`` seconds, padded if shorter); waveforms must be mono
            float at ``sr`` and are cut or padded to ``duration``.

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes), float32

        Raises
        ------
        AudioLoadError
            For the first file that cannot be read (the message names it).
        """
        if isinstance(X, np.ndarray) and X.dtype.kind == "f":
            return self._proba(self._fitted(X))
        if isinstance(X, (str, os.PathLike)):
            raise ParameterError(f"X must be a list of paths, got the single path {X!r}; "
                                 "pass [path]")
        paths = list(X)
        out = np.empty((len(paths), len(self.classes_)), np.float32)
        for i in range(0, len(paths), _BATCH):  # _BATCH waveforms in memory at a time
            out[i:i + _BATCH] = self._proba(np.stack([
                load_audio(p, sr=self.sr, duration=self.duration,
                           max_bandwidth=self.max_bandwidth) for p in paths[i:i + _BATCH]]))
        return out

    def predict(self, X):
        """The most probable class of each clip (see :meth:`predict_proba`)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def predict_files(self, paths):
        """One :class:`FilePrediction` per path, in order, as
        :func:`sk_cry.predict_files` gives for a pipeline: a file that cannot be
        read is a record with its ``error``, a clip below -60 dBFS one with
        ``silent=True``; every other file is classified (its first ``duration``
        seconds)."""
        paths = [str(p) for p in paths]
        params = dict(sr=self.sr, duration=self.duration, max_bandwidth=self.max_bandwidth)
        return [record for i in range(0, len(paths), _BATCH)
                for record in file_predictions(
                    paths[i:i + _BATCH], [load_or_error(p, **params)
                                          for p in paths[i:i + _BATCH]],
                    self._proba, self.classes_)]

    def predict_windows(self, paths, *, window=None, hop=None):
        """Classify recordings of any length window by window.

        Each file is read in blocks, never whole: windows of ``window`` seconds
        every ``hop`` seconds (and one more that ends with the recording, so
        every sample is heard). Windows below -60 dBFS are reported silent.

        Parameters
        ----------
        paths : sequence of str or path-like
        window : float or None, default=None
            Seconds; at most ``duration`` (None: ``duration``); shorter windows
            are padded as short clips are.
        hop : float or None, default=None
            Seconds between window starts (None: half a window).

        Returns
        -------
        recordings : list of Recording
            One per path, in order: the windows (start, label, probabilities,
            silent) and the aggregate (the mean probabilities of the windows
            that are not silent); a file that cannot be read has its ``error``.
        """
        window, hop = check_windowing(window, hop, self.duration)
        return [classify_windows(p, self._proba, self.classes_, sr=self.sr,
                                 duration=self.duration, window=window, hop=hop,
                                 max_bandwidth=self.max_bandwidth) for p in paths]

    def listen(self, source=None, *, window=None, hop=None):
        """Classify live audio window by window, as each window's audio arrives.

        Parameters
        ----------
        source : (rate, blocks) or None, default=None
            Where the audio comes from: :func:`sk_cry.runtime.microphone`
            (the default input device when None; ``pip install
            "sk-cry[listen]"``), :func:`sk_cry.runtime.played` (a file at the
            pace it was recorded), or any sample rate and iterator of mono
            float32 blocks.
        window, hop : float or None
            As in :meth:`predict_windows`.

        Yields
        ------
        window : Window
            Start (seconds since listening began), label and probabilities, or
            ``silent``; one per window, until the source ends.
        """
        from ._sources import microphone

        window, hop = check_windowing(window, hop, self.duration)
        source = microphone() if source is None else source
        yield from stream_windows(source, self._proba, self.classes_, sr=self.sr,
                                  duration=self.duration, window=window, hop=hop,
                                  max_bandwidth=self.max_bandwidth)


def load(path):
    """Load a bundle written by :func:`sk_cry.export`.

    Every member is checked against the SHA-256 in the bundle's manifest before
    anything runs; the bundle holds no pickle.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, altered, or of an unknown format
        version.
    """
    manifest, model, network, arrays = read_bundle(path)
    try:
        return BundleModel(manifest, model, network, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a usable sk_cry bundle: {exc!r}") from exc
