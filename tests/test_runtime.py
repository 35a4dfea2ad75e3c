"""Exported bundles: the runtime reproduces the pipeline without TensorFlow,
refuses damaged bundles, and classifies long recordings window by window."""

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.exceptions import NotFittedError

import sk_cry
from sk_cry import ModelFileError, ParameterError, runtime
from sk_cry.datasets import make_cries

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def _write_clips(folder, X, rates):
    """Write clips at several sample rates and channel counts: the runtime must
    read each the way the pipeline's loader does."""
    import soxr

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, x in enumerate(X):
        rate = rates[i % len(rates)]
        y = x if rate == SR else soxr.resample(x, SR, rate)
        if i % 5 == 4:
            y = np.stack([y, 0.5 * y], axis=1)  # stereo
        path = folder / f"clip_{i:02d}.{'flac' if i % 7 == 6 else 'wav'}"
        sf.write(path, y, rate)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    """The default pipeline (6-s clips, 16 kHz), two classes, integer labels."""
    tmp = tmp_path_factory.mktemp("binary")
    X, y = make_cries(44, duration=6.0, random_state=3)
    paths = _write_clips(tmp / "clips", X, [16000, 8000, 44100])
    pipe = sk_cry.make_cnn_pipeline(epochs=2, random_state=0).fit(paths[:24], y[:24])
    bundle = tmp / "binary.skcry-bundle"
    sk_cry.export(pipe, bundle)
    return pipe, bundle, paths


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    """Custom parameters: three named classes, 3-s clips, 8 kHz band limit,
    other band counts and hop."""
    tmp = tmp_path_factory.mktemp("multi")
    X, y = make_cries(42, duration=3.0, random_state=5)
    names = np.array(["hungry", "tired", "pain"])[(y + np.arange(42) % 2 * 2) % 3]
    paths = _write_clips(tmp / "clips", X, [16000, 22050])
    pipe = sk_cry.make_cnn_pipeline(duration=3.0, max_bandwidth=4000, n_mfcc=20,
                                    n_mels=64, hop_length=256, epochs=2, filters=8,
                                    random_state=1)
    pipe.fit(paths[:21], names[:21])
    bundle = tmp / "multi.skcry-bundle"
    sk_cry.export(pipe, bundle)
    return pipe, bundle, paths


@pytest.fixture(scope="module")
def svm_binary(tmp_path_factory):
    """The default SVM pipeline (calibrated RBF SVC), two classes."""
    tmp = tmp_path_factory.mktemp("svm2")
    X, y = make_cries(44, duration=6.0, random_state=4)
    paths = _write_clips(tmp / "clips", X, [16000, 8000])
    pipe = sk_cry.make_svm_pipeline().fit(paths[:30], y[:30])
    sk_cry.export(pipe, tmp / "svm.skcry-bundle")
    return pipe, tmp / "svm.skcry-bundle", paths


@pytest.fixture(scope="module")
def svm_five(tmp_path_factory):
    """Five named classes, 3-s clips, band-limited, C and gamma set."""
    tmp = tmp_path_factory.mktemp("svm5")
    X, y = make_cries(60, n_classes=5, duration=3.0, random_state=6)
    names = np.array(["awake", "diaper", "hug", "sleepy", "uncom"])[y]
    paths = _write_clips(tmp / "clips", X, [16000, 22050])
    pipe = sk_cry.make_svm_pipeline(duration=3.0, max_bandwidth=4000, C=3.0,
                                    gamma=0.02).fit(paths[:40], names[:40])
    sk_cry.export(pipe, tmp / "svm5.skcry-bundle")
    return pipe, tmp / "svm5.skcry-bundle", paths


