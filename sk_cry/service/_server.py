"""Serving the application on uvicorn, with a deadline for each request's
headers that uvicorn does not have: :func:`run_server`, what ``sk-cry serve``
runs."""

import logging

__all__ = ["DEFAULT_HEADER_TIMEOUT", "run_server"]

#: Seconds a connection has to send a request's line and headers, from when it
#: opened or was last answered (:func:`run_server`).
DEFAULT_HEADER_TIMEOUT = 30.0

_log = logging.getLogger("sk_cry.service")


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
                client = ("a client" if not self.client
                          else f"{self.client[0]}:{self.client[1]}")
                _log.warning("%s: no whole request line and headers %g s after it "
                             "connected or was last answered; closed", client, seconds)
                self.transport.close()

    return HeadersInTime


def run_server(app, sock, *, header_timeout=DEFAULT_HEADER_TIMEOUT):
    """Serve ``app`` (:func:`~sk_cry.service.make_app`) on uvicorn from the
    listening socket ``sock`` until interrupted: what ``sk-cry serve`` runs.

    A connection idle 5 s after an answer is closed (uvicorn's keep-alive
    timeout), and so is one whose request line and headers are not whole
    ``header_timeout`` seconds after it opened or was last answered. The
    service's notes (a client gone, a stalled upload) are one line each,
    through uvicorn's log handler; uvicorn's own at ``warning`` and above.

    Parameters
    ----------
    app : starlette.applications.Starlette
        From :func:`~sk_cry.service.make_app`.
    sock : socket.socket
        Bound and listening (``sk-cry serve`` binds it before it says
        "serving", so that a port in use is an error, not a log line).
    header_timeout : float, default=DEFAULT_HEADER_TIMEOUT (30)
        Seconds a connection has to send a request's line and headers.

    See Also
    --------
    sk_cry.service.make_app
    """
    import copy

    import uvicorn

    logs = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logs["loggers"]["sk_cry.service"] = {"handlers": ["default"], "level": "INFO",
                                         "propagate": False}
    config = uvicorn.Config(app, log_level="warning", log_config=logs,
                            timeout_keep_alive=5, http=_headers_in_time(header_timeout))
    uvicorn.Server(config).run(sockets=[sock])
