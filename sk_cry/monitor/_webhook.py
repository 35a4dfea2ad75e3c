"""Event documents POSTed to a URL as JSON, from a thread of their own: a
timeout per try, retries with backoff, a bounded queue, never in the way of
the listening loop."""

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import deque

from ..exceptions import ParameterError

__all__ = ["WebhookSink", "redacted"]

logger = logging.getLogger("sk_cry.monitor")


def redacted(url):
    """``url`` as it may be printed: scheme, host and port only (a Home
    Assistant webhook's ID, a token in the path or query, user and password
    are secrets)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    hidden = "/..." if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


class WebhookSink:
    """POST each event document to ``url`` as JSON.

    A try that fails (no answer within ``timeout``, a refused connection, a 5xx,
    408 or 429 answer) is repeated after 1, 2, 4 ... seconds (at most
    ``max_backoff``) until it succeeds: documents are delivered in order, each
    at least once. A 4xx answer other than 408 and 429 means the receiver
    rejects the document: it is logged and skipped. At most ``max_queued``
    documents wait; past that the newest is dropped and counted, and the next
    delivered document says how many were (``"dropped"``).

    Parameters
    ----------
    url : str
        ``http://`` or ``https://``.
    timeout : float, default=5.0
        Seconds per try.
    max_backoff : float, default=30.0
    max_queued : int, default=1000
    headers : dict or None, default=None
        Extra request headers (e.g. ``Authorization``; never logged).

    Attributes
    ----------
    delivered, rejected, dropped : int
        Documents answered 2xx, answered 4xx, and not queued.
    """

    def __init__(self, url, *, timeout=5.0, max_backoff=30.0, max_queued=1000,
                 headers=None):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ParameterError(f"webhook URL {redacted(url)!r} is not http:// or "
                                 "https://")
        self.url, self.timeout, self.max_backoff = url, float(timeout), float(max_backoff)
        self.max_queued = int(max_queued)
        self.headers = {"Content-Type": "application/json", "User-Agent": "sk-cry",
                        **(headers or {})}
        self.delivered = self.rejected = self.dropped = 0
        self._queue, self._reported, self._streak = deque(), 0, 0
        self._wake, self._closing = threading.Condition(), False
        self._stop = threading.Event()  # cuts a backoff short when closing ends
        self._thread = threading.Thread(target=self._deliver, name="sk-cry-webhook",
                                        daemon=True)
        self._thread.start()

    def __repr__(self):
        return f"WebhookSink({redacted(self.url)!r})"

    def send(self, document):
        """Queue ``document``; returns at once."""
        with self._wake:
            if len(self._queue) >= self.max_queued:
                self.dropped += 1
                return
            self._queue.append(document)
            self._wake.notify()

    def close(self, timeout=30.0):
        """Deliver what is queued within ``timeout`` seconds, then stop; returns
        the number of documents left undelivered."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join(self.timeout + 1)
        with self._wake:
            return len(self._queue)

    def _deliver(self):
        failures = 0
        while True:
            with self._wake:
                while not self._queue and not self._closing:
                    self._wake.wait()
                if not self._queue:
                    return
                document = self._queue[0]
            if self._stop.is_set():
                return
            outcome = self._post(document)
            if outcome == "retry":
                failures += 1
                if self._stop.wait(min(self.max_backoff, 2.0 ** (failures - 1))):
                    return
                continue
            if failures:
                logger.warning("webhook %s answers again after %d failed tries",
                               redacted(self.url), failures)
            failures = self._streak = 0
            with self._wake:
                self._queue.popleft()

    def _post(self, document):
        """``"done"``, ``"retry"`` or ``"rejected"``."""
        if self.dropped > self._reported:
            document = {**document, "dropped": self.dropped}
        body = json.dumps(document).encode()
        request = urllib.request.Request(self.url, data=body, headers=self.headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read(1 << 16)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (408, 429) or exc.code >= 500:
                self._failed(f"HTTP {exc.code}")
                return "retry"
            logger.error("webhook %s rejected event %s %s: HTTP %d; skipped",
                         redacted(self.url), document.get("id"), document.get("type"),
                         exc.code)
            self.rejected += 1
            return "rejected"
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets
            self._failed(type(exc).__name__ if not isinstance(exc, urllib.error.URLError)
                         else f"{type(exc.reason).__name__}")
            return "retry"
        self._reported = max(self._reported, document.get("dropped", 0))
        self.delivered += 1
        return "done"

    def _failed(self, why):
        self._streak += 1
        if self._streak & (self._streak - 1) == 0:  # tries 1, 2, 4, 8 ...
            logger.warning("webhook %s: %s (try %d); trying again", redacted(self.url),
                           why, self._streak)
