"""The HTTP service on an exported bundle: through a test client, on a real
uvicorn on a loopback port, and its page in a real headless browser."""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import sk_cry
from sk_cry import runtime
from sk_cry.datasets import make_cries

from _serving import start_server

pytest.importorskip("starlette", reason="the service needs the serve extra")
from starlette.testclient import TestClient  # noqa: E402

from sk_cry.service import make_app  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A tiny CNN on 2-s clips, exported; a clip to send, and a long recording."""
    tmp = tmp_path_factory.mktemp("served")
    X, y = make_cries(24, duration=2.0, random_state=4)
    names = np.array(["other", "hungry"])[y]
    pipe = sk_cry.make_cnn_pipeline(duration=2.0, epochs=2, filters=4, random_state=0)
    pipe.fit(X, names)
    bundle = tmp / "cry.skcry-bundle"
    sk_cry.export(pipe, bundle)
    clip = tmp / "clip.wav"
    sf.write(clip, X[0], SR)
    long = tmp / "long.flac"
    sf.write(long, np.concatenate([X[1], X[2], np.zeros(SR), X[3]]), SR)
    return runtime.load(bundle), bundle, clip, long


def _expected(model, path):
    (record,) = model.predict_windows([path])
    return record


def test_predict_by_multipart_and_by_raw_body(served):
    model, _, clip, long = served
    client = TestClient(make_app(model, name="cry"))
    for path in (clip, long):
        expected = _expected(model, path)
        data = Path(path).read_bytes()
        by_form = client.post("/predict", files={"file": (Path(path).name, data)})
        by_body = client.post("/predict", content=data)
        for answer in (by_form, by_body):
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["label"] == expected.label
            assert body["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
            assert [w["start"] for w in body["windows"]] == [w.start for w in expected.windows]
            assert body["model"] == {"name": "cry", "sk_cry_version": sk_cry.__version__,
                                     "sha256": model.sha256, "classes": ["hungry", "other"]}
    assert len(by_body.json()["windows"]) == 6  # 7 s: 2-s windows at 0, 1, ..., 5 s
    assert [w["silent"] for w in by_body.json()["windows"]].count(True) == 0


def test_refusals_keep_the_service_serving(served):
    model, _, clip, _ = served
    client = TestClient(make_app(model, max_upload=50_000))
    assert Path(clip).stat().st_size > 50_000
    too_big = client.post("/predict", content=Path(clip).read_bytes())
    assert too_big.status_code == 413 and "50000 bytes" in too_big.json()["error"]
    garbage = client.post("/predict", content=b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    assert garbage.status_code == 422
    assert garbage.json()["error"].startswith("AudioLoadError: the upload")
    assert "/tmp" not in garbage.json()["error"]
    no_file = client.post("/predict", files={"other": ("a.wav", b"123")})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]
    empty = client.post("/predict", content=b"")
    assert empty.status_code == 422
    small = client.post("/predict", content=Path(clip).read_bytes()[:40_000])
    assert small.status_code == 200  # a truncated WAV: read what is there
    assert client.get("/health").json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200 and 'id="record"' in page.text


@pytest.fixture(scope="module")
def server(served):
    """``sk-cry serve`` on a loopback port, as a user starts it."""
    _, bundle, _, _ = served
    port, process = start_server(bundle, "--max-upload", "400000",
                                 stderr=subprocess.PIPE)
    yield f"http://127.0.0.1:{port}", process
    process.terminate()
    process.wait(timeout=10)


def _post(url, data):
    request = urllib.request.Request(f"{url}/predict", data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_real_server_on_loopback(served, server):
    model, _, clip, long = served
    url, process = server
    status, body = _post(url, Path(long).read_bytes())
    assert status == 200 and body["label"] == _expected(model, long).label
    status, body = _post(url, os.urandom(500_000))
    assert status == 413
    status, body = _post(url, b"not audio at all")
    assert status == 422
    status, body = _post(url, Path(clip).read_bytes())  # still serving
    assert status == 200 and body["label"] == _expected(model, clip).label
    # bound to the loopback address only
    listening = shutil.which("ss") and subprocess.run(
        ["ss", "-ltn"], capture_output=True, text=True).stdout
    port = url.rsplit(":", 1)[1]
    if listening:
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening


def _browser(fake_audio):
    """Debian's chromium driven by its chromedriver, or a skip that says why."""
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no chromium and chromedriver here: apt-get install chromium "
                    "chromium-driver (.ci/run does)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={fake_audio}",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_page_uploads_and_records_in_a_real_browser(served, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model, _, clip, _ = served
    url, _ = server
    # what the fake microphone plays: a cry, 48 kHz like most sound cards
    import soxr

    X, _ = make_cries(1, duration=3.0, random_state=8)
    mic = tmp_path / "mic.wav"
    sf.write(mic, soxr.resample(X[0], SR, 48000), 48000, subtype="PCM_16")
    browser = _browser(mic)
    try:
        browser.get(url + "/")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: "network" in b.find_element(By.ID, "model").text)
        browser.find_element(By.ID, "file").send_keys(str(clip))
        browser.find_element(By.ID, "send").click()
        wait.until(lambda b: b.find_element(By.ID, "status").text == "Done.")
        expected = _expected(model, clip)
        assert browser.find_element(By.ID, "label").text == expected.label
        shown = {row.get_attribute("data-cls"): float(row.find_elements(By.TAG_NAME, "td")[1].text)
                 for row in browser.find_elements(By.CSS_SELECTOR, "tr.probability")}
        assert shown == pytest.approx(expected.probabilities, abs=1e-3)
        browser.save_screenshot(str(tmp_path / "upload.png"))

        seconds = browser.find_element(By.ID, "seconds")
        seconds.clear()
        seconds.send_keys("2")
        browser.find_element(By.ID, "record").click()
        wait.until(lambda b: b.find_element(By.ID, "status").text in ("Done.",)
                   or "rror" in b.find_element(By.ID, "status").text)
        assert browser.find_element(By.ID, "status").text == "Done."
        label = browser.find_element(By.ID, "label").text
        assert label in ("hungry", "other")  # the recording reached the model
        assert "2.0 s" in browser.find_element(By.ID, "detail").text
    finally:
        browser.quit()


@pytest.mark.parametrize("argv, says", [
    (["--port", "99999"], "--port 99999: a TCP port is 0-65535"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: not an address"),
    (["--port", "IN_USE"], "in use by another program; choose another --port"),
])
def test_serve_checks_host_and_port_before_it_says_serving(served, argv, says):
    _, bundle, _, _ = served
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        argv = [a.replace("IN_USE", str(taken.getsockname()[1])) for a in argv]
        out = subprocess.run([sys.executable, "-m", "sk_cry", "serve", str(bundle), *argv],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "serving" not in out.stdout
    assert says in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
