"""The HTTP service on an exported bundle: through a test client, on a real
uvicorn on a loopback port, and its page in a real headless browser; /detect
on a detector and a recording with cries planted at known times."""

import copy
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _detector import noise as _noise
from _serving import form, post, start_server

import sk_cry
from sk_cry import ParameterError, runtime
from sk_cry.datasets import make_cries

try:
    from starlette.testclient import TestClient
except ImportError:
    pytest.skip("the service needs the serve extra: pip install 'sk-cry[serve]'",
                allow_module_level=True)

from sk_cry.service import make_app

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


def test_real_server_on_loopback(served, server):
    model, _, clip, long = served
    url, _ = server
    status, body = post(f"{url}/predict", Path(long).read_bytes())
    assert status == 200 and body["label"] == _expected(model, long).label
    status, body = post(f"{url}/predict", os.urandom(500_000))
    assert status == 413
    status, body = post(f"{url}/predict", b"not audio at all")
    assert status == 422
    status, body = post(f"{url}/predict", Path(clip).read_bytes())  # still serving
    assert status == 200 and body["label"] == _expected(model, clip).label
    # bound to the loopback address only
    listening = shutil.which("ss") and subprocess.run(
        ["ss", "-ltn"], capture_output=True, text=True, check=True).stdout
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
        # ... and searched for cries: this classifier's last class, "other"
        assert browser.find_element(By.CSS_SELECTOR, "#plot svg").is_displayed()
        events = browser.find_element(By.ID, "events").text
        assert events.startswith(("other ", "no other"))
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
                             capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "serving" not in out.stdout
    assert says in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


# -- /detect on a detector ----------------------------------------------------

