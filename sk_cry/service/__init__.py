"""An HTTP service around an exported model: ``sk-cry serve`` (Starlette on
uvicorn; ``pip install "sk-cry[serve]"``), with no TensorFlow. ``POST /predict``
classifies an upload, ``POST /detect`` finds its cry events, ``GET /`` is a page
for both. Each request is bounded in bytes, seconds of audio, time to arrive and
requests decoded at once (the ``DEFAULT_*`` limits); :func:`run_server` runs it as
``sk-cry serve`` does."""

from ._app import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_SECONDS,
    DEFAULT_MAX_UPLOAD,
    DEFAULT_SLOT_WAIT,
    make_app,
)
from ._server import DEFAULT_HEADER_TIMEOUT, run_server

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONCURRENT",
           "DEFAULT_MAX_SECONDS", "DEFAULT_MAX_UPLOAD", "DEFAULT_SLOT_WAIT", "make_app",
           "run_server"]
