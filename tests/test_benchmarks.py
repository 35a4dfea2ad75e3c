"""Smoke runs of the benchmark scripts on tiny synthetic input, so they cannot rot."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_reference_split_smoke():
    out = subprocess.run(
        [sys.executable, "reference_split.py", "--smoke"], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 4  # header + (CNN, SVM) x (as recorded, band-matched)
    assert "band-matched 8 kHz | compact CNN" in out.stdout


def test_honest_eval_smoke():
    out = subprocess.run(
        [sys.executable, "honest_eval.py", "--smoke"], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "[critical] sample_rate" in out.stdout  # the planted 8-kHz class
    table = [line for line in out.stdout.splitlines() if line.startswith("| (")]
    assert len(table) == 9  # 3 setups x (dummy, SVM, CNN)


def test_features_smoke():
    out = subprocess.run(
        [sys.executable, "features.py", "--smoke"], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "speed-up" in out.stdout and "same features: checked" in out.stdout
