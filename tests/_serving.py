"""``sk-cry serve`` started as a user starts it, on a free loopback port, for the
tests that need the real server; the multipart forms and POSTs they send."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(bundle, *options, stderr, log=None):
    """``(port, process)`` of ``sk-cry serve BUNDLE --port P *options``, once its
    ``/health`` answers (at most 30 s); the test fails with the server's stderr
    (``stderr``, a pipe or a file that ``log`` names) if it exits first."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sk_cry", "serve", str(bundle), "--port", str(port),
         *options], stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return port, process
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                pytest.fail(log.read_text() if log else process.stderr.read())
            time.sleep(0.1)
    process.terminate()
    pytest.fail(f"sk-cry serve did not answer /health on port {port} within 30 s")


def form(parts, boundary="sKcRy-7f3a", content_type="multipart/form-data"):
    """A multipart body of ``(name, filename or None, data)`` parts, and its
    Content-Type."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else "")
        body += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
                 + data + b"\r\n")
    return body + f"--{boundary}--\r\n".encode(), f"{content_type}; boundary={boundary}"


def post(url, data, content_type=None):
    """``(status, JSON answer)`` of a POST of ``data`` to ``url`` over HTTP."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
