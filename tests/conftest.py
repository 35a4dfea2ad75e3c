import os
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


@pytest.fixture
def seed_cry():
    if not (SEED_CRY / "train_labels.csv").is_file():
        pytest.skip(f"reference data not found at {SEED_CRY} (../shared is absent); "
                    "set SK_CRY_SEED_CRY to its folder to run this test")
    return SEED_CRY
