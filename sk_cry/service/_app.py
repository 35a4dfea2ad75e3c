"""The service's routes (:func:`make_app`):

- ``POST /predict``: the class of an uploaded recording, window by window;
- ``POST /detect``: its cry events, and the probability of a cry in each window;
- ``GET /health``: the model's identity and detection settings;
- ``GET /``: a page that uploads a file or records from the microphone, and
  plots the probability of a cry over time.

Every upload is bounded in bytes, time and work, so that a few clients cannot
take the machine (defaults in brackets, all arguments of :func:`make_app`):

- bytes: the upload streams to a temporary file, never whole in memory, and is
  refused past ``max_upload`` bytes [20 MB] (413; ``_upload.py``);
- time: its body must have arrived ``body_timeout`` seconds [30] after the
  request began, else 408 and the connection is closed (and, on
  :func:`run_server`, its headers ``header_timeout`` seconds [30] after the
  connection opened or was last answered, else it is closed);
- work: at most ``max_seconds`` of audio [600] are decoded, and at most as
  many samples as that many seconds of 48-kHz stereo hold: refused from the
  header before decoding where the format declares its length, and counted while
  decoding anyway (413; ``_decode.py``). ``/detect`` counts the upload so
  before :meth:`~sk_cry.runtime.BundleModel.detect` decodes it again with the
  same reader and block size: the same frames, so no more than were counted;
- at once: at most ``max_concurrent`` uploads [2] are decoded, by either route;
  one that finds every slot taken waits ``slot_wait`` seconds [10] at most,
  then gets 503 with ``Retry-After``;
- memory: an upload waits on disk (in the temporary directory: on a tmpfs, that
  is memory too), and a decoding slot holds a few MB (a block of 16,384 frames
  for ``/predict``, 65,536 for ``/detect``, of up to 32 channels; the
  resampler's state; one window; ``/detect``'s answer, 16 bytes a window),
  a connection uvicorn's 64-KB buffer: resident memory stays near the idle
  server's whatever the number of uploads at once.

A client that goes away is one line on the ``sk_cry.service`` logger, not a
traceback.
"""

import collections
import logging
import math
import tempfile
from importlib import resources
from pathlib import Path

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..core import PADDING_SLACK
from ..exceptions import ParameterError
from ..runtime import check_rules, positive_column
from ._decode import as_upload, decode_within, recording_warnings
from ._refusal import Refusal
from ._upload import client_of, receive

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_CONCURRENT", "DEFAULT_MAX_SECONDS",
           "DEFAULT_MAX_UPLOAD", "DEFAULT_SLOT_WAIT", "make_app"]

#: Bytes an upload may hold unless told otherwise: 20 MB is 10 minutes of 16-kHz
#: 16-bit mono WAV, more than a cry needs.
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024
#: Seconds of audio a request may hold: bytes do not bound work (a 180-KB FLAC
#: holds an hour of silence, a 20-MB 8-bit WAV at 1 kHz 5.8 hours). 10 minutes of
#: 16-kHz noise take 1.3 s with the default CNN on one core.
DEFAULT_MAX_SECONDS = 600.0
#: Requests decoded at once: one per core of the 2-core machines it is run on.
DEFAULT_MAX_CONCURRENT = 2
#: Seconds from the start of a request by which its body must have arrived: a
#: stalled client is answered 408 and its connection closed. 30 s carries 20 MB
#: at 5.6 Mbit/s.
DEFAULT_BODY_TIMEOUT = 30.0
#: Seconds a request waits for a decoding slot before 503: several maximum-size
#: requests' worth of work on each slot.
DEFAULT_SLOT_WAIT = 10.0

_log = logging.getLogger("sk_cry.service")


def _classify(model, path, *, max_seconds, window, hop):
    """``/predict``: the upload at ``path`` classified window by window, as a
    JSON-ready dict."""
    def windows_of(rate, blocks):
        return list(model.listen((rate, blocks), window=window, hop=hop))

    audio = decode_within(path, windows_of, max_seconds=max_seconds)
    windows, names = audio.value, [str(c) for c in model.classes_]
    heard = [w for w in windows if not w.silent]
    label = probabilities = None
    if heard:  # the mean over windows that are not silent, as predict_windows
        mean = np.mean([[w.probabilities[n] for n in names] for w in heard], axis=0)
        label = str(model.classes_[int(np.argmax(mean))])
        probabilities = dict(zip(names, map(float, mean)))
    return {
        "label": label, "probabilities": probabilities, "silent": not heard,
        # shorter than one window, as the loader says it
        "duration": audio.seconds,
        "padded": audio.seconds < (window or model.duration) - PADDING_SLACK,
        "windows": [{"start": w.start, "label": None if w.label is None else str(w.label),
                     "probabilities": w.probabilities, "silent": w.silent}
                    for w in windows],
        "truncated": bool(audio.notes), "warnings": audio.notes,
    }


