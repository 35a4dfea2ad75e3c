from sk_cry import load
from sk_cry.cli import main


def test_demo_runs_end_to_end(tmp_path, capsys):
    status = main(["demo", "--n-samples", "24", "--duration", "1", "--epochs", "2",
                   "--cv", "2", "--out", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "balanced accuracy per fold" in out and "CNN" in out and "SVM" in out
    assert "prediction for" in out
    pipe = load(tmp_path / "cnn_pipeline.skcry")
    wavs = sorted((tmp_path / "data").rglob("*.wav"))
    assert len(wavs) == 24
    assert pipe.predict_proba([str(wavs[0])]).shape == (1, 2)


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
