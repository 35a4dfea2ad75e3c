"""A request the service answers with an error: the one exception the upload,
decoding and routes raise, made into a JSON answer in one place."""

from starlette.responses import JSONResponse

__all__ = ["Refusal"]


class Refusal(Exception):
    """A request answered with an error.

    Parameters
    ----------
    status : int
        The HTTP status (4xx, or 503).
    message : str
        What was wrong and how to fix it: the answer's ``error``.
    close : bool, default=False
        Close the connection after the answer (the client may still be sending).
    headers : dict or None, default=None
        More headers for the answer (``Retry-After``).
    """

    def __init__(self, status, message, *, close=False, headers=None):
        super().__init__(message)
        self.status, self.message = status, message
        self.headers = dict(headers or {})
        if close:
            self.headers["Connection"] = "close"

    def response(self):
        """The answer: ``{"error": message}`` with the status and headers."""
        return JSONResponse({"error": self.message}, status_code=self.status,
                            headers=self.headers)