@pytest.mark.parametrize("config", ["binary", "multiclass", "svm_binary", "svm_five"])
def test_runtime_reproduces_the_pipeline(config, request):
    pipe, bundle, paths = request.getfixturevalue(config)
    model = runtime.load(bundle)
    assert model.classes_.tolist() == pipe.classes_.tolist()
    assert len(paths) >= 40
    expected = pipe.predict_proba(paths)
    got = model.predict_proba(paths)
    assert np.abs(got - expected).max() <= 1e-5
    assert model.predict(paths).tolist() == pipe.predict(paths).tolist()
    # waveforms at the model's rate are taken as the loader takes them: band-limited
    # where the model is, cut to its duration (raw 7-s ones), or padded with silence
    waves = pipe["loader"].transform(paths[:3])
    raw = make_cries(3, duration=7.0, random_state=9)[0]
    longer = np.pad(waves, ((0, 0), (0, 999)), constant_values=0.3)
    shorter = waves[:, :-999]
    for X in (waves, raw, longer, shorter):
        assert np.abs(model.predict_proba(X) - pipe.predict_proba(X)).max() <= 1e-5
    if model.max_bandwidth is None:  # else the band limit rings into the padding
        np.testing.assert_array_equal(model.predict_proba(shorter), model.predict_proba(
            np.pad(shorter, ((0, 0), (0, 999)))))


def test_bundle_is_plain_data_with_versions_and_hashes(binary):
    _, bundle, _ = binary
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        model = json.loads(archive.read("model.json"))
    assert {"manifest.json", "network.tflite", "model.json"} <= names
    assert all(n.endswith((".json", ".tflite", ".npy")) for n in names)
    assert manifest["format_version"] == 2 and manifest["sk_cry_version"] == sk_cry.__version__
    assert model["loader"] == {"sr": 16000, "duration": 6.0, "max_bandwidth": None}
    assert model["front_end"]["input_bands"] == [13, 128]
    assert os.path.getsize(bundle) < 200_000  # the default network: ~100 KB


