import joblib

from sk_cry.cli import main


def test_demo_runs_end_to_end(tmp_path, capsys):
    status = main(["demo", "--n-samples", "24", "--duration", "1", "--epochs", "2",
                   "--cv", "2", "--out", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "balanced accuracy per fold" in out and "CNN" in out and "SVM" in out
    assert "prediction for" in out
    pipe = joblib.load(tmp_path / "cnn_pipeline.joblib")
    wavs = sorted((tmp_path / "data").rglob("*.wav"))
    assert len(wavs) == 24
    assert pipe.predict_proba([str(wavs[0])]).shape == (1, 2)
