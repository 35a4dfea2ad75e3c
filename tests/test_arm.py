"""The runtime on 64-bit ARM (aarch64, a Raspberry Pi's architecture):
``tools/arm_check.sh`` exports a CNN and an SVM bundle here, runs them and the
default detector on aarch64 under qemu-user (Debian's arm64 Python 3.11, the
aarch64 wheels of the runtime's dependencies, this tree's sk_cry) as a
Raspberry Pi 3 (or Zero 2 W), 4 and 5 would (their cores, and what their
kernels show), and compares every probability with x86_64's. The script's
header says how and why.

The check takes 65 to 100 s on 2 busy cores. It runs when the script's
environment is ready (``tools/arm_check.sh setup``: Debian 12, root, about 30 s
and 250 MB under ``SK_CRY_ARM_CACHE``), or when ``SK_CRY_ARM=1`` lets the test
set it up first; ``SK_CRY_ARM=0`` skips it.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "arm_check.sh"
TOLERANCE = 1e-5
BOARDS = ("pi3", "pi4", "pi5")  # Cortex-A53, A72 (ARMv8.0) and A76 (ARMv8.2)


def _script(command, env, timeout):
    return subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def arm_env(tmp_path):
    wanted = os.environ.get("SK_CRY_ARM")
    if wanted == "0":
        pytest.skip("SK_CRY_ARM=0")
    if platform.machine() != "x86_64" or shutil.which("dpkg") is None:
        pytest.skip("the emulated aarch64 check runs on x86_64 Debian (qemu-user, "
                    "Debian's arm64 packages)")
    env = {**os.environ, "PYTHON": sys.executable, "SK_CRY_ARM_OUT": str(tmp_path / "arm"),
           "SK_CRY_ARM_TOL": str(TOLERANCE)}
    if _script("ready", env, 60).returncode != 0:
        if wanted != "1":
            pytest.skip("no emulated aarch64 environment: run `tools/arm_check.sh setup` "
                        "(Debian 12, as root, about 30 s), or set SK_CRY_ARM=1 to let "
                        "this test set it up")
        setup = _script("setup", env, 900)
        assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
    return env


def test_runtime_on_aarch64_gives_the_probabilities_of_x86_64(arm_env, tmp_path):
    out = _script("check", {**arm_env, "SK_CRY_ARM_BOARDS": " ".join(BOARDS)}, 900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for board in BOARDS:
        report = json.loads((tmp_path / "arm" / f"compare-{board}.json").read_text())
        assert report["machines"] == ["x86_64", "aarch64"]
        assert report["disagreements"] == []
        # both bundle kinds, and the shipped detector with events and reasons
        assert sorted(report["max_abs_diff"]) == ["cnn", "detector", "svm"]
        assert max(report["max_abs_diff"].values()) <= TOLERANCE
        assert report["training_stack_imported"] == []
        assert report["rfft"] == ["_ducc0_rfft", "_ducc0_rfft"]
        arm = json.loads((tmp_path / "arm" / f"aarch64-{board}.json").read_text())
        assert arm["python"].startswith("3.11.")
        assert arm["models"]["detector"]["events"]