def _rewrite(source, target, change):
    """Copy a bundle, passing each member's bytes through ``change(name, data)``."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))


def test_damaged_or_foreign_bundles_are_refused(binary, tmp_path):
    _, bundle, _ = binary
    data = bundle.read_bytes()
    (tmp_path / "cut.skcry-bundle").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a complete bundle archive"):
        runtime.load(tmp_path / "cut.skcry-bundle")

    def flip(name, blob):  # one weight's byte in the network
        if name != "network.tflite":
            return blob
        return blob[:5000] + bytes([blob[5000] ^ 0xFF]) + blob[5001:]

    _rewrite(bundle, tmp_path / "tampered.skcry-bundle", flip)
    with pytest.raises(ModelFileError, match="network.tflite differs from the SHA-256"):
        runtime.load(tmp_path / "tampered.skcry-bundle")

    def future(name, blob):
        if name != "manifest.json":
            return blob
        manifest = json.loads(blob)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()

    _rewrite(bundle, tmp_path / "future.skcry-bundle", future)
    with pytest.raises(ModelFileError, match="format version 99.*reads versions 1, 2"):
        runtime.load(tmp_path / "future.skcry-bundle")
    with pytest.raises(ModelFileError, match="does not exist"):
        runtime.load(tmp_path / "missing.skcry-bundle")


def test_svm_bundles_are_plain_data_and_refuse_tampering(svm_binary, tmp_path):
    _, bundle, _ = svm_binary
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        model = json.loads(archive.read("model.json"))
    assert "network.tflite" not in names and model["kind"] == "svm"
    assert {"arrays/support_vectors.npy", "arrays/dual_coef.npy",
            "arrays/calibration_a.npy"} <= names
    assert runtime.load(bundle).kind == "svm"

    def flip(name, blob):  # one byte of one support vector
        if name != "arrays/support_vectors.npy":
            return blob
        return blob[:200] + bytes([blob[200] ^ 0x01]) + blob[201:]

    _rewrite(bundle, tmp_path / "tampered.skcry-bundle", flip)
    with pytest.raises(ModelFileError, match="support_vectors.npy differs from the SHA"):
        runtime.load(tmp_path / "tampered.skcry-bundle")

    def no_kind(name, blob):  # an SVM's arrays under a CNN's name: refused, not run
        if name != "model.json":
            return blob
        return json.dumps({**json.loads(blob), "kind": "cnn"}).encode()

    _rewrite(bundle, tmp_path / "kind.skcry-bundle", no_kind)
    with pytest.raises(ModelFileError):
        runtime.load(tmp_path / "kind.skcry-bundle")


def test_format_version_1_bundles_still_load(binary, tmp_path):
    import hashlib

    pipe, bundle, paths = binary
    with zipfile.ZipFile(bundle) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members.pop("manifest.json")  # a version-1 one is written below
    model = json.loads(members["model.json"])
    del model["kind"]  # what sk_cry 0.1.0 wrote
    members["model.json"] = json.dumps(model).encode()
    old = {"format": "sk_cry-bundle", "format_version": 1, "sk_cry_version": "0.1.0",
           "network_sha256": hashlib.sha256(members["network.tflite"]).hexdigest(),
           "members": {n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                       for n, b in members.items()}}
    with zipfile.ZipFile(tmp_path / "v1.skcry-bundle", "w") as archive:
        archive.writestr("manifest.json", json.dumps(old))
        for name, blob in members.items():
            archive.writestr(name, blob)
    model = runtime.load(tmp_path / "v1.skcry-bundle")
    assert model.sha256 == old["network_sha256"] != runtime.load(bundle).sha256
    assert np.abs(model.predict_proba(paths[:4]) - pipe.predict_proba(paths[:4])).max() \
        <= 1e-5


def test_what_cannot_be_exported_says_why(binary, tmp_path, monkeypatch):
    pipe, _, paths = binary
    X, y = make_cries(12, duration=6.0, random_state=1)
    from sklearn.linear_model import LogisticRegression

    other = sk_cry.make_svm_pipeline(classifier=LogisticRegression()).fit(X, y)
    with pytest.raises(ParameterError, match="only a CNN pipeline.*or an SVM pipeline.*"
                       "probability=True.*keep it with sk_cry.save"):
        sk_cry.export(other, tmp_path / "other.skcry-bundle")
    bare = sk_cry.make_svm_pipeline(probability=False).fit(X, y)
    with pytest.raises(ParameterError, match="no probabilities to export"):
        sk_cry.export(bare, tmp_path / "bare.skcry-bundle")
    with pytest.raises(ParameterError, match="only a CNN pipeline"):
        sk_cry.export(pipe[1:], tmp_path / "no-loader.skcry-bundle")
    with pytest.raises(NotFittedError, match="not fitted"):
        sk_cry.export(sk_cry.make_cnn_pipeline(), tmp_path / "unfitted.skcry-bundle")
    from sk_cry.models import _export

    # a network above the limit, as the reference topology's 51 M weights are
    monkeypatch.setattr(_export, "EXPORT_MAX_WEIGHTS", 1000)
    with pytest.raises(ParameterError, match="weights, more than the 1,000"):
        sk_cry.export(pipe, tmp_path / "large.skcry-bundle")
    assert not (tmp_path / "large.skcry-bundle").exists()


def test_int8_bundles_are_smaller_and_close_to_the_float_ones(binary, svm_binary,
                                                               tmp_path):
    pipe, bundle, paths = binary
    path = tmp_path / "int8.skcry-bundle"
    sk_cry.export(pipe, path, quantize="int8", representative=paths[:24])
    float_, int8 = runtime.load(bundle), runtime.load(path)
    assert (float_.quantization, int8.quantization) == (None, "int8")
    with zipfile.ZipFile(bundle) as a, zipfile.ZipFile(path) as b:
        sizes = [z.getinfo("network.tflite").file_size for z in (a, b)]
    assert sizes[1] < 0.6 * sizes[0]  # int8 weights: a quarter, plus the graph
    p_float, p_int8 = float_.predict_proba(paths), int8.predict_proba(paths)
    assert 0 < np.abs(p_int8 - p_float).max() < 0.1  # quantized, and close
    # waveforms as representative clips give the same ranges, hence the same network
    waves = pipe["loader"].transform(paths[:24])
    sk_cry.export(pipe, tmp_path / "waves.skcry-bundle", quantize="int8",
                  representative=waves)
    assert np.array_equal(runtime.load(tmp_path / "waves.skcry-bundle")
                          .predict_proba(paths), p_int8)
    with pytest.raises(ParameterError, match="needs representative clips"):
        sk_cry.export(pipe, tmp_path / "none.skcry-bundle", quantize="int8")
    with pytest.raises(ParameterError, match="read only to quantize"):
        sk_cry.export(pipe, tmp_path / "float.skcry-bundle", representative=paths)
    with pytest.raises(ParameterError, match="quantize must be None.*or 'int8'"):
        sk_cry.export(pipe, tmp_path / "int4.skcry-bundle", quantize="int4",
                      representative=paths)
    with pytest.raises(ParameterError, match="an SVM pipeline has none"):
        sk_cry.export(svm_binary[0], tmp_path / "svm.skcry-bundle", quantize="int8",
                      representative=paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["int8.skcry-bundle",
                                                          "waves.skcry-bundle"]


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory):
    """20 s: 8 s of cries, 8 s of digital silence, 4 s of cries."""
    X, _ = make_cries(3, duration=4.0, random_state=9)
    audio = np.concatenate([X[0], X[1], np.zeros(8 * SR, np.float32), X[2]])
    path = tmp_path_factory.mktemp("long") / "night.wav"
    sf.write(path, audio, SR, subtype="FLOAT")
    return str(path), audio


def test_windows_cover_the_recording_and_silence_is_not_a_class(binary, long_recording):
    pipe, bundle, _ = binary
    path, audio = long_recording
    model = runtime.load(bundle)
    (rec,) = model.predict_windows([path], window=6.0, hop=3.0)
    assert rec.error is None and rec.duration == pytest.approx(20.0)
    # every 3 s while a window fits, and one more that ends with the recording
    assert [w.start for w in rec.windows] == [0.0, 3.0, 6.0, 9.0, 12.0, 14.0]
    silent = [w.start for w in rec.windows if w.silent]
    assert silent == [9.0]  # 9-15 s lies in the silence (8-16 s); 6-12 s does not
    assert all(w.label is None and w.probabilities is None for w in rec.windows if w.silent)
    heard = [w for w in rec.windows if not w.silent]
    # each window is the clip the pipeline would see: its samples, classified
    starts = [int(w.start * SR) for w in heard]
    expected = pipe.predict_proba(np.stack([audio[s:s + 6 * SR] for s in starts]))
    got = np.array([[w.probabilities[str(c)] for c in model.classes_] for w in heard])
    assert np.abs(got - expected).max() <= 1e-5
    # the aggregate: mean over the windows that are not silent
    mean = expected.mean(axis=0)
    assert rec.probabilities == pytest.approx(dict(zip(map(str, model.classes_), mean)),
                                              abs=1e-5)
    assert rec.label == model.classes_[np.argmax(mean)]
    # the pipeline's function gives the same windows
    (same,) = sk_cry.predict_windows(pipe, [path], window=6.0, hop=3.0)
    assert [w.start for w in same.windows] == [w.start for w in rec.windows]
    assert same.probabilities == pytest.approx(rec.probabilities, abs=1e-5)


def test_short_silent_and_unreadable_recordings(binary, tmp_path):
    _, bundle, paths = binary
    model = runtime.load(bundle)
    short = tmp_path / "short.wav"
    sf.write(short, sf.read(paths[0])[0][: 2 * SR], SR)
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.full(10 * SR, 1e-4), SR)  # -80 dBFS
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt ")
    short_r, quiet_r, broken_r = model.predict_windows([short, quiet, broken])
    assert short_r.padded and len(short_r.windows) == 1 and short_r.label is not None
    assert quiet_r.silent and quiet_r.label is None and all(w.silent for w in quiet_r.windows)
    assert broken_r.error.startswith("AudioLoadError") and "broken.wav" in broken_r.error
    with pytest.raises(ParameterError, match="must be 0.128 to 6 s long"):
        model.predict_windows([short], window=10.0)


@pytest.mark.parametrize("window, hop, says", [
    (1e-9, None, "window=1e-09 s.*0.128 to 6 s long"),
    (6.0, 1e-9, "hop=1e-09 s.*at least one STFT hop \\(0.032 s\\)"),
    (6.0, 7.0, "hop=7 s.*at most the window"),
    (float("nan"), None, "window=nan"),
])
def test_window_and_hop_have_bounds_everywhere(binary, window, hop, says):
    pipe, bundle, paths = binary
    model = runtime.load(bundle)
    for call in (lambda: model.predict_windows(paths[:1], window=window, hop=hop),
                 lambda: sk_cry.predict_windows(pipe, paths[:1], window=window, hop=hop),
                 lambda: list(model.listen((SR, iter([])), window=window, hop=hop))):
        with pytest.raises(ParameterError, match=says):
            call()
    if window == 6.0:
        for call in (lambda: model.detect(paths[:1], hop=hop),
                     lambda: sk_cry.detect(pipe, paths[:1], hop=hop)):
            with pytest.raises(ParameterError, match=says):
                call()


def test_a_file_cut_into_too_many_windows_is_a_record(binary, tmp_path, monkeypatch):
    from sk_cry import core

    pipe, bundle, paths = binary
    model = runtime.load(bundle)
    monkeypatch.setattr(core._frames, "MAX_WINDOWS", 3)  # instead of an 83-hour file
    import sk_cry.io._stream as stream

    monkeypatch.setattr(stream, "MAX_WINDOWS", 3)
    sf.write(tmp_path / "long.wav", np.tile(sf.read(paths[0])[0], 3), SR)
    (windows,) = model.predict_windows([tmp_path / "long.wav"], window=6.0, hop=3.0)
    (events,) = model.detect([tmp_path / "long.wav"], hop=3.0)
    for record in (windows, events):
        assert "more than 3 windows at a hop of 3" in record.error  # 3.008 s: frames


_ISOLATED = """
import json, sys
from sk_cry import runtime
model = runtime.load(sys.argv[1])
paths = json.loads(sys.argv[2])
proba = model.predict_proba(paths)
windows = model.predict_windows(paths[:1], window=model.duration, hop=model.duration / 2)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {
    "tensorflow", "keras", "scikeras", "sklearn", "librosa", "scipy", "joblib",
    "numba"})
