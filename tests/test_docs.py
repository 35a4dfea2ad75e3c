"""The documentation builds with warnings as errors, every example runs, and the
API reference covers every public name.

The build (``docs/README.md``) runs the whole gallery, about a minute and a half
on a 2-core machine. It runs in a copy of ``docs/`` and ``examples/`` under
``tmp_path``, so that nothing is written into the checkout, and it is skipped
where the ``docs`` extra is not installed.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason='the docs extra: pip install -e ".[docs]"')
pytest.importorskip("numpydoc", reason='the docs extra: pip install -e ".[docs]"')
pytest.importorskip("sphinx_gallery", reason='the docs extra: pip install -e ".[docs]"')
pytest.importorskip("pydata_sphinx_theme",
                    reason='the docs extra: pip install -e ".[docs]"')

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["sk_cry", "sk_cry.core", "sk_cry.exceptions", "sk_cry.io", "sk_cry.features",
           "sk_cry.datasets", "sk_cry.models", "sk_cry.evaluation", "sk_cry.runtime"]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))
# what the build writes into its source folder: never copied from the checkout
GENERATED = shutil.ignore_patterns("_build", "auto_examples", "gen_modules", "generated",
                                   "sg_execution_times.rst", "sk_cry*.rst", "__pycache__")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site from a copy of the sources; ``(html folder, source folder)``."""
    tmp = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "docs", tmp / "docs", ignore=GENERATED)
    shutil.copytree(ROOT / "examples", tmp / "examples", ignore=GENERATED)
    html = tmp / "html"
    # this checkout's sk_cry, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(tmp / "doctrees"), str(tmp / "docs"), str(html)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, (
        f"the docs build failed (exit {run.returncode}):\n"
        f"{run.stdout[-6000:]}\n{run.stderr[-6000:]}")
    return html, tmp / "docs"


def test_there_are_at_least_six_examples():
    assert len(EXAMPLES) >= 6, EXAMPLES


def test_the_site_has_its_pages(site):
    html, _ = site
    for page in ["index", "getting_started", "user_guide/index", "user_guide/pipeline",
                 "user_guide/evaluation", "user_guide/deployment",
                 "user_guide/detection", "api/index", "auto_examples/index"]:
        assert (html / f"{page}.html").is_file(), page


def test_every_public_name_has_an_api_page(site):
    html, _ = site
    pages = {p.stem for p in (html / "api" / "generated").glob("*.html")}
    for module in MODULES:
        page = (html / "api" / f"{module}.html").read_text(encoding="utf-8")
        for name in importlib.import_module(module).__all__:
            documented = [p for p in pages if p.rsplit(".", 1)[-1] == name]
            assert documented, f"{module}.{name} has no page under api/generated"
            # linked from its module's page, documented there or under "Also here"
            assert any(f'href="generated/{p}.html' in page for p in documented), \
                f"{module}.html does not link {module}.{name}"


def test_the_api_pages_render_the_docstrings(site):
    html, _ = site
    page = (html / "api" / "generated" / "sk_cry.make_cnn_pipeline.html").read_text(
        encoding="utf-8")
    # numpydoc's sections, and the examples that use it (sphinx-gallery)
    for text in ("Parameters", "Returns", "Examples using", "plot_1_pipeline_cv"):
        assert text in page, text


def test_every_example_ran_and_shows_its_output(site):
    html, source = site
    times = (source / "auto_examples" / "sg_execution_times.rst").read_text(
        encoding="utf-8")
    for example in EXAMPLES:
        page = (html / "auto_examples" / f"{example}.html").read_text(encoding="utf-8")
        assert "sphx-glr-script-out" in page, f"{example}: no printed output"
        assert f"sphx_glr_{example}_001.png" in page, f"{example}: no figure"
        # sphinx-gallery lists each example it ran, with its run time
        listed = re.search(rf"{example}\.py.*?\n\s+- (\d\d):(\d\d)\.(\d+)", times, re.S)
        assert listed, f"{example} is not in sg_execution_times.rst"
        # "well under a minute" (docs/README.md), with room for a slow machine
        assert int(listed[1]) < 3, f"{example} took {listed[1]}:{listed[2]} min"
