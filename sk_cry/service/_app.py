"""The service: ``POST /predict``, ``GET /health`` and ``GET /`` (a page that
uploads a file or records from the microphone)."""

import tempfile
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

__all__ = ["DEFAULT_MAX_UPLOAD", "make_app"]

#: Bytes an upload may hold unless told otherwise: 20 MB is 10 minutes of 16-kHz
#: 16-bit mono WAV, more than a cry needs.
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024


class _TooLarge(Exception):
    pass


async def _body(request, limit):
    """The request body, refused past ``limit`` bytes (by the Content-Length it
    declares, or by what actually arrives)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


async def _audio_bytes(request, limit):
    """The uploaded audio: the multipart field ``file``, or the raw body."""
    body = await _body(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body

    async def stream():
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=1, max_fields=10,
                             max_part_size=limit)
    form = await parser.parse()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise ValueError("the multipart form has no file field named 'file'")
    return await upload.read()


def make_app(model, *, name=None, max_upload=DEFAULT_MAX_UPLOAD, window=None, hop=None):
    """A Starlette application serving ``model`` (a :class:`sk_cry.runtime.BundleModel`).

    ``POST /predict`` takes an audio file (multipart field ``file``, or the raw
    bytes as the body) and answers JSON: ``label``, ``probabilities`` by class
    name, ``windows`` (start, label, probabilities, silent: one per window of a
    long recording), ``duration``, ``padded``, ``silent`` and ``model`` (name,
    sk_cry version, SHA-256). An upload above ``max_upload`` bytes gets 413;
    audio that cannot be read, 422 with the loader's message. ``GET /health``
    answers ``{"status": "ok", "model": ...}``; ``GET /`` a page that uploads a
    file or records a few seconds from the microphone.
    """
    identity = {"name": name, "sk_cry_version": model.sk_cry_version,
                "sha256": model.sha256, "classes": [str(c) for c in model.classes_]}
    page = resources.files(__package__).joinpath("page.html").read_text("utf-8")

    def classify(data):
        with tempfile.TemporaryDirectory(prefix="sk-cry-") as tmp:
            path = Path(tmp) / "upload"
            path.write_bytes(data)
            (record,) = model.predict_windows([path], window=window, hop=hop)
        if record.error is not None:  # the loader names the file: say "the upload"
            record.error = record.error.replace(str(path), "the upload")
        return record

    async def predict(request):
        try:
            data = await _audio_bytes(request, max_upload)
        except _TooLarge:
            return JSONResponse({"error": f"the upload is larger than {max_upload} "
                                 "bytes, the limit this service was started with"},
                                status_code=413)
        except (MultiPartException, ValueError) as exc:
            return JSONResponse({"error": f"the request is not a usable upload: {exc}"},
                                status_code=400)
        if not data:
            return JSONResponse({"error": "the upload is empty: send an audio file"},
                                status_code=422)
        record = await run_in_threadpool(classify, data)
        if record.error is not None:
            return JSONResponse({"error": record.error}, status_code=422)
        return JSONResponse({
            "label": None if record.label is None else str(record.label),
            "probabilities": record.probabilities, "silent": record.silent,
            "duration": record.duration, "padded": record.padded,
            "windows": [{"start": w.start, "label": None if w.label is None else str(w.label),
                         "probabilities": w.probabilities, "silent": w.silent}
                        for w in record.windows],
            "model": identity,
        })

    async def health(request):
        return JSONResponse({"status": "ok", "model": identity})

    async def index(request):
        return HTMLResponse(page)

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                             Route("/health", health), Route("/", index)])

