"""The service: ``POST /predict``, ``GET /health`` and ``GET /`` (a page that
uploads a file or records from the microphone).

Every request is bounded in bytes, time and work, so that a few clients cannot
take the machine (defaults in brackets, all arguments of :func:`make_app`):

- bytes: the upload streams to a temporary file, never whole in memory, and is
  refused past ``max_upload`` bytes [20 MB] (413);
- time: its body must have arrived ``body_timeout`` seconds [30] after the
  request began, else 408 and the connection is closed (and, on
  :func:`run_server`, its headers ``header_timeout`` seconds [30] after the
  connection opened or was last answered, else it is closed);
- work: at most ``max_seconds`` of audio [600] are decoded, and at most as
  many samples as that many seconds of 48-kHz stereo hold: refused from the
  header before decoding where the format declares its length, and counted while
  decoding anyway (413);
- at once: at most ``max_concurrent`` requests [2] are decoded; one that finds
  every slot taken waits ``slot_wait`` seconds [10] at most, then gets 503 with
  ``Retry-After``;
- memory: an upload waits on disk (in the temporary directory: on a tmpfs, that
  is memory too), and a decoding slot holds a few MB (a block of 16,384 frames
  of up to 32 channels, the resampler's state, one window), a connection
  uvicorn's 64-KB buffer: resident memory stays near the idle server's
  whatever the number of uploads at once.

A client that goes away is one line on the ``sk_cry.service`` logger, not a
traceback.
"""

import contextlib
import itertools
import logging
import math
import tempfile
import threading
import warnings
import wave
from importlib import resources
from pathlib import Path

import anyio
import numpy as np
import soundfile as sf
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    parse_options_header,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..exceptions import ParameterError, SkCryError, TruncatedAudioWarning
from ..io import file_blocks

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONCURRENT",
           "DEFAULT_MAX_SECONDS", "DEFAULT_MAX_UPLOAD", "DEFAULT_SLOT_WAIT", "make_app",
           "run_server"]

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
#: Seconds a connection has to send a request's line and headers, from when it
#: opened or was last answered (:func:`run_server`).
DEFAULT_HEADER_TIMEOUT = 30.0

# Samples decoded per second allowed: 48-kHz stereo. A second of 384-kHz 8-channel
# FLAC costs 30 times what a second of 16-kHz mono does (measured: 1.24 s against
# 0.04 s for a minute), and compresses as well when it is silence.
_SAMPLES_PER_SECOND = 96_000
_BLOCK = 1 << 14  # frames per read: a FLAC cut short keeps all but its last block
_UNKNOWN_LENGTH = 1 << 62  # libsndfile's frames of a FLAC that does not declare it
_STREAMED = 0xFFFFFFFF  # a WAV data size written by tools that could not seek back

_log = logging.getLogger("sk_cry.service")