ONSETS = [6.0, 19.0]  # the planted cries, 4 s each
SILENCE = (25.0, 28.0)  # digital silence: the windows within it are silent


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """An SVM detector on 2-s clips, exported with ``detection={"hop": 0.5}`` and
    served by ``sk-cry serve --max-seconds 40``: ``(model, url, night)``, where
    the night is 30 s of background with cries at ``ONSETS`` and digital
    silence over ``SILENCE``. Trains in a second."""
    tmp = tmp_path_factory.mktemp("detector")
    rng = np.random.default_rng(0)
    cries, _ = make_cries(40, duration=2.0, noise=0.0, random_state=0)
    cries = cries * 0.3 + np.stack([_noise(rng, 2 * SR) for _ in range(40)])
    background = np.stack([_noise(rng, 2 * SR, level=rng.uniform(0.01, 0.3))
                           for _ in range(40)])
    # background that falls silent part way, else the SVM hears a cry in the
    # windows that overlap the night's silence
    for k, cut in enumerate(rng.integers(SR // 4, 2 * SR - SR // 4, 20)):
        if k % 2:
            background[k, cut:] = 0
        else:
            background[k, :cut] = 0
    X, y = np.concatenate([cries, background]), ["cry"] * 40 + ["background"] * 40
    svm = sk_cry.make_svm_pipeline(duration=2.0).fit(X, np.array(y))
    bundle = tmp / "detector.skcry-bundle"
    sk_cry.export(svm, bundle, detection={"hop": 0.5})

    x = _noise(np.random.default_rng(1), 30 * SR, level=0.05)
    planted, _ = make_cries(len(ONSETS), duration=4.0, noise=0.0, random_state=7)
    for onset, cry in zip(ONSETS, planted):
        x[int(onset * SR):int(onset * SR) + cry.size] += 0.5 * cry
    x[int(SILENCE[0] * SR):int(SILENCE[1] * SR)] = 0
    night = tmp / "night.wav"
    sf.write(night, x, SR, subtype="PCM_16")

    port, process = start_server(bundle, "--max-seconds", "40", stderr=subprocess.PIPE)
    yield runtime.load(bundle), f"http://127.0.0.1:{port}", night
    process.terminate()
    process.wait(timeout=10)


def test_detect_answers_the_events_and_windows_of_an_upload(detector):
    model, url, night = detector
    (expected,) = model.detect([night], windows=True)
    with urllib.request.urlopen(f"{url}/health", timeout=30) as answer:
        health = json.load(answer)
    assert health["detection"] == {
        "hop": 0.5, "window": 2.0, "positive": "cry",
        "rules": {"threshold": 0.5, "release": None, "n": 2, "m": 3,
                  "min_duration": 0.0, "merge_gap": 0.0}}
    data = night.read_bytes()
    status, body = post(f"{url}/detect", *form([("file", "night.wav", data)]))
    assert status == 200, body
    # sk-cry detect --format json's record, with the upload's file name
    assert body == {**expected.to_dict(), "path": "night.wav", "truncated": False,
                    "warnings": [], "detection": health["detection"],
                    "model": health["model"]}
    assert [(e["start"], e["end"]) for e in body["events"]] == [
        (e.start, e.end) for e in expected.events]
    # the planted cries and nothing else; an event spans the windows that hear it
    assert len(body["events"]) == len(ONSETS)
    for event, onset in zip(body["events"], ONSETS):
        assert onset - 2.0 <= event["start"] <= onset and \
            onset + 4.0 <= event["end"] <= onset + 6.0
        assert 0.5 <= event["mean"] <= event["peak"] <= 1.0
    # one window every 0.512 s (0.5 s on the STFT's grid), one more at the end
    starts = [start for start, _ in body["windows"]]
    assert len(starts) == 56 == pytest.approx((30.0 - 2.0) / 0.5, abs=2)
    assert np.allclose(np.diff(starts[:-1]), 0.512) and starts[-1] == 28.0
    silent = [start for start, p in body["windows"] if p is None]
    assert silent and all(SILENCE[0] <= s and s + 2.0 <= SILENCE[1] for s in silent)
    # as the raw body, or a part without a file name: no name to give
    for sent in [(data,), form([("file", None, data)])]:
        status, other = post(f"{url}/detect", *sent)
        assert status == 200 and other == {**body, "path": None}


def _flac(y):
    out = io.BytesIO()
    sf.write(out, y, SR, format="FLAC")
    return out.getvalue()


def test_detect_refuses_what_predict_refuses(detector):
    _, url, night = detector
    status, body = post(f"{url}/detect", b"not audio at all")
    assert status == 422 and body["error"] == (
        "AudioLoadError: the upload: is not readable audio (Format not recognised); "
        "convert it to WAV, FLAC or OGG")
    minute = _flac(np.zeros(60 * SR, np.float32))  # 60 s: more than --max-seconds 40
    status, body = post(f"{url}/detect", minute)
    assert status == 413 and body["error"].startswith(
        "the upload holds 60.0 s of audio, more than the 40 s this service decodes")
    status, body = post(f"{url}/detect", *form([("audio", "night.wav", b"RIFF")]))
    assert status == 400 and "no part named 'file' (it sent 'audio')" in body["error"]
    status, body = post(f"{url}/detect", b"")
    assert status == 422 and body["error"].startswith("empty upload")
    status, body = post(f"{url}/detect", night.read_bytes())  # still serving
    assert status == 200 and len(body["events"]) == len(ONSETS)


def test_bad_detection_settings_are_refused_when_the_app_is_made(detector):
    model, _, _ = detector
    broken = copy.copy(model)
    broken.detection = {"hop": 0.5, "rules": {"n": 9}}
    with pytest.raises(ParameterError, match=r"^EventRules.n=9 is invalid"):
        make_app(broken)


def test_page_plots_the_cry_probability_and_the_events(detector, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model, url, night = detector
    (expected,) = model.detect([night], windows=True)
    browser = _browser(night)
    try:
        browser.set_window_size(800, 1100)
        browser.get(url + "/")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: "events of cry" in b.find_element(By.ID, "model").text)
        browser.find_element(By.ID, "file").send_keys(str(night))
        browser.find_element(By.ID, "send").click()
        wait.until(lambda b: b.find_element(By.ID, "status").text == "Done."
                   or "rror" in b.find_element(By.ID, "status").text)
        assert browser.find_element(By.ID, "status").text == "Done."
        assert browser.find_element(By.ID, "label").text in ("cry", "background")
        listed = "; ".join(f"cry {e.start:.1f}–{e.end:.1f} s, peak {e.peak:.2f}"
                           for e in expected.events)
        assert browser.find_element(By.ID, "events").text == listed
        plot = browser.find_element(By.CSS_SELECTOR, "#plot svg")
        assert plot.get_attribute("role") == "img"
        assert plot.get_attribute("aria-label") == (
            f"Probability of cry over 30.0 s, threshold 0.5: {listed}")
        spans = browser.find_elements(By.CSS_SELECTOR, "#plot rect.event")
        assert len(spans) == len(expected.events) == len(ONSETS)
        labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR,
                                                         "#plot text.event-label")]
        assert labels == [f"{e.start:.1f}–{e.end:.1f} s" for e in expected.events]
        assert len(browser.find_elements(By.CSS_SELECTOR, "#plot line.threshold")) == 1
        # one dot per window that is not silent; the silence breaks the line once
        heard = [p for _, p in expected.windows if p is not None]
        assert len(browser.find_elements(By.CSS_SELECTOR, "#plot circle.window")) == \
            len(heard)
        line = browser.find_element(By.CSS_SELECTOR, "#plot path.probability")
        assert line.get_attribute("d").count("M") == 2
        browser.save_screenshot(str(tmp_path / "page_detect.png"))
    finally:
        browser.quit()
