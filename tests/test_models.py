import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from sk_cry import (
    REFERENCE_TOPOLOGY,
    CryCNNClassifier,
    ParameterError,
    make_cnn_pipeline,
    make_svm_pipeline,
)
from sk_cry.models import build_residual_cnn

# 20 training clips: too few to hold some out for early stopping
FAST = dict(duration=1.0, filters=8, epochs=8, batch_size=8, learning_rate=3e-3,
            early_stopping=False, random_state=0)


def test_cnn_pipeline_cross_validates_on_wav_paths(cry_folder):
    scores = cross_val_score(make_cnn_pipeline(**FAST), cry_folder.paths,
                             cry_folder.target, cv=3, error_score="raise")
    assert scores.shape == (3,)
    assert scores.mean() > 0.6  # well-separated synthetic classes, chance is 0.5


def test_grid_search_tunes_a_cnn_parameter(cry_folder):
    grid = GridSearchCV(make_cnn_pipeline(**{**FAST, "epochs": 3}),
                        {"cnn__filters": [4, 8]}, cv=2, error_score="raise")
    grid.fit(cry_folder.paths, cry_folder.target)
    assert grid.best_params_["cnn__filters"] in (4, 8)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.predict(cry_folder.paths[:2]).shape == (2,)


def test_joblib_round_trip_in_a_new_process(cry_folder, tmp_path):
    pipe = make_cnn_pipeline(**{**FAST, "epochs": 2}).fit(cry_folder.paths,
                                                         cry_folder.target)
    expected = pipe.predict_proba(cry_folder.paths[:5])
    # one clip gives a (1, n_classes) row, not a squeezed vector
    np.testing.assert_allclose(pipe.predict_proba(cry_folder.paths[:1]), expected[:1],
                               rtol=1e-5)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    np.save(tmp_path / "expected.npy", expected)
    code = (
        "import joblib, numpy as np, sys\n"
        f"pipe = joblib.load({str(tmp_path / 'pipe.joblib')!r})\n"
        f"got = pipe.predict_proba({cry_folder.paths[:5]!r})\n"
        f"np.testing.assert_array_equal(got, np.load({str(tmp_path / 'expected.npy')!r}))\n"
        "print('same')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "same" in out.stdout


def test_random_state_makes_training_repeatable(cry_folder):
    pipe = make_cnn_pipeline(**{**FAST, "epochs": 2})
    a = clone(pipe).fit(cry_folder.paths, cry_folder.target).predict_proba(
        cry_folder.paths)
    b = clone(pipe).fit(cry_folder.paths, cry_folder.target).predict_proba(
        cry_folder.paths)
    np.testing.assert_array_equal(a, b)
    # ... and an unseeded fit afterwards still works (scikeras leaves TF's
    # determinism switch on otherwise)
    clone(pipe).set_params(cnn__random_state=None).fit(cry_folder.paths[::3],
                                                       cry_folder.target[::3])


def test_cnn_is_a_classifier_so_cv_is_stratified():
    assert is_classifier(CryCNNClassifier())
    assert is_classifier(make_cnn_pipeline())
    from sklearn.model_selection import check_cv

    assert isinstance(check_cv(3, [0, 1] * 5, classifier=True), StratifiedKFold)


def test_pipeline_steps_are_addressable():
    pipe = make_cnn_pipeline(n_mfcc=20, n_mels=64)
    params = pipe.get_params()
    assert params["cnn__input_bands"] == (20, 64)
    assert params["scaler__n_bands"] == 84
    assert params["features__n_mfcc"] == 20


def test_band_mismatch_is_a_clear_error():
    X = np.zeros((4, 5 * 10), np.float32)
    with pytest.raises(ParameterError, match="input_bands match the extractors"):
        CryCNNClassifier(input_bands=(3, 4), epochs=1).fit(X, [0, 1, 0, 1])


def test_reference_topology_has_about_51m_parameters():
    reference = build_residual_cnn([(13, 188), (128, 188)], 2, **REFERENCE_TOPOLOGY)
    compact = build_residual_cnn([(13, 188), (128, 188)], 2)
    assert 50e6 < reference.count_params() < 53e6
    assert compact.count_params() < 0.5e6
    assert reference.count_params() / compact.count_params() > 100


def test_svm_pipeline_accepts_any_classifier(cry_folder):
    from sklearn.linear_model import LogisticRegression

    pipe = make_svm_pipeline(duration=1.0, classifier=LogisticRegression())
    scores = cross_val_score(pipe, cry_folder.paths, cry_folder.target, cv=3)
    assert scores.mean() > 0.8
    with pytest.raises(TypeError, match="given with a classifier"):
        make_svm_pipeline(classifier=LogisticRegression(), C=2.0)
