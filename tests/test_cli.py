import subprocess
import sys

import pytest

from sk_cry import load
from sk_cry.cli import main


@pytest.fixture(scope="module")
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


def test_demo_runs_end_to_end(demo_run):
    run, tmp_path = demo_run
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "balanced accuracy per fold" in out and "CNN" in out and "SVM" in out
    assert "chance is 0.50" in out
    assert out.count("distinguishable from chance") + out.count("Above chance") == 2
    assert "the bundle on sk_cry.runtime" in out and "true label" in out
    assert (tmp_path / "cnn.skcry-bundle").exists()
    pipe = load(tmp_path / "cnn_pipeline.skcry")
    wavs = sorted((tmp_path / "data").rglob("*.wav"))
    assert len(wavs) == 24
    assert pipe.predict_proba([str(wavs[0])]).shape == (1, 2)


def test_command_line_prints_no_native_tensorflow_logs(demo_run):
    # the demo imports TensorFlow, fits Keras models (tf.data) and predicts on
    # LiteRT (XNNPACK): each prints native log lines unless the CLI filters them
    out, _ = demo_run
    assert out.returncode == 0, out.stderr[-3000:]
    assert "the bundle on sk_cry.runtime" in out.stdout
    for noise in ("oneDNN", "absl", "XNNPACK", "NodeDef", "I0000", "E0000"):
        assert noise not in out.stderr, out.stderr[-3000:]


def test_audit_command_flags_a_confounded_folder(tmp_path, capsys):
    import librosa
    import soundfile as sf

    from sk_cry.datasets import make_cries, write_folder

    X, y = make_cries(24, duration=1.0, random_state=0)
    write_folder(X, y, tmp_path, sr=16000, target_names=["other", "hungry"])
    assert main(["audit", str(tmp_path), "--n-jobs", "1"]) == 0
    for path in (tmp_path / "hungry").glob("*.wav"):
        x, sr = sf.read(path)
        sf.write(path, librosa.resample(x, orig_sr=sr, target_sr=8000), 8000)
    assert main(["audit", str(tmp_path), "--n-jobs", "1"]) == 1
    assert "[critical] sample_rate" in capsys.readouterr().out


def test_audit_exit_status_clean_unreadable_and_missing_folder(tmp_path, capsys):
    from sk_cry.datasets import make_cries, write_folder

    X, y = make_cries(8, duration=1.0, random_state=0)
    write_folder(X, y, tmp_path / "clean", sr=16000, target_names=["other", "hungry"])
    assert main(["audit", str(tmp_path / "clean"), "--n-jobs", "1"]) == 0
    (tmp_path / "clean" / "hungry" / "broken.wav").write_bytes(b"RIFF0000WAVE")
    assert main(["audit", str(tmp_path / "clean"), "--n-jobs", "1"]) == 0
    assert "[warning] unreadable" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
    assert "sk-cry audit: error:" in capsys.readouterr().err


