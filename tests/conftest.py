import os
import subprocess
import sys
from pathlib import Path

import pytest

from sk_cry.datasets import load_folder, make_cries, write_folder

SEED_CRY = Path(
    os.environ.get("SK_CRY_SEED_CRY", Path(__file__).resolve().parents[2] / "shared"
                   / "data" / "seed-cry")
)


@pytest.fixture(scope="session")
def cry_folder(tmp_path_factory):
    """30 synthetic 1-s cries (two classes) written as 16-bit WAV files."""
    X, y = make_cries(30, duration=1.0, random_state=0)
    root = write_folder(X, y, tmp_path_factory.mktemp("cries"), sr=16000,
                        target_names=["other", "hungry"])
    return load_folder(root)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``sk-cry demo`` on 24 synthetic 1-s clips, run once as a user runs it (a
    new interpreter): ``(finished process, its --out folder)``. The demo trains
    and cross-validates a CNN (about 20 s on 2 cores); the test of what it prints
    and writes and the test that no native TensorFlow log reaches the terminal
    share the one run."""
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run(
        [sys.executable, "-m", "sk_cry", "demo", "--n-samples", "24", "--duration", "1",
         "--epochs", "2", "--cv", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    return run, out


@pytest.fixture
def seed_cry():
    if not (SEED_CRY / "train_labels.csv").is_file():
        pytest.skip(f"reference data not found at {SEED_CRY} (../shared is absent); "
                    "set SK_CRY_SEED_CRY to its folder to run this test")
    return SEED_CRY
