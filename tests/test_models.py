import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from sk_cry import (
    REFERENCE_TOPOLOGY,
    REFERENCE_TRAINING,
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
    # both candidates were fitted and scored, the best was refitted with its value
    scores = grid.cv_results_["mean_test_score"]
    assert grid.cv_results_["param_cnn__filters"].tolist() == [4, 8]
    assert np.all(np.isfinite(scores))
    best = [4, 8][int(np.argmax(scores))]
    assert grid.best_params_["cnn__filters"] == best
    assert grid.best_estimator_["cnn"].filters == best
    # ... and its network was built with it: a parameter that reached the
    # estimator but not the network would leave every convolution 16 wide
    network = grid.best_estimator_["cnn"].model_
    assert {layer.filters for layer in network.layers
            if hasattr(layer, "filters")} == {best}
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


def test_reference_topology_is_the_reference_network():
    # the reference notebook's model.summary(): 51,282,690 weights for its two
    # inputs and two classes (4x4 residual convolutions with biases, no dropout)
    reference = build_residual_cnn([(13, 188), (128, 188)], 2, **{
        k: v for k, v in REFERENCE_TOPOLOGY.items()})
    assert reference.count_params() == 51_282_690
    assert not any("dropout" in layer.name for layer in reference.layers)
    assert reference.get_layer("b0_res0_conv1").kernel.shape[:2] == (4, 4)
    assert build_residual_cnn([(13, 188), (128, 188)], 2).count_params() < 0.5e6


def test_the_network_builder_defaults_to_the_classifiers_network():
    import inspect

    built = {name: p.default for name, p in
             inspect.signature(build_residual_cnn).parameters.items()
             if p.default is not inspect.Parameter.empty}
    # augmentation is the classifier's choice at fit time; the builder's default
    # network (counted in benchmarks) has none
    assert built.pop("augment") is False and built.pop("seed") is None
    params = CryCNNClassifier().get_params()
    assert built == {name: params[name] for name in built}


def test_reference_training_is_the_reference_training():
    clf = CryCNNClassifier(**REFERENCE_TRAINING)
    assert (clf.epochs, clf.batch_size, clf.learning_rate) == (10, 16, 1e-3)
    assert clf.loss == "sparse_categorical_crossentropy" and clf.class_weight is None
    assert not (clf.augment or clf.mixup or clf.early_stopping)
    # integer labels straight into the sparse loss; the optimizer is Adam at 1e-3
    X = np.random.default_rng(0).normal(size=(12, 2 * 8)).astype("float32")
    clf.set_params(input_bands=(1, 1), stem_kernel=1, filters=2, epochs=1,
                   random_state=0).fit(X, np.arange(12) % 2)
    assert type(clf.model_.optimizer).__name__ == "Adam"
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(1e-3)
    assert clf.predict_proba(X).shape == (12, 2)
    with pytest.raises(ParameterError, match="mixup=0.2 blends one-hot targets"):
        clone(clf).set_params(mixup=0.2).fit(X, np.arange(12) % 2)


def test_svm_pipeline_accepts_any_classifier(cry_folder):
    from sklearn.linear_model import LogisticRegression

    pipe = make_svm_pipeline(duration=1.0, classifier=LogisticRegression())
    scores = cross_val_score(pipe, cry_folder.paths, cry_folder.target, cv=3)
    assert scores.mean() > 0.8
    with pytest.raises(TypeError, match="given with a classifier"):
        make_svm_pipeline(classifier=LogisticRegression(), C=2.0)


@pytest.mark.parametrize("params, match", [
    ({"features__n_mels": 64}, r"makes maps of 13 \+ 64 bands .* scaler__n_bands=141"),
    ({"features__n_mfcc": 20}, r"makes maps of 20 \+ 128 bands .* scaler__n_bands=141"),
    ({"features__n_mfcc": 200}, r"makes maps of 128 \+ 128 bands"),
    ({"loader__sr": 8000}, r"loader__sr=8000 but features__sr=16000"),
    ({"features__n_mels": 64, "scaler__n_bands": 77},
     r"cnn__input_bands=\(13, 128\); .* set cnn__input_bands=\(13, 64\)"),
])
def test_steps_that_disagree_on_the_layout_raise_at_fit(cry_folder, params, match):
    pipe = make_cnn_pipeline(**FAST).set_params(**params)
    with pytest.raises(ParameterError, match=match):
        pipe.fit(cry_folder.paths, cry_folder.target)


def test_svm_steps_that_disagree_raise_at_fit(cry_folder):
    pipe = make_svm_pipeline(duration=1.0).set_params(mfcc__n_mfcc=20)
    with pytest.raises(ParameterError, match="pool__n_bands=13"):
        pipe.fit(cry_folder.paths, cry_folder.target)
    pipe = make_svm_pipeline(duration=1.0).set_params(mfcc__sr=8000)
    with pytest.raises(ParameterError, match="loader__sr=16000 but mfcc__sr=8000"):
        pipe.fit(cry_folder.paths, cry_folder.target)


def test_band_counts_set_together_work_end_to_end(cry_folder):
    pipe = make_cnn_pipeline(**{**FAST, "epochs": 1}).set_params(
        features__n_mels=40, features__n_mfcc=50, scaler__n_bands=80,
        cnn__input_bands=(40, 40))
    pipe.fit(cry_folder.paths, cry_folder.target)
    assert pipe["features"].feature_shape_[0] == 80
    assert pipe.predict_proba(cry_folder.paths[:3]).shape == (3, 2)


def test_svm_pipeline_has_calibrated_probabilities(cry_folder):
    pipe = make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)
    proba = pipe.predict_proba(cry_folder.paths)
    assert proba.shape == (30, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # predict is the argmax of the probabilities (SVC(probability=True) may differ)
    np.testing.assert_array_equal(pipe.predict(cry_folder.paths),
                                  pipe.classes_[proba.argmax(axis=1)])
    assert not hasattr(make_svm_pipeline(probability=False), "predict_proba")