print(json.dumps({"proba": proba.tolist(), "heavy": heavy,
                  "windows": len(windows[0].windows)}))
"""


def _run_isolated(python, bundle, paths):
    out = subprocess.run([python, "-c", textwrap.dedent(_ISOLATED), str(bundle),
                          json.dumps(paths)], capture_output=True, text=True,
                         cwd=Path(bundle).parent, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("config", ["binary", "svm_five"])
def test_runtime_imports_no_training_stack(config, request):
    pipe, bundle, paths = request.getfixturevalue(config)
    result = _run_isolated(sys.executable, bundle, paths[:4])
    assert result["heavy"] == []
    assert np.abs(np.array(result["proba"]) - pipe.predict_proba(paths[:4])).max() <= 1e-5


def _runtime_python():
    python = os.environ.get("SK_CRY_RUNTIME_PYTHON") or ROOT / ".venv-runtime/bin/python"
    return Path(python) if Path(python).exists() else None


@pytest.mark.skipif(_runtime_python() is None, reason=(
    "no runtime-only environment: create it with `python3.11 -m venv .venv-runtime && "
    ".venv-runtime/bin/pip install .` (the README's test command does), or set "
    "SK_CRY_RUNTIME_PYTHON"))
@pytest.mark.parametrize("config", ["binary", "svm_five"])
def test_bundle_runs_where_only_the_runtime_is_installed(config, request):
    python = str(_runtime_python())
    check = subprocess.run([python, "-c", "import sklearn"], capture_output=True)
    assert check.returncode != 0, "the runtime environment must not have scikit-learn"
    pipe, bundle, paths = request.getfixturevalue(config)
    result = _run_isolated(python, bundle, paths[:4])
    assert result["heavy"] == [] and result["windows"] == 1
    assert np.abs(np.array(result["proba"]) - pipe.predict_proba(paths[:4])).max() <= 1e-5
    # the training stack is named when asked for
    out = subprocess.run([python, "-c", "import sk_cry; sk_cry.make_cnn_pipeline"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and 'pip install "sk-cry[train]"' in out.stderr


def test_listening_to_a_file_played_in_real_time(binary, long_recording, tmp_path):
    # the microphone's code path, fed by a file at the pace it was recorded
    _, bundle, _ = binary
    path = tmp_path / "ten_seconds.wav"
    sf.write(path, long_recording[1][: 10 * SR], SR)
    model = runtime.load(bundle)
    (whole,) = model.predict_windows([path], window=6.0, hop=3.0)
    start = time.monotonic()
    heard = []
    for w in model.listen(runtime.played(path), window=6.0, hop=3.0):
        heard.append((w, time.monotonic() - start))
    # each window arrives once its audio has been "recorded"
    assert [round(t) for _, t in heard] == [6, 9, 10]
    assert [w.start for w, _ in heard] == [w.start for w in whole.windows]
    assert [w.silent for w, _ in heard] == [w.silent for w in whole.windows]
    for (w, _), v in zip(heard, whole.windows):
        if not w.silent:
            assert w.probabilities == pytest.approx(v.probabilities, abs=1e-5)


def test_microphone_names_what_to_install_when_missing():
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        with pytest.raises(sk_cry.SkCryError, match=r'pip install "sk-cry\[listen\]"'):
            runtime.microphone()
    else:
        pytest.skip("sounddevice is installed here: nothing is missing")


def test_cli_listen_prints_one_line_per_window(binary, tmp_path):
    _, bundle, paths = binary
    short = tmp_path / "four_seconds.wav"
    sf.write(short, sf.read(paths[0])[0][: 4 * SR], SR)
    out = subprocess.run([sys.executable, "-m", "sk_cry", "listen", str(bundle), "--file",
                          str(short), "--window", "2", "--hop", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("listening to") and "2-s windows every 1 s" in lines[0]
    starts = [float(line.split()[0]) for line in lines[1:]]
    assert starts == [0.0, 1.0, 2.0]
    assert all(re.search(r"s  \d +0 [01]\.\d\d  1 [01]\.\d\d$", line) for line in lines[1:])
    assert "tensorflow" not in out.stderr.lower()


_DETECTOR = """
import json, sys
from sk_cry import runtime
detector = runtime.default_detector()
(found,) = detector.detect([sys.argv[1]])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {
    "tensorflow", "keras", "scikeras", "sklearn", "librosa", "scipy", "joblib"})
print(json.dumps({"classes": [str(c) for c in detector.classes_], "heavy": heavy,
                  "events": [e.to_dict() for e in found.events], "error": found.error,
                  "detection": detector.detection, "kind": detector.kind}))
"""


def test_the_default_detector_runs_where_only_the_runtime_is_installed(tmp_path):
    from sk_cry.runtime import DEFAULT_DETECTOR

    assert DEFAULT_DETECTOR.is_file() and DEFAULT_DETECTOR.stat().st_size <= 200_000
    X, _ = make_cries(2, duration=6.0, random_state=0)
    rng = np.random.default_rng(0)
    audio = np.concatenate([0.003 * rng.standard_normal(20 * SR), X[0], X[1],
                            0.003 * rng.standard_normal(20 * SR)]).astype(np.float32)
    sf.write(tmp_path / "night.wav", audio, SR)
    python = _runtime_python() or Path(sys.executable)
    out = subprocess.run([str(python), "-c", _DETECTOR, str(tmp_path / "night.wav")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["classes"] == ["background", "cry"] and result["heavy"] == []
    assert result["error"] is None and set(result["detection"]) == {"hop", "rules"}
    for event in result["events"]:
        assert 0 <= event["start"] < event["end"] <= 52.0