def _detect(model, path, upload, *, max_seconds):
    """``/detect``: the cry events of the upload at ``path``, as ``sk-cry detect
    --format json`` gives them for one file, with every window's probability."""
    # Counted first, as /predict counts, with file_blocks' own block size (None):
    # model.detect then reads the same file with the same reader and blocks, so
    # it decodes the same frames, no more than were counted. The count costs a
    # quarter of the detection (measured: 0.10 s against 0.42 s for 10 minutes
    # of 16-kHz FLAC); a bounded decoded copy for model.detect to read instead
    # would take up to 230 MB of disk (600 s of 96-kHz mono float32).
    audio = decode_within(path, lambda rate, blocks: collections.deque(blocks, 0),
                          max_seconds=max_seconds, block=None,
                          done="searched for cries")
    with recording_warnings():  # the same notes again, already in audio.notes
        (record,) = model.detect([path], windows=True)
    if record.error is not None:  # not seen: the count above read it all
        raise Refusal(422, as_upload(record.error, path))
    return {**record.to_dict(), "path": upload.filename,
            "truncated": bool(audio.notes), "warnings": audio.notes}


def make_app(model, *, name=None, max_upload=DEFAULT_MAX_UPLOAD,
             max_seconds=DEFAULT_MAX_SECONDS, max_concurrent=DEFAULT_MAX_CONCURRENT,
             body_timeout=DEFAULT_BODY_TIMEOUT, slot_wait=DEFAULT_SLOT_WAIT,
             window=None, hop=None):
    """A Starlette application serving ``model``, a
    :class:`sk_cry.runtime.BundleModel`.

    Both ``POST`` routes take an audio file (multipart part ``file``, with or
    without a filename, or the raw bytes as the body), within the same limits
    and decoding slots, and answer JSON with ``truncated`` and ``warnings`` (an
    upload cut short, or whose header declares more audio than it holds: what
    was decoded is used and the loader's words are in ``warnings``) and
    ``model`` (name, sk_cry version, SHA-256, classes).

    ``POST /predict`` answers ``label``, ``probabilities`` by class name,
    ``windows`` (start, label, probabilities, silent: one per window of a long
    recording), ``duration``, ``padded`` and ``silent``.

    ``POST /detect`` answers the record ``sk-cry detect --format json`` gives
    for one file (:meth:`~sk_cry.runtime.BundleModel.detect` with the bundle's
    detection settings): ``path`` (the part's file name, or null), ``duration``,
    ``events`` (``start``, ``end``, ``peak``, ``mean``, ``reason``,
    ``reason_probabilities``), ``error`` (null), ``windows`` (``[start,
    probability of a cry or null when silent]``, one per window), and
    ``detection`` as ``/health`` gives it.

    ``GET /health`` answers ``{"status": "ok", "model": ..., "detection":
    ...}``: ``detection`` holds the ``hop`` the bundle sets (null: the
    runtime's default), the ``window`` (seconds), the event ``rules`` (every
    field of :class:`~sk_cry.core.EventRules`, ``threshold`` among them) and the
    ``positive`` class. ``GET /`` is a page that uploads a file or records a few
    seconds from the microphone, classifies it and plots its cry probability.

    Parameters
    ----------
    model : BundleModel
        Any exported bundle: a detector (``sk_cry.export(...,
        detection=...)``) or a plain classifier, whose ``"cry"`` class (else its
        last) ``/detect`` follows.
    name : str or None, default=None
        The model's name in answers.
    max_upload : int, default=DEFAULT_MAX_UPLOAD (20 MB)
        Bytes a request body may hold; more: 413.
    max_seconds : float, default=DEFAULT_MAX_SECONDS (600)
        Seconds of audio decoded per request, and as many samples as that many
        seconds of 48-kHz stereo hold; more: 413, from the header when it
        declares the length, else as soon as decoding passes it.
    max_concurrent : int, default=DEFAULT_MAX_CONCURRENT (2)
        Requests decoded at once; others wait.
    body_timeout : float, default=DEFAULT_BODY_TIMEOUT (30)
        Seconds from the start of a request by which its body must have
        arrived; later: 408, and the connection is closed.
    slot_wait : float, default=DEFAULT_SLOT_WAIT (10)
        Seconds a request waits for one of the ``max_concurrent`` slots; longer:
        503 with ``Retry-After``.
    window, hop : float or None, default=None
        ``/predict``'s, as in :meth:`~sk_cry.runtime.BundleModel.predict_windows`.

    Returns
    -------
    app : starlette.applications.Starlette
        Answers 400 to a malformed form or one without a part ``file``, 408, 413
        and 503 as above, 422 to an empty upload or audio that cannot be read
        (with the loader's message); never 500 for anything a client sends.

    Raises
    ------
    ParameterError
        If a limit is not positive, or the bundle's detection settings (hop,
        rules) are invalid.

    Examples
    --------
    >>> from starlette.testclient import TestClient
    >>> from sk_cry import runtime
    >>> from sk_cry.service import make_app
    >>> app = make_app(runtime.default_detector(), name="detector")
    >>> TestClient(app).get("/health").json()["detection"]["positive"]
    'cry'

    Serve it with :func:`~sk_cry.service.run_server` (or ``sk-cry serve``), then
    ``curl -F file=@night.wav http://127.0.0.1:8000/detect``.
    """
    for option, value in [("max_upload", max_upload), ("max_seconds", max_seconds),
                          ("max_concurrent", max_concurrent),
                          ("body_timeout", body_timeout), ("slot_wait", slot_wait)]:
        if not value > 0:
            raise ParameterError(f"{option}={value!r}: every limit of the service must "
                                 "be positive (sk-cry serve --max-upload, --max-seconds, "
                                 "--max-concurrent)")
    identity = {"name": name, "sk_cry_version": model.sk_cry_version,
                "sha256": model.sha256, "classes": [str(c) for c in model.classes_]}
    model.detect([])  # no files: checks the bundle's detection settings now
    settings = model.detection
    detection = {"hop": settings.get("hop"), "window": model.duration,
                 "rules": check_rules(settings.get("rules")).to_dict(),
                 "positive": identity["classes"][positive_column(model.classes_)]}
    page = resources.files(__package__).joinpath("page.html").read_text("utf-8")
    slots = anyio.Semaphore(int(max_concurrent))

    async def answer(request, work):
        """``work(path, upload)``'s answer to the upload, received and given a
        slot within the limits; None if the client has gone."""
        with tempfile.TemporaryDirectory(prefix="sk-cry-") as tmp:
            path = Path(tmp) / "upload"
            upload = await receive(request, path, max_upload=max_upload,
                                   body_timeout=body_timeout)
            with anyio.move_on_after(slot_wait) as waiting:
                await slots.acquire()
            if waiting.cancelled_caught:
                retry = str(max(1, math.ceil(slot_wait)))
                raise Refusal(503, f"the service is decoding {max_concurrent} requests "
                              f"already (sk-cry serve --max-concurrent) and none "
                              f"finished within {slot_wait:g} s; try again shortly",
                              headers={"Retry-After": retry})
            try:
                if await request.is_disconnected():  # it gave up while waiting
                    _log.warning("%s: disconnected while its upload waited to be "
                                 "decoded; dropped", client_of(request))
                    return None
                return await run_in_threadpool(work, path, upload)
            finally:
                slots.release()

    async def respond(request, work, **more):
        try:
            body = await answer(request, work)
        except Refusal as refusal:
            return refusal.response()
        except ClientDisconnect:
            _log.warning("%s: disconnected part way through its upload (Content-Length "
                         "%s); dropped", client_of(request),
                         request.headers.get("content-length", "not given"))
            body = None
        if body is None:
            # the client is gone: the server drops whatever is sent (499: nginx's
            # "client closed request")
            return Response(status_code=499)
        return JSONResponse({**body, **more, "model": identity})

    async def predict(request):
        return await respond(request, lambda path, upload: _classify(
            model, path, max_seconds=max_seconds, window=window, hop=hop))

    async def detect(request):
        return await respond(request, lambda path, upload: _detect(
            model, path, upload, max_seconds=max_seconds), detection=detection)

    async def health(request):
        return JSONResponse({"status": "ok", "model": identity, "detection": detection})

    async def index(request):
        return HTMLResponse(page)

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                             Route("/detect", detect, methods=["POST"]),
                             Route("/health", health), Route("/", index)])
