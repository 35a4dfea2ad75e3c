"""``sk-cry train`` and ``sk-cry evaluate`` on too little data, empty class folders
and unreadable files: each says what is wrong and what to do, with the smallest
numbers that would work, and exits 0, 1 or 2 as documented; never a traceback.

The folders are tiny synthetic ones (1-s clips from ``make_cries``), so the whole
file runs in about a minute; the CNN trains for 2 epochs where early stopping is
at stake (it is used from 2 epochs on).
"""

import subprocess
import sys

import numpy as np
import pytest

from sk_cry import load
from sk_cry.cli import main
from sk_cry.datasets import make_cries, write_folder


def _folder(path, per_class, names=("hungry", "other")):
    """``per_class`` 1-s clips of each class of ``names``, one sub-folder each."""
    X, y = make_cries(40, duration=1.0, random_state=0)
    rows = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(len(names))])
    return write_folder(X[rows], y[rows], path, sr=16000, target_names=list(names))


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


@pytest.mark.parametrize("model", ["cnn", "svm"])
def test_train_refuses_one_class(tmp_path, capsys, model):
    folder = _folder(tmp_path / "data", 6, names=("hungry",))
    status, _, err = _run(capsys, "train", folder, "--model", model, "--duration", 1,
                          "-o", tmp_path / "m.skcry")
    assert status == 2
    assert f"needs at least two classes, found only 'hungry' in {folder}" in err
    assert "early_stopping" not in err and "5-fold" not in err
    assert not (tmp_path / "m.skcry").exists()


def test_an_empty_class_folder_is_named(tmp_path, capsys):
    folder = _folder(tmp_path / "data", 3, names=("hungry",))
    (folder / "other").mkdir()
    status, _, err = _run(capsys, "train", folder, "--model", "svm", "--duration", 1,
                          "-o", tmp_path / "m.skcry")
    assert status == 2
    assert "needs at least two classes, found only 'hungry'" in err
    assert f"{folder / 'other'} holds no audio files" in err
    # with two classes left it trains, and says which folder it found empty
    _folder(folder, 3)
    (folder / "tired").mkdir()
    status, out, err = _run(capsys, "train", folder, "--model", "svm", "--duration", 1,
                            "-o", tmp_path / "m.skcry")
    assert status == 0, err
    assert f"warning: {folder / 'tired'} holds no audio files" in err
    assert "no class 'tired'" in err
    assert "(hungry 3, other 3)" in out


@pytest.mark.parametrize("per_class, status, message", [
    (1, 2, "needs at least 2 clips of each class there; 'hungry' has 1: add "
     "recordings, or train the CNN (--model cnn)"),
    (2, 0, "needs at least 5 clips of each class there; 'hungry' has 2: calibrating "
     "with 2 folds instead"),
    (3, 0, "'hungry' has 3: calibrating with 3 folds instead"),
])
def test_train_svm_calibrates_with_the_folds_there_are(tmp_path, capsys, per_class,
                                                       status, message):
    folder = _folder(tmp_path / "data", per_class)
    model = tmp_path / "m.skcry"
    got, _, err = _run(capsys, "train", folder, "--model", "svm", "--duration", 1,
                       "-o", model)
    assert got == status
    assert "probability calibration (CalibratedClassifierCV)" in err and message in err
    if status == 0:
        pipe = load(model)
        assert pipe[-1].cv == per_class
        files = sorted(str(p) for p in folder.rglob("*.wav"))
        assert pipe.predict_proba(files).shape == (len(files), 2)
    else:
        assert not model.exists()


@pytest.mark.parametrize("per_class", [1, 2, 3, 4])
def test_train_cnn_without_early_stopping_on_few_clips(tmp_path, capsys, per_class):
    folder = _folder(tmp_path / "data", per_class)
    model = tmp_path / "m.skcry"
    status, out, err = _run(capsys, "train", folder, "--epochs", 2, "--duration", 1,
                            "-o", model, "--quiet")
    assert status == 0, err
    assert "2 epochs" in out
    warned = "early stopping holds out 15% of the training clips" in err
    # 15 % of 7 clips rounds up to 2, one per class: the fewest that can be split
    assert warned == (per_class < 4)
    assert load(model)[-1].early_stopping == (per_class >= 4)
    if warned:
        assert ("needs at least 2 clips of each class and 7 in all; there are "
                f"{2 * per_class} ({per_class} hungry, {per_class} other): training for "
                "all 2 epochs, without early stopping or a validation split") in err