class _Refusal(Exception):
    """A request answered with an error: ``status``, ``message``, and whether the
    connection is closed (when the client may still be sending)."""

    def __init__(self, status, message, *, close=False, headers=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = dict(headers or {})
        if close:
            self.headers["Connection"] = "close"

    def response(self):
        return JSONResponse({"error": self.message}, status_code=self.status,
                            headers=self.headers)


def _too_large(limit):
    return _Refusal(413, f"the upload is larger than {limit} bytes, the limit this "
                    "service was started with (sk-cry serve --max-upload)")


class _Form:
    """A ``multipart/form-data`` body parsed as it arrives: the part named
    ``file`` (with a filename or without) is written to ``out``; the names of
    the other parts are kept to say what was sent instead."""

    def __init__(self, boundary, out):
        if not boundary:
            raise _Refusal(400, "the multipart form has no boundary in its Content-Type")
        self.out, self.names, self.found, self.size = out, [], False, 0
        self._writing, self._header, self._value, self._disposition = False, b"", b"", b""
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data})

    def _begin(self):
        self._writing, self._disposition = False, b""

    def _field(self, data, start, end):
        self._header += data[start:end]

    def _header_value(self, data, start, end):
        self._value += data[start:end]

    def _header_end(self):
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def _headers_finished(self):
        name = parse_options_header(self._disposition)[1].get(b"name")
        self.names.append(None if name is None else name.decode("utf-8", "replace"))
        if name == b"file":
            if self.found:
                raise _Refusal(400, "the form has two parts named 'file': send one "
                               "recording per request")
            self.found = self._writing = True

    def _data(self, data, start, end):
        if self._writing:
            # a local file's page cache takes 64 KB in tens of microseconds: not
            # worth a thread per chunk
            self.out.write(data[start:end])
            self.size += end - start

    def finish(self):
        if self.parser.state != MultipartState.END:
            raise _Refusal(400, "the multipart form ends before its closing boundary: "
                           "the upload was cut short or the form is malformed")
        if not self.found:
            sent = ", ".join("(no name)" if n is None else repr(n[:40])
                             for n in self.names[:10])
            more = f" and {len(self.names) - 10} more" if len(self.names) > 10 else ""
            what = f"it sent {sent}{more}" if self.names else "it has no parts"
            raise _Refusal(400, f"the multipart form has no part named 'file' ({what}); "
                           "send the audio as the part 'file', or as the raw body")


class _Upload:
    """The body of one request as it arrives: ``received`` bytes so far, and the
    ``refusal`` found before its end, if any."""

    def __init__(self):
        self.received, self.refusal = 0, None

    async def receive(self, request, out, limit):
        """Stream the upload into ``out``: the multipart part ``file``, or the raw
        body. Returns the bytes of audio written.

        Once the upload is refused (too large, a malformed form) the rest of the
        body is read and dropped before the answer: a client that reads nothing
        until it has sent everything (urllib, requests) would otherwise see the
        connection reset, not the answer. The caller's deadline bounds that.
        """
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            if request.headers.get("expect", "").lower() == "100-continue":
                too_large = _too_large(limit)  # it waits for our word to send it:
                too_large.headers["Connection"] = "close"  # nothing is left to read
                raise too_large
            self.refusal = _too_large(limit)
        media, params = parse_options_header(request.headers.get("content-type", ""))
        form = None
        if media == b"multipart/form-data" and self.refusal is None:
            # parse_options_header lowers the type: MULTIPART/FORM-DATA is one
            try:
                form = _Form(params.get(b"boundary", b""), out)
            except FormParserError as exc:  # a boundary over 70 bytes
                self.refusal = _Refusal(400, f"the multipart form is malformed: {exc}")
            except _Refusal as refusal:
                self.refusal = refusal
        async for chunk in request.stream():
            self.received += len(chunk)
            if self.refusal is not None:
                continue
            if self.received > limit:
                self.refusal = _too_large(limit)
            elif form is None:
                out.write(chunk)
            else:
                try:
                    form.parser.write(chunk)
                except FormParserError as exc:
                    self.refusal = _Refusal(400, "the multipart form is malformed: "
                                            f"{exc}")
                except _Refusal as refusal:
                    self.refusal = refusal
        if self.refusal is not None:
            raise self.refusal
        if form is None:
            return self.received
        form.finish()
        return form.size


