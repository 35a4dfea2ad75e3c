"""``sk-cry serve`` started as a user starts it, on a free loopback port, for the
tests that need the real server."""

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