def test_evaluate_two_clips_per_class_with_cv_5(tmp_path, capsys):
    folder = _folder(tmp_path / "data", 2)
    report = tmp_path / "report.html"
    status, out, err = _run(capsys, "evaluate", folder, "--models", "cnn", "--cv", 5,
                            "--epochs", 2, "--duration", 1, "--report", report,
                            "--quiet")
    assert status == 0, err
    assert ("--cv 5 needs at least 5 clips of each class; 'hungry' has 2: evaluating "
            "with 2-fold cross-validation instead") in err
    assert "early stopping holds out 15% of each training fold" in err
    assert "CNN: balanced accuracy" in out and "folds: " in out and report.exists()
    # one training clip of each class per fold: too few for the SVM's calibration
    report.unlink()
    status, out, err = _run(capsys, "evaluate", folder, "--cv", 5, "--epochs", 1,
                            "--duration", 1, "--report", report)
    assert status == 2
    assert ("the SVM's probability calibration (CalibratedClassifierCV) "
            "cross-validates within each training fold of the 2-fold cross-validation, "
            "which needs at least 2 clips of each class there; one holds 1 of") in err
    assert ("with --cv 5 that takes at least 3 clips of each class; or leave the SVM "
            "out (--models cnn)") in err
    assert "CNN:" not in out and not report.exists()  # refused before any fit


def test_evaluate_refuses_one_clip_of_a_class(tmp_path, capsys):
    folder = _folder(tmp_path / "data", 1)
    status, _, err = _run(capsys, "evaluate", folder, "--models", "svm", "--duration", 1,
                          "--report", tmp_path / "r.html")
    assert status == 2
    assert ("cross-validation needs at least 2 clips of each class, so that each class "
            "is both trained on and tested; 'hungry' has 1: add recordings of it") in err


def test_evaluate_leaves_out_an_unreadable_file(tmp_path, capsys):
    folder = _folder(tmp_path / "data", 3)
    broken = folder / "hungry" / "broken.wav"
    broken.write_bytes(b"junk!")
    report = tmp_path / "report.html"
    status, out, err = _run(capsys, "evaluate", folder, "--models", "svm", "--cv", 3,
                            "--duration", 1, "--report", report, "--quiet")
    assert status == 1
    assert f"warning: {broken}: is not readable audio" in err
    assert "and so does the evaluation" in err
    assert "1 of 7 files could not be read and were left out" in err
    assert "error_score" not in err
    assert "SVM: balanced accuracy" in out and "folds: " in out and report.exists()
    # every file of a class unreadable leaves one class: an error, not a report
    for path in (folder / "other").glob("*.wav"):
        path.write_bytes(b"junk!")
    status, _, err = _run(capsys, "evaluate", folder, "--models", "svm", "--duration", 1,
                          "--report", report)
    assert status == 2
    assert "needs at least two classes, found only 'hungry'" in err


def test_no_traceback_from_the_installed_command(tmp_path):
    """The same errors from a separate process: stderr holds the message only."""
    folder = _folder(tmp_path / "data", 1)
    (folder / "other" / "broken.wav").write_bytes(b"junk!")
    _folder(tmp_path / "three", 3)
    (tmp_path / "three" / "other" / "broken.wav").write_bytes(b"junk!")
    runs = {
        ("train", folder, "--model", "svm", "-o", tmp_path / "m.skcry"): 2,
        ("train", tmp_path / "three", "--model", "svm", "-o", tmp_path / "m.skcry"): 2,
        ("evaluate", tmp_path / "three", "--models", "svm", "--report",
         tmp_path / "r.html"): 1,
    }
    for argv, expected in runs.items():
        done = subprocess.run([sys.executable, "-m", "sk_cry", *map(str, argv),
                               "--duration", "1", "--quiet"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == expected, done.stderr[-2000:]
        assert "Traceback" not in done.stderr and "sk-cry " in done.stderr


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0", "-o", "m.skcry"], "--epochs 0: must be at least 1"),
    (["train", "--duration", "nan", "-o", "m.skcry"], "--duration nan: must be seconds"),
    (["train", "-o", "nowhere/m.skcry"], "nowhere/m.skcry: no folder"),
    (["evaluate", "--cv", "1", "--report", "r.html"], "--cv 1: must be at least 2"),
    (["evaluate", "--report", "nowhere/r.html"], "nowhere/r.html: no folder"),
])
def test_options_out_of_range_before_any_file_is_read(tmp_path, capsys, monkeypatch,
                                                      argv, message):
    monkeypatch.chdir(tmp_path)
    folder = _folder(tmp_path / "data", 3)
    status, out, err = _run(capsys, argv[0], folder, *argv[1:])
    assert status == 2 and message in err and out == ""
