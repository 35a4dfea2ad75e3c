"""Cry detection: windows that share one STFT, events from a trained detector on
a generated night, live events equal to batch ones, errors as records."""

import io

import numpy as np
import pytest
import soundfile as sf
from _detector import SR, svm_detector
from _detector import night as write_night
from _detector import noise as _noise

import sk_cry
from sk_cry import ParameterError, runtime
from sk_cry.core import FrameWindows, MelSpectrum, hann_window, log_power
from sk_cry.datasets import make_cries
from sk_cry.exceptions import TruncatedAudioWarning


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A 2-s CNN detector trained on synthetic cries against noise, exported."""
    rng = np.random.default_rng(0)
    cries, _ = make_cries(40, duration=2.0, noise=0.0, random_state=0)
    cries = cries * rng.uniform(0.1, 0.5, (40, 1)).astype(np.float32)
    cries += np.stack([_noise(rng, 2 * SR) for _ in range(40)])
    background = np.stack([_noise(rng, 2 * SR, level=rng.uniform(0.01, 0.3))
                           for _ in range(40)])
    X = np.concatenate([cries, background])
    y = np.array(["cry"] * 40 + ["background"] * 40)
    pipe = sk_cry.make_cnn_pipeline(duration=2.0, epochs=8, random_state=0).fit(X, y)
    bundle = tmp_path_factory.mktemp("detector") / "detector.skcry-bundle"
    sk_cry.export(pipe, bundle, detection={"hop": 0.5, "rules": {"n": 2, "m": 3}})
    return pipe, runtime.load(bundle)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """90 s of background with three 4-s cries planted at known times."""
    path = tmp_path_factory.mktemp("night") / "night.wav"
    return path, write_night(path)


def test_shared_frames_equal_the_frames_of_the_window_as_a_clip():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20 * SR).astype(np.float32)
    basis = np.abs(rng.standard_normal((16, 1025))).astype(np.float32)
    params = dict(n_fft=2048, hop_length=512)
    frames = FrameWindows(sr=SR, window=6.0, hop=3.0, stft_window=hann_window(2048),
                          mel_basis=basis, **params)
    clip = MelSpectrum(6 * SR, window=hann_window(2048), mel_basis=basis, **params)
    blocks = np.array_split(x, 7)  # uneven blocks, as a file reader gives
    cut = [(start, db.copy(), wave.copy()) for start, db, wave in frames.cut(blocks)]
    # windows every 3 s while they fit, one more ending with the recording
    assert [round(s, 3) for s, _, _ in cut] == [0.0, 3.008, 6.016, 8.992, 12.0, 14.016]
    assert frames.duration == 20.0 and not frames.padded
    padded = np.pad(x, (0, SR))  # zeros after the end, as the stream's
    for start, db, wave in cut:
        first = int(round(start * SR))
        np.testing.assert_array_equal(wave, padded[first:first + 6 * SR])
        alone = log_power(clip.power(wave))
        # the edge frames too: a clip alone pads them with zeros, not neighbours
        np.testing.assert_allclose(db, alone, rtol=0, atol=1e-4)


def test_short_and_empty_streams():
    basis = np.ones((4, 257), np.float32)
    frames = FrameWindows(sr=SR, window=2.0, hop=1.0, n_fft=512, hop_length=256,
                          stft_window=hann_window(512), mel_basis=basis)
    x = np.ones(SR // 2, np.float32)
    ((start, db, wave),) = list(frames.cut([x]))
    assert start == 0.0 and frames.padded and frames.duration == 0.5
    assert wave.size == 2 * SR and wave[SR // 2:].max() == 0 and db.shape == (4, 126)
    assert list(frames.cut([])) == [] and frames.duration == 0.0


def test_detect_finds_the_planted_cries(detector, night):
    pipe, model = detector
    path, onsets = night
    (found,) = model.detect([path])
    assert found.error is None and found.duration == pytest.approx(90.0)
    assert len(found.events) == len(onsets), found.events
    for event, onset in zip(found.events, onsets):
        assert abs(event.start - onset) <= 2.0 and event.end - event.start >= 2.0
        assert 0.5 <= event.mean <= event.peak <= 1.0
    # the pipeline cuts windows as clips, every 0.5 s exactly: the same events,
    # their times within the 16 ms that the frame grid moves a window
    (same,) = sk_cry.detect(pipe, [path], hop=0.5, rules={"n": 2, "m": 3})
    assert len(same.events) == len(found.events)
    for a, b in zip(same.events, found.events):
        assert abs(a.start - b.start) <= 0.02 and abs(a.end - b.end) <= 0.02


def test_shared_frames_change_probabilities_little(detector, night):
    _, model = detector
    path, _ = night
    (recording,) = model.predict_windows([path], window=2.0, hop=0.5)
    shared = [(s, p) for s, p, _ in model._scored(runtime_blocks(path), 0.5, 1, {})]
    # the per-window path starts windows exactly every 0.5 s, the shared one on
    # the frame grid (within 16 ms): compare where both start alike
    alone = {round(w.start, 3): w.probabilities["cry"] for w in recording.windows
             if not w.silent}
    diffs = [abs(p - alone[round(s, 3)]) for s, p in shared
             if p is not None and round(s, 3) in alone]
    assert len(diffs) >= 20  # every 4 s: 8 hops of 0.5 s are 125 frames of 512
    assert max(diffs) < 1e-4  # float32 round-off


def runtime_blocks(path):
    from sk_cry.io import file_blocks, resample_blocks

    rate, blocks = file_blocks(path)
    return resample_blocks(blocks, rate, SR)


def test_live_events_equal_batch_events(detector, night):
    _, model = detector
    path, _ = night
    (batch,) = model.detect([path])
    x, _ = sf.read(path, dtype="float32")
    source = (SR, iter(np.array_split(x, 360)))  # 0.25-s blocks, as a microphone
    updates = list(model.listen_events(source))
    starts = [e for kind, e in updates if kind == "start"]
    ends = [e for kind, e in updates if kind == "end"]
    assert len(starts) == len(ends) == len(batch.events)
    assert [(e.start, e.end, e.peak) for e in ends] == \
        [(e.start, e.end, e.peak) for e in batch.events]


def test_a_short_clip_is_judged_on_the_windows_it_has(detector, tmp_path):
    _, model = detector
    cry, _ = make_cries(1, duration=1.5, noise=0.0, random_state=3)
    sf.write(tmp_path / "cry.wav", 0.5 * cry[0], SR)
    sf.write(tmp_path / "quiet.wav", _noise(np.random.default_rng(5), 3 * SR), SR)
    cry_found, quiet_found = model.detect([tmp_path / "cry.wav", tmp_path / "quiet.wav"])
    assert len(cry_found.events) == 1 and quiet_found.events == []


def test_a_flac_cut_short_is_searched_up_to_the_cut(detector, tmp_path):
    # a 6-s FLAC cut at 4 s: its decoder fails inside the first 4-s read, and
    # the audio decoded before the failure is searched (it was "no samples")
    _, model = detector
    cry, _ = make_cries(1, duration=3.0, noise=0.0, random_state=3)
    x = _noise(np.random.default_rng(5), 6 * SR)
    x[SR:4 * SR] += 0.5 * cry[0]
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="FLAC", subtype="PCM_16")
    (tmp_path / "cut.flac").write_bytes(buf.getvalue()[:len(buf.getvalue()) * 4 // 6])
    with pytest.warns(TruncatedAudioWarning, match="the decoder stopped part way"):
        (found,) = model.detect([tmp_path / "cut.flac"])
    assert found.error is None and 3.5 <= found.duration < 4.0
    assert len(found.events) == 1 and found.events[0].start < 2.0

def test_errors_are_records_and_bad_settings_raise(detector, tmp_path):
    pipe, model = detector
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "nothing.wav", np.zeros(0, np.float32), SR)
    for found in (model.detect([tmp_path / "missing.wav", tmp_path / "empty.wav",
                                tmp_path / "nothing.wav"]),
                  sk_cry.detect(pipe, [tmp_path / "missing.wav", tmp_path / "empty.wav",
                                       tmp_path / "nothing.wav"])):
        assert [r.events for r in found] == [[], [], []]
        assert all(r.error.startswith("AudioLoadError") for r in found), found
        assert "no such file" in found[0].error and "missing.wav" in found[0].error
    with pytest.raises(ParameterError, match="hop"):
        model.detect([tmp_path / "x.wav"], hop=5.0)
    with pytest.raises(ParameterError, match="positive='dog'"):
        model.detect([tmp_path / "x.wav"], positive="dog")
    with pytest.raises(ParameterError, match="threshold"):
        model.detect([tmp_path / "x.wav"], rules={"threshold": 2})


def test_a_reason_model_labels_each_event(detector, night, tmp_path):
    pipe, model = detector
    path, onsets = night
    X, y = make_cries(24, duration=2.0, random_state=2)
    reason = sk_cry.make_svm_pipeline(duration=2.0).fit(
        X, np.array(["hungry", "other"])[y])
    (found,) = model.detect([path], reason=reason)
    assert len(found.events) == len(onsets)
    for event in found.events:
        assert set(event.reason_probabilities) == {"hungry", "other"}
        assert sum(event.reason_probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert event.reason == max(event.reason_probabilities,
                                   key=event.reason_probabilities.get)
    with pytest.raises(ParameterError, match="8000 Hz"):
        model.detect([path], reason=sk_cry.make_svm_pipeline(sr=8000, duration=2.0)
                     .fit(X[:, ::2], y))


def _cli(*argv):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "sk_cry", *map(str, argv)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def detector_bundle(detector, tmp_path_factory):
    pipe, _ = detector
    path = tmp_path_factory.mktemp("cli") / "detector.skcry-bundle"
    sk_cry.export(pipe, path, detection={"hop": 0.5, "rules": {"n": 2, "m": 3}})
    return path


def test_cli_detect_prints_events_as_json_csv_and_a_table(detector_bundle, night,
                                                          tmp_path):
    import csv
    import io
    import json

    path, onsets = night
    out = _cli("detect", path, tmp_path / "missing.wav", "--model", detector_bundle,
               "--format", "json")
    assert out.returncode == 1, out.stderr  # one file could not be read
    found = json.loads(out.stdout)
    assert [r["path"] for r in found] == [str(path), str(tmp_path / "missing.wav")]
    assert len(found[0]["events"]) == len(onsets) and found[0]["error"] is None
    assert {"start", "end", "peak", "mean"} <= set(found[0]["events"][0])
    assert found[1]["events"] == [] and "no such file" in found[1]["error"]
    out = _cli("detect", path, "--model", detector_bundle, "--format", "csv",
               "--threshold", "0.99")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.returncode == 0 and len(rows) <= len(onsets)
    out = _cli("detect", path, "--model", detector_bundle)
    assert out.returncode == 0 and out.stdout.count(str(path)[-30:]) == len(onsets)
    out = _cli("detect", path, "--model", detector_bundle, "--hop", "9")
    assert out.returncode == 2 and "hop" in out.stderr and "Traceback" not in out.stderr


def test_cli_listen_reports_events_as_they_start_and_end(detector_bundle, night):
    path, onsets = night
    out = _cli("listen", detector_bundle, "--events", "--file", path, "--speed", "0")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum("cry started" in line for line in lines) == len(onsets)
    assert sum("cry ended" in line for line in lines) == len(onsets)


def test_an_exported_svm_detects_as_its_pipeline(night, tmp_path):
    path, onsets = night
    svm = svm_detector(tmp_path / "svm.skcry-bundle")
    model = runtime.load(tmp_path / "svm.skcry-bundle")
    (found,) = model.detect([path])
    (same,) = sk_cry.detect(svm, [path], hop=0.5)
    assert len(found.events) == len(same.events) == len(onsets)
    for a, b, onset in zip(found.events, same.events, onsets):
        assert abs(a.start - onset) <= 2.0
        assert abs(a.start - b.start) <= 0.02 and abs(a.end - b.end) <= 0.02


def test_the_default_detector_finds_real_cries_in_a_real_room(tmp_path):
    from pathlib import Path

    from sk_cry.datasets import load_background, make_night

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "background" / "sources.csv").is_file():
        pytest.skip(f"shared data not found at {shared} (../shared is absent)")
    cries = sorted(str(p) for p in (shared / "seed-cry" / "test").glob("*.wav"))
    bg = load_background(shared / "background")
    night = make_night(cries, bg.paths, tmp_path, background_groups=bg.groups,
                       duration=240.0, cries_per_hour=45, snr_db=(5.0, 20.0),
                       random_state=0)
    (found,) = runtime.default_detector().detect(night.paths)
    assert found.error is None and found.duration == pytest.approx(240.0, abs=0.01)
    hit = [any(e.start < a["offset"] and e.end > a["onset"] for e in found.events)
           for a in night.annotations]
    # the detector heard these cries in training: this checks that it runs on
    # real audio end to end, not how well it does (benchmarks/detect.py does)
    assert len(hit) == 3 and sum(hit) >= 2, (found.events, night.annotations)