class _WarningsByThread:
    """The warnings each thread issues, recorded per request.

    ``warnings.catch_warnings(record=True)`` swaps the process-wide
    ``warnings.showwarning`` and puts back what it found on exit: two requests
    decoded at once in two threads would take each other's warnings, and the one
    to exit second would leave the first one's recorder in place for good
    (Python's documentation: not thread-safe). Here one hook, installed while any
    request is being decoded, gives each warning to the thread that issued it;
    other threads' warnings go where they went before. While it is installed,
    :class:`~sk_cry.exceptions.TruncatedAudioWarning` is shown every time: the
    ``default`` action would also keep each message (it names a temporary file)
    in the issuing module's registry, a slow leak in a long-running service.
    """

    def __init__(self):
        self._lock, self._local, self._users = threading.Lock(), threading.local(), 0
        self._saved = self._context = None

    @contextlib.contextmanager
    def record(self):
        caught = self._local.caught = []
        with self._lock:
            if not self._users:
                self._context = warnings.catch_warnings()
                self._context.__enter__()
                warnings.simplefilter("always", TruncatedAudioWarning)
                self._saved, warnings.showwarning = warnings.showwarning, self._show
            self._users += 1
        try:
            yield caught
        finally:
            self._local.caught = None
            with self._lock:
                self._users -= 1
                if not self._users:
                    self._context.__exit__(None, None, None)

    def _show(self, message, category, filename, lineno, file=None, line=None):
        caught = getattr(self._local, "caught", None)
        if caught is None:
            return self._saved(message, category, filename, lineno, file, line)
        caught.append(str(message))


_recorded = _WarningsByThread()


def _declared_wav_frames(path):
    """Frames a WAV file's ``data`` chunk declares (libsndfile counts only those
    present), or None: not a PCM WAV the standard library reads, or a size
    written as "to the end of the file"."""
    try:
        with wave.open(str(path), "rb") as w:
            frames, width = w.getnframes(), w.getsampwidth() * w.getnchannels()
    except (wave.Error, EOFError, OSError, ValueError):
        return None
    return None if frames == _STREAMED // max(width, 1) else frames


def _header(path):
    """soundfile's view of a header that file_blocks has just opened and checked."""
    try:
        return sf.info(str(path))
    except (RuntimeError, TypeError, ValueError) as exc:  # not seen: a safety net
        raise _Refusal(422, f"the upload is not readable audio ({exc})") from None


def _classify(model, path, *, max_seconds, window, hop):
    """Decode the upload at ``path`` within the limits and classify it window by
    window: a JSON-ready dict, or :class:`_Refusal`."""
    def said(text):  # the loader names the file: say "the upload"
        return text.replace(str(path), "the upload")

    budget = int(max_seconds * _SAMPLES_PER_SECOND)
    option = "sk-cry serve --max-seconds"
    counted = [0]
    with _recorded.record() as caught:
        try:
            rate, blocks = file_blocks(path, block=_BLOCK)
        except SkCryError as exc:
            raise _Refusal(422, said(f"{type(exc).__name__}: {exc}")) from None
        try:
            # started, so that closing it closes its file whatever happens next
            first = next(blocks, None)
            # file_blocks has checked the header; this reads it again, not the audio
            info = _header(path)
            frames = info.frames if 0 < info.frames < _UNKNOWN_LENGTH else None
            if frames is not None and (frames / rate > max_seconds
                                       or frames * info.channels > budget):
                raise _Refusal(413, _over(frames, rate, info.channels, max_seconds,
                                          option, "holds"))
            declared = _declared_wav_frames(path) if info.format == "WAV" else None

            def bounded():
                for block in itertools.chain([] if first is None else [first], blocks):
                    counted[0] += block.shape[0]
                    if (counted[0] > max_seconds * rate
                            or counted[0] * info.channels > budget):
                        raise _Refusal(413, _over(counted[0], rate, info.channels,
                                                  max_seconds, option, "holds at least"))
                    yield block

            windows = list(model.listen((rate, bounded()), window=window, hop=hop))
        except SkCryError as exc:
            raise _Refusal(422, said(f"{type(exc).__name__}: {exc}")) from None
        finally:
            blocks.close()  # its file, when a refusal stopped it part way
    got = counted[0]
    notes = [said(text) for text in caught]
    expected = max(frames or 0, declared or 0)
    if got < expected:
        notes.append(f"the upload's header declares {expected} frames "
                     f"({expected / rate:.3f} s) but {got} ({got / rate:.3f} s) could be "
                     "decoded: it was cut short or its header is damaged; the audio "
                     "decoded was classified")
    if not got:
        raise _Refusal(422, "the upload holds no audio that could be decoded"
                       + (f" ({'; '.join(notes)})" if notes else ""))
    names = [str(c) for c in model.classes_]
    heard = [w for w in windows if not w.silent]
    label = probabilities = None
    if heard:  # the mean over windows that are not silent, as predict_windows
        mean = np.mean([[w.probabilities[n] for n in names] for w in heard], axis=0)
        label = str(model.classes_[int(np.argmax(mean))])
        probabilities = dict(zip(names, map(float, mean)))
    duration = got / rate
    return {
        "label": label, "probabilities": probabilities, "silent": not heard,
        # shorter than one window (10 ms of resampling slack, as the loader)
        "duration": duration, "padded": duration < (window or model.duration) - 0.01,
        "windows": [{"start": w.start, "label": None if w.label is None else str(w.label),
                     "probabilities": w.probabilities, "silent": w.silent}
                    for w in windows],
        "truncated": bool(notes), "warnings": notes,
    }


