"""The service's limits, on /predict and /detect alike: seconds of audio,
requests decoded at once, a body that stalls, a client that goes away; uploads
cut short or lying about their length; forms and content types as clients send
them; and a seeded fuzz of damaged uploads against the real server, which must
answer each one (never 500) within a bounded memory."""

import http.client
import io
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _serving import form, start_server

import sk_cry
from sk_cry import runtime
from sk_cry.datasets import make_cries
from sk_cry.exceptions import ParameterError

try:
    from starlette.testclient import TestClient
except ImportError:
    pytest.skip("the service needs the serve extra: pip install 'sk-cry[serve]'",
                allow_module_level=True)

from sk_cry.service import make_app

SR = 16000
# The real server's peak resident memory after the fuzz: measured 72 MB
# (numpy, soundfile, soxr, LiteRT, uvicorn and a 2-s model) with 4 clients at
# once; every upload streams to a file and 1 is decoded at a time.
RSS_BOUND_MB = 200
ROUTES = ["/predict", "/detect"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny CNN on 2-s clips, exported, and a 6-s cry as WAV and FLAC bytes."""
    tmp = tmp_path_factory.mktemp("limits")
    X, y = make_cries(12, duration=2.0, random_state=4)
    pipe = sk_cry.make_cnn_pipeline(duration=2.0, epochs=1, filters=4, random_state=0)
    pipe.fit(X, np.array(["other", "hungry"])[y])
    bundle = tmp / "cry.skcry-bundle"
    sk_cry.export(pipe, bundle)
    cry = np.concatenate([X[0], X[1], X[2]])
    return runtime.load(bundle), bundle, _encoded(cry, "WAV"), _encoded(cry, "FLAC")


def _encoded(y, format, sr=SR, subtype="PCM_16"):
    out = io.BytesIO()
    sf.write(out, y, sr, format=format, subtype=subtype)
    return out.getvalue()


def _flac_total_samples(data, total):
    """FLAC bytes whose STREAMINFO declares ``total`` samples (0: unknown)."""
    data = bytearray(data)
    field = int.from_bytes(data[18:26], "big")  # ...rate, channels, bits, 36-bit total
    data[18:26] = ((field & ~((1 << 36) - 1)) | total).to_bytes(8, "big")
    return bytes(data)


def test_long_audio_is_refused_by_its_header_before_decoding(served):
    model, _, _, _ = served
    client = TestClient(make_app(model))
    hour = _encoded(np.zeros(SR * 3600, np.float32), "FLAC")
    assert len(hour) < 200_000  # an hour of silence: 180 KB
    for route in ROUTES:
        start = time.perf_counter()
        answer = client.post(route, content=hour)
        took = time.perf_counter() - start
        assert answer.status_code == 413
        assert answer.json()["error"] == (
            "the upload holds 3600.0 s of audio, more than the 600 s this service "
            "decodes per request; send a shorter recording, or start the service with "
            "a larger sk-cry serve --max-seconds")
        assert took < 2.0  # measured 20 ms: the header is read, not the hour
    # 2 s of 8-channel 384-kHz audio: few seconds, many samples
    wide = _encoded(np.zeros((2 * 384_000, 8), np.float32), "FLAC", sr=384_000)
    answer = TestClient(make_app(model, max_seconds=30)).post("/predict", content=wide)
    assert answer.status_code == 413
    assert "6,144,000 samples: more than the 2,880,000 (30 s of 48-kHz stereo)" in (
        answer.json()["error"])


def test_audio_of_undeclared_length_is_bounded_while_decoding(served):
    model, _, _, _ = served
    minute = _encoded(np.random.default_rng(0).normal(0, 0.1, SR * 60), "FLAC")
    unknown = _flac_total_samples(minute, 0)  # as a streaming encoder writes it
    assert sf.info(io.BytesIO(unknown)).frames > 1 << 62
    client = TestClient(make_app(model, max_seconds=10))
    # stopped at the first block past 10 s, before model.detect: /predict reads
    # 16,384 frames at a time, /detect 65,536 (4.1 s), as model.detect reads
    for route, most in [("/predict", 11.1), ("/detect", 14.2)]:
        answer = client.post(route, content=unknown)
        assert answer.status_code == 413
        error = answer.json()["error"]
        assert error.startswith("the upload holds at least ")
        assert 10 < float(error.split()[5]) < most
        assert "than the 10 s this service decodes per request" in error


def test_truncated_and_inconsistent_audio_is_flagged(served):
    model, _, wav, flac = served
    client = TestClient(make_app(model))
    whole = client.post("/predict", content=wav).json()
    assert whole["truncated"] is False and whole["warnings"] == []
    assert whole["duration"] == pytest.approx(6.0)
    cut = client.post("/predict", content=wav[:100_044])  # 50,000 of 96,000 samples
    assert cut.status_code == 200, cut.text
    assert cut.json()["truncated"] is True
    assert cut.json()["warnings"] == [(
        "the upload's header declares 96000 frames (6.000 s) but 50000 (3.125 s) could "
        "be decoded: it was cut short or its header is damaged; the audio decoded was "
        "classified")]
    assert cut.json()["duration"] == pytest.approx(3.125)
    cut = client.post("/detect", content=wav[:100_044])
    assert cut.status_code == 200, cut.text
    assert cut.json()["truncated"] is True and cut.json()["warnings"] == [(
        "the upload's header declares 96000 frames (6.000 s) but 50000 (3.125 s) could "
        "be decoded: it was cut short or its header is damaged; the audio decoded was "
        "searched for cries")]
    assert cut.json()["duration"] == pytest.approx(3.125)
    lying = bytearray(wav)  # a data chunk that declares 4 GB
    at = lying.index(b"data") + 4
    lying[at:at + 4] = struct.pack("<I", 4_000_000_000)
    body = client.post("/predict", content=bytes(lying)).json()
    assert body["truncated"] is True
    assert "declares 2000000000 frames" in body["warnings"][0]
    assert body["label"] == whole["label"] and body["duration"] == pytest.approx(6.0)
    cut_flac = client.post("/predict", content=flac[:len(flac) * 2 // 3]).json()
    assert cut_flac["truncated"] is True
    assert cut_flac["warnings"][0].startswith(
        "the upload: the decoder stopped part way")
    assert "/tmp" not in str(cut_flac["warnings"])
    # /detect reads as model.detect does, 65,536 frames (4.1 s) at a time, and a
    # FLAC cut short keeps what was decoded before the cut
    long = _encoded(np.tile(np.frombuffer(wav[44:], "<i2") / 32768, 3), "FLAC")
    detected = client.post("/detect", content=long[:len(long) * 2 // 3])
    assert detected.status_code == 200, detected.text
    notes = detected.json()["warnings"]
    assert detected.json()["truncated"] is True and len(notes) == 2  # each note once
    assert notes[0].startswith("the upload: the decoder stopped part way")
    assert notes[1].endswith("the audio decoded was searched for cries")


def test_forms_and_content_types_as_clients_send_them(served):
    model, _, wav, _ = served
    client = TestClient(make_app(model))
    expected = client.post("/predict", content=wav).json()
    for content_type in ("MULTIPART/FORM-DATA", "Multipart/Form-Data"):
        body, kind = form([("file", "cry.wav", wav)], content_type=content_type)
        answer = client.post("/predict", content=body, headers={"Content-Type": kind})
        assert answer.status_code == 200, answer.text
        assert answer.json()["probabilities"] == expected["probabilities"]
    body, kind = form([("note", None, b"hello"), ("file", None, wav)])  # no filename
    answer = client.post("/predict", content=body, headers={"Content-Type": kind})
    assert answer.status_code == 200, answer.text
    assert answer.json()["probabilities"] == expected["probabilities"]

    def refused(body, headers=None):
        answer = client.post("/predict", content=body, headers=headers or {})
        return answer.status_code, answer.json()["error"]

    body, kind = form([("audio", "cry.wav", wav), ("note", None, b"x")])
    assert refused(body, {"Content-Type": kind}) == (
        400, ("the multipart form has no part named 'file' (it sent 'audio', 'note'); "
              "send the audio as the part 'file', or as the raw body"))
    body, kind = form([("file", "a.wav", wav), ("file", "b.wav", wav)])
    assert refused(body, {"Content-Type": kind})[0] == 400
    body, kind = form([("file", "cry.wav", wav)])
    status, error = refused(body[:-20], {"Content-Type": kind})
    assert status == 400 and "ends before its closing boundary" in error
    status, error = refused(b"")
    assert status == 422 and error.startswith("empty upload: the request holds 0 bytes")
    body, kind = form([("file", "empty.wav", b"")])
    status, error = refused(body, {"Content-Type": kind})
    assert status == 422 and error.startswith("empty upload")
    status, error = refused(b"x" * 100, {"Content-Type": "multipart/form-data"})
    assert status == 400 and "no boundary" in error


class _Held:
    """A model whose classifying and detecting wait until ``go`` is set: a slow
    request held."""

    def __init__(self, model):
        self._model, self.go = model, threading.Event()
        self.entered = threading.Semaphore(0)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def listen(self, source, **kwargs):
        self.entered.release()
        self.go.wait(30)
        return self._model.listen(source, **kwargs)

    def detect(self, paths, **kwargs):
        if paths:  # make_app's check of the settings, detect([]), is not held
            self.entered.release()
            self.go.wait(30)
        return self._model.detect(paths, **kwargs)


@pytest.mark.parametrize("route", ROUTES)
def test_requests_decoded_at_once_are_bounded(served, route):
    model, _, wav, _ = served
    held = _Held(model)
    app = make_app(held, max_concurrent=2, slot_wait=0.5)
    answers = {}
    # the two routes share the slots: two held on one, the next refused on the other
    other = ROUTES[1 - ROUTES.index(route)]
    with TestClient(app) as client:
        def post(key):
            answers[key] = client.post(route if key != 2 else other, content=wav)

        first = [threading.Thread(target=post, args=(k,)) for k in (0, 1)]
        for t in first:
            t.start()
        for _ in first:
            assert held.entered.acquire(timeout=10)  # both slots taken
        start = time.perf_counter()
        post(2)  # the third waits half a second for a slot, then is refused
        assert answers[2].status_code == 503
        assert answers[2].headers["Retry-After"] == "1"
        assert "decoding 2 requests already (sk-cry serve --max-concurrent)" in (
            answers[2].json()["error"])
        assert 0.4 < time.perf_counter() - start < 5
        waiting = threading.Thread(target=post, args=(3,))
        waiting.start()  # ... and this one waits, to be served once a slot frees
        time.sleep(0.1)
        held.go.set()
        for t in first + [waiting]:
            t.join(30)
    assert [answers[k].status_code for k in (0, 1, 3)] == [200, 200, 200]


# -- the real server ---------------------------------------------------------

@pytest.fixture(scope="module")
def server(served, tmp_path_factory):
    """``sk-cry serve`` on a loopback port, decoding one request at a time; its
    stderr goes to a file the tests read."""
    _, bundle, _, _ = served
    log = tmp_path_factory.mktemp("server") / "stderr.txt"
    with open(log, "w") as err:
        port, process = start_server(bundle, "--max-concurrent", "1",
                                     "--max-seconds", "120", stderr=err, log=log)
    yield port, process, log
    process.terminate()
    process.wait(timeout=10)


def _send_head(port, length):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
              f"Content-Length: {length}\r\n\r\n".encode())
    return s


def test_a_client_that_goes_away_is_one_line_in_the_log(served, server):
    _, _, wav, _ = served
    port, _, log = server
    s = _send_head(port, len(wav))
    s.sendall(wav[:30_000])
    mine = f"127.0.0.1:{s.getsockname()[1]}"
    time.sleep(0.2)
    s.close()
    for _ in range(50):
        lines = [line for line in log.read_text().splitlines() if mine in line]
        if lines:
            break
        time.sleep(0.1)
    assert lines == [(f"WARNING:  {mine}: disconnected part way through its upload "
                      f"(Content-Length {len(wav)}); dropped")]
    assert "Traceback" not in log.read_text() and "Exception" not in log.read_text()


def _answer_head(s):
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(4096)
    return answer


def test_stalled_clients_are_answered_and_closed_within_30_s(served, server):
    port, _, log = server
    stalled = _send_head(port, 100_000)
    stalled.sendall(b"RIFF" + b"\0" * 996)  # then nothing more
    too_big = _send_head(port, 50_000_000)  # refused, but it is still sending
    too_big.sendall(b"\0" * 1000)
    half = socket.create_connection(("127.0.0.1", port), timeout=60)
    half.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")  # half its headers
    silent = socket.create_connection(("127.0.0.1", port), timeout=60)
    start = time.perf_counter()
    assert _answer_head(stalled).startswith(b"HTTP/1.1 408 ")
    assert 25 < time.perf_counter() - start < 40  # 30 s from the start of the request
    head = _answer_head(too_big)
    assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower()
    for s in (stalled, too_big, half, silent):
        while s.recv(4096):  # the server closes each connection
            pass
        s.close()
    assert time.perf_counter() - start < 40
    text = log.read_text()
    assert "its request body had not arrived after 30 s (1000 bytes received); " \
        "answered 408 and closed" in text
    assert text.count("no whole request line and headers 30 s after it connected or "
                      "was last answered; closed") == 2


def test_the_real_server_takes_its_limits_from_the_command_line(served, server):
    _, bundle, _, _ = served
    port, _, _ = server
    hour = _encoded(np.zeros(SR * 3600, np.float32), "FLAC")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=hour,
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    assert "more than the 120 s this service decodes" in refused.value.read().decode()
    out = subprocess.run([sys.executable, "-m", "sk_cry", "serve", str(bundle),
                          "--max-concurrent", "0"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 2 and out.stderr == (
        "sk-cry serve: error: max_concurrent=0: every limit of the service must be "
        "positive (sk-cry serve --max-upload, --max-seconds, --max-concurrent)\n")


def test_limits_must_be_positive(served):
    model, _, _, _ = served
    for limit in ("max_upload", "max_seconds", "max_concurrent", "body_timeout",
                  "slot_wait"):
        with pytest.raises(ParameterError, match=f"^{limit}=-1: every limit"):
            make_app(model, **{limit: -1})


def test_a_refused_upload_is_answered_to_a_client_that_sends_it_all(server):
    port, _, _ = server
    # urllib reads nothing before it has sent the whole body: the server reads
    # and drops the rest, so that it sees the 413 rather than a reset connection
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict",
                                     data=bytes(25_000_000), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    assert "larger than 20971520 bytes" in refused.value.read().decode()


def _mutations(wav, flac, rng, n):
    """``n`` damaged copies of ``wav`` and ``flac``: bytes flipped, cut short,
    header fields rewritten, junk inserted."""
    wav_fields = [(22, "<H", [0, 2, 33, 65535]), (24, "<I", [0, 1, 999, 8000, 384_001,
                                                               2**32 - 1]),
                  (28, "<I", [0, 1, 2**31]), (32, "<H", [0, 1, 3, 4096]),
                  (34, "<H", [0, 3, 8, 24, 64]), (40, "<I", [0, 10, 4_000_000_000,
                                                             0xFFFFFFFF]),
                  (4, "<I", [0, 36, 2**32 - 1]), (20, "<H", [0, 2, 3, 6, 0xFFFE])]
    for k in range(n):
        base = bytearray(wav if k % 2 == 0 else flac)
        kind = rng.integers(6)
        if kind == 0:  # a few bytes anywhere
            for at in rng.integers(0, len(base), rng.integers(1, 20)):
                base[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # bytes of the header
            for at in rng.integers(0, 64, rng.integers(1, 6)):
                base[at] = int(rng.integers(256))
        elif kind == 2:  # cut short
            base = base[:int(rng.integers(0, len(base)))]
        elif kind == 3 and k % 2 == 0:  # one WAV header field
            at, fmt, values = wav_fields[rng.integers(len(wav_fields))]
            struct.pack_into(fmt, base, at, values[rng.integers(len(values))])
        elif kind == 3:  # FLAC STREAMINFO: rate, channels, bits or total samples
            base[18:26] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        elif kind == 4:  # junk inserted
            at = int(rng.integers(0, 200))
            base[at:at] = rng.integers(0, 256, int(rng.integers(1, 5000)),
                                       dtype=np.uint8).tobytes()
        elif k % 2 == 0:  # many empty chunks before the audio
            base[12:12] = b"LIST\0\0\0\0" * int(rng.integers(1, 3000))
        else:  # garbage after it
            base += rng.integers(0, 256, int(rng.integers(1, 5000)),
                                 dtype=np.uint8).tobytes()
        yield bytes(base)


def _peak_rss_mb(pid):
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def test_fuzzed_uploads_never_break_the_real_server(served, server):
    _, _, wav, flac = served
    port, process, log = server
    uploads = list(_mutations(wav, flac, np.random.default_rng(20), 200))
    statuses, failures = [], []

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for k in range(index, len(uploads), 4):  # 4 clients at once
            body, headers = uploads[k], {"Content-Type": "audio/wav"}
            if k % 3 == 0:
                body, kind = form([("file", "x.wav", body)])
                headers = {"Content-Type": kind}
            try:
                route = ROUTES[k // 2 % 2]  # each route gets WAVs and FLACs
                connection.request("POST", route, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                statuses.append(answer.status)
                if answer.getheader("Connection") == "close":
                    connection.close()
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"upload {k}: {exc!r}")
                connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    assert len(statuses) == 200 and set(statuses) <= {200, 400, 413, 422, 503}, (
        sorted(set(statuses)))
    assert statuses.count(200) > 20 and statuses.count(422) > 20
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/health").status == 200
    assert process.poll() is None
    assert "Traceback" not in log.read_text()
    peak = _peak_rss_mb(process.pid)
    if peak is not None:
        assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"
