"""Receiving an upload within its bounds: the request body streams to a file on
disk, never whole in memory; the multipart part ``file`` (or the raw body) is
kept, refused past ``max_upload`` bytes (413) or ``body_timeout`` seconds
(408, and the connection is closed)."""

import logging
import re

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    parse_options_header,
)

from ._refusal import Refusal

__all__ = ["Upload", "client_of", "receive"]

_log = logging.getLogger("sk_cry.service")

_NAME_CHARS = 255  # of a file name echoed back: a file system's longest


def _too_large(limit):
    return Refusal(413, f"the upload is larger than {limit} bytes, the limit this "
                   "service was started with (sk-cry serve --max-upload)")


def client_of(request):
    """``host:port`` of the client, for the log."""
    return f"{request.client[0]}:{request.client[1]}" if request.client else "a client"


class _Form:
    """A ``multipart/form-data`` body parsed as it arrives: the part named
    ``file`` (with a filename or without) is written to ``out`` and its
    ``filename`` kept; the names of the other parts are kept to say what was
    sent instead."""

    def __init__(self, boundary, out):
        if not boundary:
            raise Refusal(400, "the multipart form has no boundary in its Content-Type")
        self.out, self.names, self.found, self.size = out, [], False, 0
        self.filename = None
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
        options = parse_options_header(self._disposition)[1]
        name = options.get(b"name")
        self.names.append(None if name is None else name.decode("utf-8", "replace"))
        if name == b"file":
            if self.found:
                raise Refusal(400, "the form has two parts named 'file': send one "
                              "recording per request")
            self.found = self._writing = True
            self.filename = _file_name(options.get(b"filename"))

    def _data(self, data, start, end):
        if self._writing:
            # a local file's page cache takes 64 KB in tens of microseconds: not
            # worth a thread per chunk
            self.out.write(data[start:end])
            self.size += end - start

    def finish(self):
        if self.parser.state != MultipartState.END:
            raise Refusal(400, "the multipart form ends before its closing boundary: "
                          "the upload was cut short or the form is malformed")
        if not self.found:
            sent = ", ".join("(no name)" if n is None else repr(n[:40])
                             for n in self.names[:10])
            more = f" and {len(self.names) - 10} more" if len(self.names) > 10 else ""
            what = f"it sent {sent}{more}" if self.names else "it has no parts"
            raise Refusal(400, f"the multipart form has no part named 'file' ({what}); "
                          "send the audio as the part 'file', or as the raw body")


def _file_name(raw):
    """The last component of a part's ``filename``, at most 255 characters, or
    None: it is sent back in the answer, never used as a path."""
    if not raw:
        return None
    name = re.split(r"[/\\]", raw.decode("utf-8", "replace"))[-1][:_NAME_CHARS]
    return name or None


class Upload:
    """The body of one request as it arrives.

    Attributes
    ----------
    received : int
        Bytes of the body so far.
    size : int
        Bytes of audio written (the part ``file``, or the whole raw body).
    filename : str or None
        The part ``file``'s file name (its last component); None for a raw body
        or a part sent without one.
    refusal : Refusal or None
        Why the upload is refused, once that is known before its end.
    """

    def __init__(self):
        self.received, self.size, self.filename, self.refusal = 0, 0, None, None

    async def stream_to(self, request, out, limit):
        """Stream the upload into ``out``: the multipart part ``file``, or the raw
        body; sets ``size`` and ``filename``.

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
                self.refusal = Refusal(400, f"the multipart form is malformed: {exc}")
            except Refusal as refusal:
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
                    self.refusal = Refusal(400, "the multipart form is malformed: "
                                           f"{exc}")
                except Refusal as refusal:
                    self.refusal = refusal
        if self.refusal is not None:
            raise self.refusal
        if form is None:
            self.size = self.received
        else:
            form.finish()
            self.size, self.filename = form.size, form.filename


async def receive(request, path, *, max_upload, body_timeout):
    """Receive the request's upload into the file ``path`` within its bounds.

    Parameters
    ----------
    request : starlette.requests.Request
    path : path-like
        Where the audio is written (a temporary file the caller removes).
    max_upload : int
        Bytes the body may hold; more: 413.
    body_timeout : float
        Seconds from now by which the body must have arrived; later: 408, and
        the connection is closed.

    Returns
    -------
    upload : Upload
        With ``size`` > 0 and the part's ``filename``.

    Raises
    ------
    Refusal
        400 (a malformed form, or one without a part ``file``), 408, 413, and
        422 for an empty upload.
    starlette.requests.ClientDisconnect
        When the client goes away part way.
    """
    upload = Upload()
    try:
        # a local file opens in microseconds, and its writes go to the page cache
        with anyio.fail_after(body_timeout), open(path, "wb") as out:  # noqa: ASYNC230
            await upload.stream_to(request, out, max_upload)
    except TimeoutError:
        _log.warning("%s: its request body had not arrived after %g s (%d bytes "
                     "received); answered %d and closed", client_of(request),
                     body_timeout, upload.received,
                     408 if upload.refusal is None else upload.refusal.status)
        if upload.refusal is not None:  # still sending what was refused
            upload.refusal.headers["Connection"] = "close"
            raise upload.refusal from None
        raise Refusal(408, "the request body had not arrived after "
                      f"{body_timeout:g} s ({upload.received} bytes received); "
                      "send it at once", close=True) from None
    if not upload.size:
        raise Refusal(422, "empty upload: the request holds 0 bytes of audio; send "
                      "a WAV, FLAC or OGG file as the body or as the form part 'file'")
    return upload