def _over(frames, rate, channels, max_seconds, option, verb):
    seconds = frames / rate
    if seconds > max_seconds:
        return (f"the upload {verb} {seconds:.1f} s of audio, more than the "
                f"{max_seconds:g} s this service decodes per request; send a shorter "
                f"recording, or start the service with a larger {option}")
    return (f"the upload {verb} {seconds:.1f} s of {channels}-channel {rate}-Hz audio, "
            f"{frames * channels:,} samples: more than the "
            f"{int(max_seconds * _SAMPLES_PER_SECOND):,} ({max_seconds:g} s of 48-kHz "
            f"stereo) this service decodes per request; send fewer channels or a lower "
            f"sample rate, or start the service with a larger {option}")


def _client(request):
    return "%s:%d" % tuple(request.client) if request.client else "a client"


def make_app(model, *, name=None, max_upload=DEFAULT_MAX_UPLOAD,
             max_seconds=DEFAULT_MAX_SECONDS, max_concurrent=DEFAULT_MAX_CONCURRENT,
             body_timeout=DEFAULT_BODY_TIMEOUT, slot_wait=DEFAULT_SLOT_WAIT,
             window=None, hop=None):
    """A Starlette application serving ``model`` (a :class:`sk_cry.runtime.BundleModel`).

    ``POST /predict`` takes an audio file (multipart part ``file``, with or
    without a filename, or the raw bytes as the body) and answers JSON:
    ``label``, ``probabilities`` by class name, ``windows`` (start, label,
    probabilities, silent: one per window of a long recording), ``duration``,
    ``padded``, ``silent``, ``truncated`` and ``warnings`` (an upload cut short,
    or whose header declares more audio than it holds: what was decoded is
    classified and the loader's words are in ``warnings``) and ``model``
    (name, sk_cry version, SHA-256). ``GET /health`` answers ``{"status":
    "ok", "model": ...}``; ``GET /`` a page that uploads a file or records a few
    seconds from the microphone.

    Parameters
    ----------
    model : BundleModel
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
        As in :meth:`~sk_cry.runtime.BundleModel.predict_windows`.

    Returns
    -------
    app : starlette.applications.Starlette
        Answers 400 to a malformed form or one without a part ``file``, 408, 413
        and 503 as above, 422 to an empty upload or audio that cannot be read
        (with the loader's message); never 500 for anything a client sends.

    Raises
    ------
    ParameterError
        If a limit is not positive.
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
    page = resources.files(__package__).joinpath("page.html").read_text("utf-8")
    slots = anyio.Semaphore(int(max_concurrent))

    async def answer(request, path):
        upload = _Upload()
        try:
            with anyio.fail_after(body_timeout), open(path, "wb") as out:
                size = await upload.receive(request, out, max_upload)
        except TimeoutError:
            _log.warning("%s: its request body had not arrived after %g s (%d bytes "
                         "received); answered %d and closed", _client(request),
                         body_timeout, upload.received,
                         408 if upload.refusal is None else upload.refusal.status)
            if upload.refusal is not None:  # still sending what was refused
                upload.refusal.headers["Connection"] = "close"
                raise upload.refusal from None
            raise _Refusal(408, "the request body had not arrived after "
                           f"{body_timeout:g} s ({upload.received} bytes received); "
                           "send it at once", close=True) from None
        if not size:
            raise _Refusal(422, "empty upload: the request holds 0 bytes of audio; send "
                           "a WAV, FLAC or OGG file as the body or as the form part "
                           "'file'")
        with anyio.move_on_after(slot_wait) as waiting:
            await slots.acquire()
        if waiting.cancelled_caught:
            raise _Refusal(503, f"the service is decoding {max_concurrent} requests "
                           f"already (sk-cry serve --max-concurrent) and none finished "
                           f"within {slot_wait:g} s; try again shortly",
                           headers={"Retry-After": str(max(1, math.ceil(slot_wait)))})
        try:
            if await request.is_disconnected():  # it gave up while waiting
                _log.warning("%s: disconnected while its upload waited to be decoded; "
                             "dropped", _client(request))
                return None
            return await run_in_threadpool(_classify, model, path,
                                           max_seconds=max_seconds, window=window,
                                           hop=hop)
        finally:
            slots.release()

    async def predict(request):
        try:
            with tempfile.TemporaryDirectory(prefix="sk-cry-") as tmp:
                body = await answer(request, Path(tmp) / "upload")
        except _Refusal as refusal:
            return refusal.response()
        except ClientDisconnect:
            _log.warning("%s: disconnected part way through its upload (Content-Length "
                         "%s); dropped", _client(request),
                         request.headers.get("content-length", "not given"))
            body = None
        if body is None:
            # the client is gone: the server drops whatever is sent (499: nginx's
            # "client closed request")
            return Response(status_code=499)
        return JSONResponse({**body, "model": identity})

    async def health(request):
        return JSONResponse({"status": "ok", "model": identity})

    async def index(request):
        return HTMLResponse(page)

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                             Route("/health", health), Route("/", index)])


def _headers_in_time(seconds):
    """uvicorn 0.54's h11 protocol, with a deadline for each request's headers.

    uvicorn arms its keep-alive timer only once an answer is sent, and any byte
    that arrives cancels it: a connection that sends nothing, or half a request
    line, stays open for good (measured: both still open after 30 s, uvicorn
    0.54.0). This one is closed when no whole request line and headers have
    arrived ``seconds`` after it opened or after its last answer. Goes when
    uvicorn has such a timeout of its own.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadersInTime(H11Protocol):
        _deadline = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self):
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc):
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self):
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(seconds, self._late)

        def _late(self):
            # IDLE: h11 has not parsed a whole request since the last answer
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                client = "%s:%d" % self.client if self.client else "a client"
                _log.warning("%s: no whole request line and headers %g s after it "
                             "connected or was last answered; closed", client, seconds)
                self.transport.close()

    return HeadersInTime


def run_server(app, sock, *, header_timeout=DEFAULT_HEADER_TIMEOUT):
    """Serve ``app`` (:func:`make_app`) on uvicorn from the listening socket
    ``sock`` until interrupted: what ``sk-cry serve`` runs.

    A connection idle 5 s after an answer is closed (uvicorn's keep-alive
    timeout), and so is one whose request line and headers are not whole
    ``header_timeout`` seconds after it opened or was last answered. The
    service's notes (a client gone, a stalled upload) are one line each,
    through uvicorn's log handler; uvicorn's own at ``warning`` and above.
    """
    import copy

    import uvicorn

    logs = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logs["loggers"]["sk_cry.service"] = {"handlers": ["default"], "level": "INFO",
                                         "propagate": False}
    config = uvicorn.Config(app, log_level="warning", log_config=logs,
                            timeout_keep_alive=5, http=_headers_in_time(header_timeout))
    uvicorn.Server(config).run(sockets=[sock])
