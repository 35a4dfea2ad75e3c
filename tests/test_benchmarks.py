"""Smoke runs of the benchmark scripts on tiny synthetic input, so they cannot rot."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _smoke(script, *args, timeout=600):
    out = subprocess.run(
        [sys.executable, script, "--smoke", *args], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_reference_split_smoke():
    out = _smoke("reference_split.py")
    table = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 4  # header + (CNN, SVM) x (as recorded, band-matched)
    assert "band-matched 8 kHz | default CNN" in out.stdout


def test_honest_eval_smoke():
    out = _smoke("honest_eval.py", timeout=900)
    assert "[critical] sample_rate" in out.stdout  # the planted 8-kHz class
    table = [line for line in out.stdout.splitlines() if line.startswith("| (")]
    assert len(table) == 9  # 3 setups x (dummy, SVM, CNN)


def test_cnn_levers_smoke():
    # a subset of the rows: each kind of model the script builds (a branch
    # pipeline, the PCEN and delta extractors, waveform augmentation band-limited
    # again in (b), a nested search)
    out = _smoke("cnn_levers.py", "--setups", "cb", "--rows",
                 "dummy,svm-nested,wave-aug,mfcc-only,pcen,deltas", timeout=900)
    table = [line for line in out.stdout.splitlines() if line.startswith("| (")]
    assert len(table) == 2 * 6
    assert "| (b) | CNN + 2 audiomentations copies per clip |" in out.stdout
    assert "| (c) | CNN, MFCCs with deltas and delta-deltas |" in out.stdout
    assert out.stdout.count("    picked {'estimator__C': ") == 2 * 2  # 2 outer folds


def test_choices_smoke():
    out = _smoke("choices.py")
    table = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 7  # header + decode, FFT, dB, training batch, network x3
    assert "ducc0.fft.r2c" in out.stdout and "XLA" in out.stdout and "header check + one read:" in out.stdout
    assert "LiteRT" in out.stdout and "on 32 clips" in out.stdout


def test_features_smoke():
    out = _smoke("features.py")
    assert "speed-up" in out.stdout and "same features: checked" in out.stdout


def test_training_smoke():
    out = _smoke("training.py", timeout=900)
    steps = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert len(steps) == 1 + 6 + 1 + 2  # steps table, reference table (with headers)
    assert "fewer weights" in out.stdout and "faster epochs" in out.stdout


def test_grid_smoke():
    out = _smoke("grid.py")
    # 2 candidates x 2 folds + refit on 16 clips: 5 x 16 extractions without a
    # cache. With one, the maps are cached by content: fold 2's training clips are
    # fold 1's validation clips and the other way round, so 16 for both folds,
    # then 16 for the refit
    assert "| no cache | 80 |" in out.stdout and "| memory= | 32 |" in out.stdout


def test_latency_smoke():
    out = _smoke("latency.py")
    assert "faster than the reference path" in out.stdout
    assert "the steps called one by one (median ms): loader " in out.stdout
    assert ", cnn " in out.stdout


def test_startup_smoke():
    out = _smoke("startup.py")
    assert "| import sk_cry | " in out.stdout and "less memory" in out.stdout
    rows = [line for line in out.stdout.splitlines() if line.startswith("| audit")
            or line.startswith("| SVM grid")]
    assert len(rows) == 2


def test_scale_smoke():
    out = _smoke("scale.py")
    rows = [line for line in out.stdout.splitlines() if line.startswith("| pipeline.")
            or line.startswith("| predict_files")]
    assert len(rows) == 2 and "the files per second of predict_proba" in out.stdout
    # the planted copies: identical, and two overlapping windows (the quieter
    # Vorbis copy of a 6-s clip is a known miss: see sk_cry/evaluation/_duplicates.py)
    for pair in ("clip_00000.wav ~ copy.wav", "clip_00001.wav ~ window_1.wav",
                 "window_1.wav ~ window_2.wav", "clip_00002.wav ~ window_2.wav"):
        assert pair in out.stdout


def test_runtime_smoke():
    out = _smoke("runtime.py")
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    # header + size, load, memory, clip x2, recording x3; header + shared frames x2
    assert len(rows) == 1 + 8 + 1 + 2
    assert "| file size (KB) |" in out.stdout and "windows per second" in out.stdout
    assert "| seconds |" in out.stdout and "frames shared (`detect`)" in out.stdout


def test_serve_smoke():
    out = _smoke("serve.py")
    assert "`POST /predict` on loopback, 50 requests" in out.stdout
    assert "8 concurrent clients" in out.stdout and ", 0 errors;" in out.stdout


def test_detect_smoke():
    out = _smoke("detect.py", "--folds", "2", timeout=900)
    assert out.stdout.count("  outer ") == 2 * 2  # picked, done: per outer fold
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert any(line.startswith("| nested |") for line in rows)
    picks = ast.literal_eval(out.stdout.split("nested picks: ")[1].splitlines()[0])
    assert sum(picks.values()) == 2 and set(picks) <= {"svm-2s", "cnn-2s"}
    assert "| precision | recall | F1 | false alarms / h | median latency |" in out.stdout


def test_train_detector_smoke(tmp_path):
    from sk_cry import runtime

    out = _smoke("train_detector.py", "--out", str(tmp_path / "d.skcry-bundle"),
                 timeout=900)
    assert "chosen: " in out.stdout and "wrote " in out.stdout
    detector = runtime.load(tmp_path / "d.skcry-bundle")
    assert [str(c) for c in detector.classes_] == ["background", "cry"]
    assert set(detector.detection) == {"hop", "rules"}


def test_shared_frames_smoke():
    out = _smoke("shared_frames.py")
    assert "| seconds |" in out.stdout and "frames shared (`detect`)" in out.stdout
    assert "the same 1 events" in out.stdout


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs Debian's mosquitto")
def test_monitor_smoke():
    out = _smoke("monitor.py")
    assert "MQTT subscriber" in out.stdout and "open files" in out.stdout
