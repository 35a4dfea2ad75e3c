"""An HTTP service around an exported model: ``sk-cry serve`` (Starlette on
uvicorn; ``pip install "sk-cry[serve]"``), with no TensorFlow."""

from ._app import DEFAULT_MAX_UPLOAD, make_app

__all__ = ["DEFAULT_MAX_UPLOAD", "make_app"]