def test_train_export_predict_from_a_folder(tmp_path, capsys):
    import csv
    import io
    import json
    import subprocess
    import sys

    import numpy as np

    from sk_cry import runtime
    from sk_cry.datasets import make_cries, write_folder

    X, y = make_cries(24, duration=2.0, random_state=2)
    write_folder(X, y, tmp_path / "data", sr=16000, target_names=["other", "hungry"])
    model, bundle = tmp_path / "cry.skcry", tmp_path / "cry.skcry-bundle"
    assert main(["train", str(tmp_path / "data"), "--epochs", "3", "--duration", "2",
                 "-o", str(model), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "on 24 files (hungry 12, other 12)" in out and "3 epochs" in out
    assert main(["export", str(model), str(bundle)]) == 0
    capsys.readouterr()
    int8 = tmp_path / "int8.skcry-bundle"
    assert main(["export", str(model), str(int8), "--quantize", "int8",
                 "--representative", str(tmp_path / "data")]) == 0
    assert ", int8, format version" in capsys.readouterr().out
    assert runtime.load(int8).quantization == "int8"
    assert main(["export", str(model), str(int8), "--quantize", "int8"]) == 2
    assert "--quantize int8 and --representative FOLDER go together" in \
        capsys.readouterr().err
    files = sorted(str(p) for p in (tmp_path / "data").rglob("*.wav"))
    (tmp_path / "bad.wav").write_bytes(b"RIFF....WAVEfmt ")
    # a saved pipeline and its bundle give the same rows, names not integers
    tables = {}
    for which in (model, bundle):
        status = main(["predict", str(which), str(tmp_path / "data"),
                       str(tmp_path / "bad.wav"), "--format", "csv", "--quiet"])
        assert status == 1  # one file failed; the others are predicted
        tables[which] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    rows = tables[bundle]
    assert [r["path"] for r in rows] == files + [str(tmp_path / "bad.wav")]
    assert {r["label"] for r in rows[:-1]} <= {"hungry", "other"}
    assert rows[-1]["label"] == "" and "AudioLoadError" in rows[-1]["note"]
    for a, b in zip(tables[model], rows):
        assert a["label"] == b["label"]
        if a["p_hungry"]:
            assert abs(float(a["p_hungry"]) - float(b["p_hungry"])) <= 1e-3
    expected = runtime.load(bundle).predict_proba(files[:1])[0]
    # windows, as JSON, in a runtime-only subprocess (no TensorFlow loaded)
    out = subprocess.run([sys.executable, "-m", "sk_cry", "predict", str(bundle),
                          files[0], "--window", "1", "--hop", "0.5", "--format", "json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["start"] for r in records] == [None, 0.0, 0.5, 1.0]
    assert records[0]["path"] == files[0] and "tensorflow" not in out.stderr.lower()
    whole = main(["predict", str(bundle), files[0], "--format", "json"])
    assert whole == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert np.allclose([record["probabilities"][n] for n in ("hungry", "other")],
                       expected, atol=1e-6)


def test_train_model_auto_saves_what_nested_cross_validation_chose(tmp_path, capsys):
    import re

    from sklearn.calibration import CalibratedClassifierCV

    from sk_cry.datasets import make_cries, write_folder

    X, y = make_cries(24, duration=1.0, random_state=3)
    write_folder(X, y, tmp_path / "data", sr=16000, target_names=["other", "hungry"])
    model = tmp_path / "auto.skcry"
    assert main(["train", str(tmp_path / "data"), "--model", "auto", "--epochs", "1",
                 "--duration", "1", "--cv", "2", "-o", str(model), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "by nested cross-validation: 2-fold, a 3-fold grid search" in out
    scores = {name: float(ba) for name, ba in re.findall(
        r"^(svm|cnn): balanced accuracy ([\d.]+) \(95 % CI", out, re.M)}
    assert set(scores) == {"svm", "cnn"}
    winner = max(scores, key=scores.get)  # the SVM first on a tie, as listed
    assert re.search(rf"^{winner}: .*<- chosen$", out, re.M)
    (setting,) = re.findall(rf"^chose the {winner.upper()} \((.*)\), fitted on all 24",
                            out, re.M)
    saved = load(model)
    assert isinstance(saved[-1], CalibratedClassifierCV) == (winner == "svm")
    if winner == "svm":
        assert f"C={saved[-1].estimator.C}" in setting
    assert set(saved.predict([str(p) for p in (tmp_path / "data").rglob("*.wav")])) \
        <= {"hungry", "other"}
    # too few clips for a grid search inside each training fold: said, before fitting
    write_folder(X[:6], y[:6], tmp_path / "few", sr=16000)
    assert main(["train", str(tmp_path / "few"), "--model", "auto", "--duration", "1",
                 "--cv", "2", "-o", str(model)]) == 2
    assert "needs at least 2 clips of each class there" in capsys.readouterr().err


def test_export_and_serve_refuse_what_they_cannot_use(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    from sk_cry import make_svm_pipeline, runtime, save
    from sk_cry.datasets import make_cries

    X, y = make_cries(12, duration=1.0, random_state=0)
    svm = save(make_svm_pipeline(duration=1.0).fit(X, y), tmp_path / "svm.skcry")
    assert main(["export", str(svm), str(tmp_path / "svm.bundle")]) == 0
    assert "wrote " in capsys.readouterr().out
    assert runtime.load(tmp_path / "svm.bundle").kind == "svm"
    other = save(make_svm_pipeline(duration=1.0, classifier=LogisticRegression())
                 .fit(X, y), tmp_path / "other.skcry")
    assert main(["export", str(other), str(tmp_path / "other.bundle")]) == 2
    assert "only a CNN pipeline" in capsys.readouterr().err
    assert main(["serve", str(svm)]) == 2
    assert "sk-cry export" in capsys.readouterr().err


def test_evaluate_writes_a_self_contained_report(tmp_path, capsys):
    import re

    from sk_cry.datasets import make_cries, write_folder

    X, y = make_cries(20, duration=1.0, random_state=5)
    write_folder(X, y, tmp_path / "data", sr=16000, target_names=["other", "hungry"])
    report = tmp_path / "report.html"
    assert main(["evaluate", str(tmp_path / "data"), "--models", "cnn,svm", "--cv", "2",
                 "--epochs", "1", "--duration", "1", "--report", str(report),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("distinguishable from chance") + out.count("Above chance") == 2
    page = report.read_text()
    assert "<h2>Audit</h2>" in page and "every file has sample rate 16000" in page
    assert page.count("pooled out-of-fold confusion matrix") == 2
    assert "log-mel spectrogram, class hungry" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 4
    assert "http://" not in page and "https://" not in page  # viewable offline
    assert main(["evaluate", str(tmp_path / "data"), "--models", "knn",
                 "--report", str(report)]) == 2


def test_progress_bars_on_a_terminal_only(tmp_path):
    import shlex
    import shutil
    import subprocess
    import sys

    import pytest

    from sk_cry.datasets import make_cries, write_folder

    if not shutil.which("script"):
        pytest.skip("no `script` (util-linux) to give the command a terminal")
    X, y = make_cries(12, duration=1.0, random_state=1)
    write_folder(X, y, tmp_path / "data", sr=16000, target_names=["other", "hungry"])
    command = [sys.executable, "-m", "sk_cry", "train", str(tmp_path / "data"),
               "--epochs", "2", "--duration", "1", "-o", str(tmp_path / "m.skcry")]
    seen = {}
    for extra in ([], ["--quiet"]):
        line = shlex.join(command + extra)
        on_tty = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True,
                                text=True, timeout=300)
        assert on_tty.returncode == 0, on_tty.stdout[-2000:]
        seen[bool(extra)] = on_tty.stdout.replace("\r", "\n")
    assert "epochs:" in seen[False] and "loss=" in seen[False]
    assert "epochs:" not in seen[True]
    for out in seen.values():
        assert "decoded and computed features" in out and "2 epochs" in out
    piped = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and "epochs:" not in piped.stderr + piped.stdout


def test_train_fits_the_model_pipe_fit_fits(tmp_path, capsys):
    """``sk-cry train`` is ``make_cnn_pipeline(...).fit(paths, y)`` with the same
    options and seed: the same probabilities, and a file without the progress
    callback it was fitted with."""
    import numpy as np

    from sk_cry import make_cnn_pipeline
    from sk_cry.datasets import load_folder, make_cries, write_folder

    X, y = make_cries(16, duration=1.0, random_state=3)
    folder = write_folder(X, y, tmp_path / "data", sr=16000,
                          target_names=["other", "hungry"])
    model = tmp_path / "cry.skcry"
    assert main(["train", str(folder), "--epochs", "2", "--duration", "1", "--seed",
                 "4", "-o", str(model)]) == 0
    out = capsys.readouterr().out
    assert "decoded and computed features" in out and "2 epochs" in out
    data = load_folder(folder)
    labels = data.target_names[data.target]
    pipe = make_cnn_pipeline(epochs=2, duration=1.0, random_state=4)
    pipe.fit(data.paths, labels)
    trained = load(model)
    assert trained[-1].early_stopping  # 16 clips hold out a validation split
    assert len(trained[-1].history_["val_loss"]) == len(pipe[-1].history_["val_loss"])
    np.testing.assert_allclose(trained.predict_proba(data.paths),
                               pipe.predict_proba(data.paths), rtol=0, atol=1e-6)
    assert trained[-1].get_params()["callbacks"] is None


def test_option_defaults_are_the_librarys(capsys):
    """An option that defaults to a library value shows that value, read from
    the library (the service's constants, the monitor's classes), not a copy."""
    import inspect

    import pytest

    from sk_cry.monitor import ClipRecorder
    from sk_cry.service import DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_UPLOAD

    for command in ("serve", "monitor"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"(default {DEFAULT_MAX_UPLOAD};" in shown
    assert f"(default {DEFAULT_MAX_CONCURRENT});" in shown
    pre_roll = inspect.signature(ClipRecorder).parameters["pre_roll"].default
    assert f"seconds before the event (default {pre_roll:g})" in shown


def test_every_entry_named_like_audio_gets_a_row_in_every_format(tmp_path, capsys):
    import csv
    import io
    import json
    import os
    from pathlib import Path

    import soundfile as sf

    from sk_cry import make_svm_pipeline, save
    from sk_cry.datasets import make_cries

    X, y = make_cries(12, duration=1.0, random_state=0)
    model = save(make_svm_pipeline(duration=1.0).fit(X, y), tmp_path / "m.skcry")
    odd = tmp_path / "odd"
    (odd / "dir.wav").mkdir(parents=True)
    os.mkfifo(odd / "fifo.wav")
    (odd / "broken.wav").symlink_to(odd / "nowhere.wav")
    (odd / "loop.wav").symlink_to(odd / "loop.wav")
    (odd / "notes.txt").write_text("not audio: no row")
    sf.write(odd / "new\nline.wav", X[0], 16000)
    sf.write(odd / "dir.wav" / "inside.wav", X[1], 16000)
    why = {"broken.wav": "no such file", "dir.wav": "is a directory",
           "fifo.wav": "is not a regular file (a FIFO)",
           "loop.wav": "Too many levels of symbolic links"}
    assert main(["predict", str(model), str(odd), "--format", "json"]) == 1
    rows = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(why) | {"new\nline.wav", "inside.wav"}
    for name, says in why.items():
        assert says in rows[name]["error"]
    assert rows["new\nline.wav"]["error"] is None and rows["inside.wav"]["label"] is not None
    assert main(["predict", str(model), str(odd), "--format", "csv"]) == 1
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(table) == 6 and any(r["path"].endswith("new\nline.wav") for r in table)
    assert main(["predict", str(model), str(odd)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 6 and any("new\\nline.wav" in line for line in lines)


def test_empty_and_special_files_are_named_for_what_they_are(tmp_path, capsys):
    from sk_cry import make_svm_pipeline, save
    from sk_cry.datasets import make_cries

    X, y = make_cries(12, duration=1.0, random_state=0)
    model = save(make_svm_pipeline(duration=1.0).fit(X, y), tmp_path / "m.skcry")
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "empty.skcry-bundle").write_bytes(b"")
    assert main(["predict", str(model), str(tmp_path / "empty.wav")]) == 1
    assert "is empty (0 bytes): there is no audio in it" in capsys.readouterr().out
    for bad, says in ((tmp_path / "empty.skcry-bundle", "is empty (0 bytes), not a bundle"),
                      ("/dev/null", "is not a regular file"),
                      (tmp_path / "nothing", "No such file or directory")):
        assert main(["predict", str(bad), str(tmp_path / "empty.wav")]) == 2
        err = capsys.readouterr().err
        assert says in err and "joblib.load" not in err


def test_truncated_files_are_flagged_in_every_output(tmp_path, capsys):
    import csv
    import io
    import json

    import pytest
    import soundfile as sf

    from sk_cry import export, make_svm_pipeline, save
    from sk_cry.datasets import make_cries

    X, y = make_cries(12, duration=1.0, random_state=0)
    pipe = make_svm_pipeline(duration=1.0).fit(X, y)
    saved = save(pipe, tmp_path / "m.skcry")
    export(pipe, tmp_path / "m.skcry-bundle")
    sf.write(tmp_path / "whole.wav", X[0], 16000, subtype="PCM_16")
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])  # header says 1 s
    files = [str(tmp_path / "whole.wav"), str(tmp_path / "cut.wav")]
    for model in (saved, tmp_path / "m.skcry-bundle"):
        with pytest.warns(UserWarning, match="is truncated"):
            assert main(["predict", str(model), *files, "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows[0]["truncated"] is None and rows[0]["error"] is None
        assert "is truncated: its header declares 16000 samples" in rows[1]["truncated"]
        assert rows[1]["label"] is not None
        with pytest.warns(UserWarning):
            main(["predict", str(model), *files, "--format", "csv"])
        notes = [r["note"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))]
        assert notes[0] == "" and notes[1].startswith("truncated: ")
        assert main(["predict", str(model), *files, "--strict", "--format", "json"]) == 1
        rows = json.loads(capsys.readouterr().out)
        assert rows[1]["label"] is None and "is truncated" in rows[1]["error"]
