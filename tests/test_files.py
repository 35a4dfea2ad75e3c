"""predict_files: one record per path, in order, bad and silent files included."""

import numpy as np
import pytest
import soundfile as sf

from sk_cry import AudioLoadError, ParameterError, make_svm_pipeline, predict_files


@pytest.fixture(scope="module")
def svm(cry_folder):
    return make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)


def test_every_path_gets_a_record_in_order(svm, cry_folder, tmp_path):
    good = cry_folder.paths[:3]
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "silent.wav", np.zeros(16000), 16000, subtype="PCM_16")
    sf.write(tmp_path / "faint.wav", np.full(16000, 1e-4), 16000)  # -80 dBFS
    paths = [good[0], str(tmp_path / "empty.wav"), good[1], str(tmp_path / "missing.wav"),
             str(tmp_path / "silent.wav"), str(tmp_path / "faint.wav"), good[2]]
    with pytest.raises(AudioLoadError, match="empty.wav"):
        svm.predict(paths)  # scikit-learn's semantics stay: the first bad file raises
    records = predict_files(svm, paths, class_names=cry_folder.target_names)
    assert [r.path for r in records] == [str(p) for p in paths]
    ok = [records[i] for i in (0, 2, 6)]
    np.testing.assert_array_equal([r.label for r in ok], svm.predict(good))
    proba = svm.predict_proba(good)
    for r, p in zip(ok, proba):
        assert list(r.probabilities) == list(cry_folder.target_names)
        np.testing.assert_allclose(list(r.probabilities.values()), p)
        assert r.error is None and not r.silent
    for i, name in ((1, "empty.wav"), (3, "missing.wav")):
        assert records[i].label is None and records[i].probabilities is None
        assert records[i].error.startswith("AudioLoadError: ") and name in records[i].error
    for i in (4, 5):
        assert records[i].silent and records[i].label is None and records[i].error is None


def test_batches_give_the_same_records(svm, cry_folder):
    paths = cry_folder.paths[:7]
    assert predict_files(svm, paths, batch_size=2) == predict_files(svm, paths, n_jobs=2)


def test_what_is_not_a_fitted_sk_cry_pipeline_is_refused(svm, cry_folder):
    from sklearn.exceptions import NotFittedError
    from sklearn.svm import SVC

    with pytest.raises(ParameterError, match="starts with an AudioLoader"):
        predict_files(SVC(), cry_folder.paths[:2])
    with pytest.raises(NotFittedError):
        predict_files(make_svm_pipeline(duration=1.0), cry_folder.paths[:2])
    with pytest.raises(ParameterError, match="class_names has 3 names for 2 classes"):
        predict_files(svm, cry_folder.paths[:2], class_names=["a", "b", "c"])
