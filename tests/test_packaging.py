"""The sdist and the wheel stand alone: they carry what the package needs (the
service's page, the default detector, the licence and the data credits) and
nothing of the tests, benchmarks, docs or examples.

The wheel's own environment is tested elsewhere: ``.venv-runtime`` is sk_cry
installed from a wheel of this tree (not editable), where
``tests/test_runtime.py`` runs exported bundles and the default detector.
"""

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build", reason="pip install build (the test extra has it)")
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


def test_the_wheel_carries_the_package_and_nothing_else(dist):
    wheel, _ = dist
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("sk_cry/runtime/detector.skcry-bundle", "sk_cry/service/page.html",
                   "sk_cry/core/_kernel.py", "sk_cry/cli/_detect.py"):
        assert needed in names
    info = [n for n in names if ".dist-info/" in n]
    assert any(n.endswith("licenses/LICENSE") for n in info)
    assert any(n.endswith("licenses/NOTICE") for n in info)
    tops = {n.split("/")[0] for n in names}
    assert tops == {"sk_cry", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1]
                    + ".dist-info"}, tops


def test_the_sdist_builds_the_same_package(dist):
    _, sdist = dist
    names = tarfile.open(sdist).getnames()
    root = names[0].split("/")[0]
    for needed in ("LICENSE", "NOTICE", "README.md", "pyproject.toml",
                   "sk_cry/runtime/detector.skcry-bundle"):
        assert f"{root}/{needed}" in names
