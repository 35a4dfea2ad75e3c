"""An exported model, loaded and run with numpy, soundfile, soxr and LiteRT."""

import os
import threading

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from ..core import EVENT_HOP, FrameWindows, best_rfft
from ..exceptions import AudioLoadError, ModelFileError, ParameterError, SkCryError
from ..io import band_limit, file_blocks, load_audio, resample_blocks
from ._bundle import read_bundle
from ._detect import (
    Detection,
    ReasonModel,
    check_rules,
    detect_windows,
    positive_column,
    track,
)
from ._frontend import FrontEnd
from ._records import (
    check_windowing,
    classify_windows,
    file_predictions,
    is_silent,
    load_or_error,
    on_frame_grid,
    stream_windows,
    to_length,
)

__all__ = ["BundleModel", "load"]

_BATCH = 32  # files read (and held as waveforms) at a time


class BundleModel:
    """A classifier loaded from a bundle that :func:`sk_cry.export` wrote: a CNN
    run by LiteRT, or an SVM run by numpy.

    Attributes
    ----------
    kind : {"cnn", "svm"}
    classes_ : ndarray
        Class labels, in the order of the probability columns.
    sr, duration, max_bandwidth :
        How the fitted pipeline's loader read files: files are read the same way.
    sha256 : str
        The model's identity: the SHA-256 of its members' hashes (of its
        network, in format version 1).
    sk_cry_version : str
        The sk_cry that exported it.
    detection : dict
        A detector's settings as exported (``hop`` in seconds, ``rules`` of
        :class:`~sk_cry.core.EventRules`); empty for a plain classifier.
    quantization : {None, "int8"}
        How a CNN's network was exported: None for float32 weights, ``"int8"``
        for a network quantized after training (``export(quantize="int8")``).
    """

    def __init__(self, manifest, model, network, arrays):
        loader = model["loader"]
        self.sr, self.duration = int(loader["sr"]), float(loader["duration"])
        self.max_bandwidth = loader["max_bandwidth"]
        self.classes_ = np.asarray(model["classes"])
        # format version 1 named the model by its network's hash
        self.sha256 = manifest.get("model_sha256") or manifest["network_sha256"]
        self.sk_cry_version = manifest["sk_cry_version"]
        self.detection = dict(model.get("detection") or {})
        self.kind = model["kind"]
        self.quantization = model.get("quantization")
        n_samples = int(round(self.sr * self.duration))
        if self.kind == "cnn":
            front_end = FrontEnd(model["front_end"], arrays, n_samples)
            run = Interpreter(model_content=network, num_threads=1).get_signature_runner()

            def network_of(inputs):
                (row,) = run(**{f"input_{k}": x for k, x in enumerate(inputs)}).values()
                return row[0]

            self._of_clip = lambda clip: network_of(front_end(clip))
            self._of_db = lambda db: network_of(front_end.from_db(db))
            spectral = model["front_end"]
        elif self.kind == "svm":
            from ._svm import SVMEngine

            engine = SVMEngine(model["svm"], arrays, n_samples)
            self._of_clip, self._of_db, spectral = engine, engine.from_db, model["svm"]
        else:
            raise ValueError(f"unknown model kind {self.kind!r}")
        self._stft = dict(n_fft=int(spectral["n_fft"]),
                          hop_length=int(spectral["hop_length"]),
                          stft_window=arrays["window"].astype(np.float32),
                          mel_basis=arrays["mel_basis"].astype(np.float32))
        self._frame = (self._stft["n_fft"], self._stft["hop_length"], self.sr)
        self._lock = threading.Lock()  # the engine's buffers: one call at a time

    def __repr__(self):
        return (f"<BundleModel: {self.kind}, classes {self.classes_.tolist()}, "
                f"{self.duration:g} s at {self.sr} Hz, model {self.sha256[:12]}>")

    def _clips(self, X):
        """Float waveforms ``X`` as ``(n, round(sr * duration))`` float32, as the
        pipeline's loader takes waveforms: band-limited whole (with a
        ``max_bandwidth``), then cut or padded."""
        n = int(round(self.sr * self.duration))
        waves = np.atleast_2d(X).astype(np.float32, copy=False)
        if waves.ndim != 2:
            raise ParameterError(f"waveforms must be 1-D or 2-D, got shape {X.shape}")
        if not np.all(np.isfinite(waves)):
            raise ParameterError("waveforms hold NaN or infinite samples")
        if self.max_bandwidth is not None:  # a sample longer or shorter, maybe
            waves = [band_limit(w, self.sr, self.max_bandwidth) for w in waves]
        return to_length(waves, n)

    def _proba(self, waves):
        """Probabilities of ``(n, n_samples)`` float32 waveforms, one clip at a
        time through the front end's buffers and the interpreter (both serve one
        call at a time)."""
        out = np.empty((len(waves), len(self.classes_)), np.float32)
        with self._lock:
            for i, clip in enumerate(waves):
                out[i] = self._of_clip(clip)
        return out

    def predict_proba(self, X):
        """Class probabilities of each clip.

        Parameters
        ----------
        X : list of paths, or ndarray of shape (n_clips, n_samples) or (n_samples,)
            Files are read as the pipeline's loader read them (the first
            ``duration`` seconds, padded if shorter); waveforms must be mono
            float at ``sr`` and are band-limited (``max_bandwidth``) and cut
            or padded to ``duration``, as the loader does.

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes), float32

        Raises
        ------
        AudioLoadError
            For the first file that cannot be read (the message names it).
        """
        if isinstance(X, np.ndarray) and X.dtype.kind == "f":
            return self._proba(self._clips(X))
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

    def predict_files(self, paths, *, strict=False):
        """One :class:`FilePrediction` per path, in order, as
        :func:`sk_cry.predict_files` gives for a pipeline: a file that cannot be
        read is a record with its ``error``, a clip below -60 dBFS one with
        ``silent=True``, a file that holds less than its header declares one
        with ``truncated`` (an ``error`` with ``strict=True``); every other
        file is classified (its first ``duration`` seconds)."""
        paths = [str(p) for p in paths]
        params = dict(sr=self.sr, duration=self.duration, max_bandwidth=self.max_bandwidth,
                      strict=bool(strict))
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
        window, hop = check_windowing(window, hop, self.duration, frame=self._frame)
        return [classify_windows(p, self._proba, self.classes_, sr=self.sr,
                                 duration=self.duration, window=window, hop=hop,
                                 max_bandwidth=self.max_bandwidth) for p in paths]

    def _settings(self, hop, rules, reason, positive):
        """``(hop, rules, ReasonModel or None, column)``: what was asked, else
        what the bundle says, else the defaults (hop: ``EVENT_HOP`` windows)."""
        hop = self.detection.get("hop", self.duration * EVENT_HOP) if hop is None else hop
        _, hop = check_windowing(None, hop, self.duration, frame=self._frame)
        hop = on_frame_grid(hop, frame=self._frame)
        rules = check_rules(self.detection.get("rules") if rules is None else rules)
        reason = None if reason is None else ReasonModel(reason, self.sr)
        return float(hop), rules, reason, positive_column(self.classes_, positive)

    def _scored(self, blocks, hop, column, stats):
        """``(start, probability or None, wave)`` of every window of ``blocks``
        (mono float32 at ``sr``), the windows sharing one STFT; ``stats``, a
        dict, receives the ``duration`` when the blocks end."""
        frames = FrameWindows(sr=self.sr, window=self.duration, hop=hop, rfft=best_rfft(),
                              **self._stft)
        for start, db, wave in frames.cut(blocks):
            if is_silent(wave):
                yield start, None, wave
                continue
            with self._lock:
                p = float(self._of_db(db)[column])
            yield start, p, wave
        stats["duration"] = frames.duration

    def detect(self, paths, *, hop=None, rules=None, reason=None, positive=None,
               windows=False):
        """Find cry events in recordings of any length.

        Each file is read in blocks; windows of the model's ``duration`` start
        every ``hop`` seconds (and one more ends with the recording) and share
        one STFT (:class:`~sk_cry.core.FrameWindows`); windows below -60 dBFS
        are silent. The windows' probabilities of the ``positive`` class become
        events by ``rules`` (:class:`~sk_cry.core.EventRules`: threshold with
        hysteresis, n-of-m voting, minimum duration, merge gap). A recording
        shorter than the voting span is judged on the windows it has.

        Parameters
        ----------
        paths : sequence of str or path-like
        hop : float or None, default=None
            Seconds between window starts; None: the bundle's ``detection``
            settings, else a quarter of a window. Rounded to a whole number of
            STFT hops (0.5 s is 0.512 s at 16 kHz and hop 512), so that the
            windows are those a pipeline's :func:`sk_cry.detect` cuts as clips.
        rules : EventRules, dict or None, default=None
            None: the bundle's ``detection`` settings, else ``EventRules()``.
        reason : BundleModel, fitted pipeline or None, default=None
            A reason model (e.g. hungry / other) at the same sample rate: each
            event gets its mean probabilities over the event's windows.
        positive : str or None, default=None
            The class that means crying: ``"cry"`` if the model has it, else its
            last class.
        windows : bool, default=False
            Keep every window's start and probability in each record's
            ``windows`` (the probability over time, e.g. to plot or to
            calibrate the rules).

        Returns
        -------
        detections : list of Detection
            One per path, in order, with its ``events``; a file that cannot be
            read has its ``error``.

        Examples
        --------
        >>> from sk_cry import runtime
        >>> detector = runtime.default_detector()
        >>> (night,) = detector.detect(["night.wav"])          # doctest: +SKIP
        >>> [(e.start, e.end, round(e.peak, 2)) for e in night.events]  # doctest: +SKIP
        [(612.0, 631.5, 0.98)]
        """
        hop, rules, reason, column = self._settings(hop, rules, reason, positive)
        return [self._detect_one(p, hop, rules, reason, column, windows) for p in paths]

    def _detect_one(self, path, hop, rules, reason, column, windows):
        try:
            rate, blocks = file_blocks(path)
        except SkCryError as exc:
            return Detection(os.fspath(path), error=f"{type(exc).__name__}: {exc}")
        blocks = resample_blocks(blocks, rate, self.sr, self.max_bandwidth)
        stats = {}
        record = detect_windows(path, self._scored(blocks, hop, column, stats), rules,
                                window=self.duration, reason=reason,
                                stats=lambda: stats["duration"], keep_windows=windows)
        if record.error is None and not record.duration:
            error = AudioLoadError(path, "holds no samples (empty audio)")
            record.error = f"{type(error).__name__}: {error}"
        return record

    def listen_events(self, source=None, *, hop=None, rules=None, reason=None,
                      positive=None, on_window=None):
        """Cry events in live audio, as they start and end.

        The same windows, rules and events as :meth:`detect` gives for a
        recording of the same audio.

        Parameters
        ----------
        source : (rate, blocks) or None, default=None
            As in :meth:`listen`.
        hop, rules, reason, positive :
            As in :meth:`detect`.
        on_window : callable or None, default=None
            Called as ``on_window(start, probability)`` for every window
            (probability None when silent), before the updates it causes.

        Yields
        ------
        update : ("start" or "end", Event)
            "start" once an event has lasted ``rules.min_duration`` (its end may
            still grow), "end" with the final event.
        """
        from ._sources import microphone

        hop, rules, reason, column = self._settings(hop, rules, reason, positive)
        rate, blocks = microphone() if source is None else source
        blocks = resample_blocks(blocks, rate, self.sr, self.max_bandwidth)
        stats = {}
        updates = track(self._scored(blocks, hop, column, stats), rules,
                        window=self.duration, reason=reason, on_window=on_window)
        try:
            while True:
                yield next(updates)
        except StopIteration as stop:
            yield from stop.value.finish(stats.get("duration"))

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

        window, hop = check_windowing(window, hop, self.duration, frame=self._frame)
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
