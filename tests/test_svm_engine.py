"""The numpy-only SVM engine against the fitted pipeline it was taken from."""

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from sk_cry import ParameterError, make_svm_pipeline
from sk_cry.core import MelSpectrum, best_rfft, log_power
from sk_cry.datasets import make_cries
from sk_cry.models._svm_parts import svm_parts
from sk_cry.runtime._svm import SVMEngine

DURATION = 2.0
N_FIT = 60  # clips fitted on; the 40 after them are only predicted

# (n_classes, make_svm_pipeline parameters, TimePooling stats)
CONFIGS = {
    "binary-rbf": (2, {}, None),
    "five-rbf": (5, {}, None),
    "five-linear": (5, {"kernel": "linear"}, None),
    "three-poly-ovo-four-stats": (3, {"kernel": "poly", "decision_function_shape": "ovo"},
                                  ("max", "min", "std", "mean")),
    "four-sigmoid-ovo": (4, {"kernel": "sigmoid", "decision_function_shape": "ovo"},
                         None),
}


@pytest.fixture(scope="module")
def cries():
    # class_sep=0.3: probabilities spread between 0.07 and 0.78, not pinned at 0 or 1
    return {n: make_cries(N_FIT + 40, n_classes=n, duration=DURATION, class_sep=0.3,
                          random_state=0)
            for n in sorted({c[0] for c in CONFIGS.values()})}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def fitted(request, cries):
    n_classes, svc_params, stats = CONFIGS[request.param]
    X, y = cries[n_classes]
    pipe = make_svm_pipeline(duration=DURATION, **svc_params)
    if stats is not None:
        pipe.set_params(pool__stats=stats)
    pipe.fit(X[:N_FIT], y[:N_FIT])
    params, arrays = svm_parts(pipe)
    return pipe, params, arrays, X[N_FIT:]


def test_engine_gives_pipeline_probabilities(fitted):
    pipe, params, arrays, held_out = fitted
    engine = SVMEngine(params, arrays, held_out.shape[1])
    got = np.array([engine(clip) for clip in held_out])
    one_by_one = np.array([pipe.predict_proba(clip[None])[0] for clip in held_out])
    assert got.shape == (len(held_out), params["n_classes"]) == one_by_one.shape
    assert got.dtype == np.float64
    # measured: at most 7e-16 (the same float32 features, libsvm's float64 sums
    # in another order)
    assert np.abs(got - one_by_one).max() <= 1e-5
    assert np.abs(got - pipe.predict_proba(held_out)).max() <= 1e-5
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    assert not np.allclose(got, got[0])  # the clips are told apart


def test_from_db_gives_the_same_probabilities(fitted):
    pipe, params, arrays, held_out = fitted
    engine = SVMEngine(params, arrays, held_out.shape[1])
    spectrum = MelSpectrum(held_out.shape[1], n_fft=params["n_fft"],
                           hop_length=params["hop_length"], window=arrays["window"],
                           mel_basis=arrays["mel_basis"], rfft=best_rfft())
    got = np.array([engine.from_db(log_power(spectrum.power(clip)))
                    for clip in held_out])
    assert np.abs(got - pipe.predict_proba(held_out)).max() <= 1e-5
    np.testing.assert_allclose(got, [engine(clip) for clip in held_out],
                               rtol=0, atol=1e-12)


def test_decision_function_is_the_svc_one(fitted):
    pipe, params, arrays, held_out = fitted
    engine = SVMEngine(params, arrays, held_out.shape[1])
    features = pipe[:-1].transform(held_out[:5]).astype(np.float64)
    svc = pipe[-1].calibrated_classifiers_[0].estimator
    got = np.array([engine.decision_function(x) for x in features])
    np.testing.assert_allclose(got, svc.decision_function(features), rtol=0, atol=1e-10)


def test_calibrators_all_at_zero_follow_sklearn(fitted):
    # sigmoids pushed to 0: two classes give [1, 0], more sklearn's uniform row
    pipe, params, arrays, held_out = fitted
    pipe = copy.deepcopy(pipe)
    for calibrator in pipe[-1].calibrated_classifiers_[0].calibrators:
        calibrator.b_ = 1e6
    engine = SVMEngine(params, {**arrays, "calibration_b": np.full_like(
        arrays["calibration_b"], 1e6)}, held_out.shape[1])
    expected = pipe.predict_proba(held_out[:3])
    assert np.abs(np.array([engine(c) for c in held_out[:3]]) - expected).max() <= 1e-12
    uniform = np.full(params["n_classes"], 1 / params["n_classes"])
    np.testing.assert_array_equal(expected[0], [1, 0] if params["n_classes"] == 2
                                  else uniform)


def test_parts_are_json_and_plain_arrays(fitted):
    _, params, arrays, _ = fitted
    assert json.loads(json.dumps(params)) == params
    assert params["kind"] == "svm"
    for name in ("support_vectors", "dual_coef", "intercept", "mean", "scale",
                 "calibration_a", "calibration_b"):
        assert arrays[name].dtype == np.float64, name
    assert arrays["mel_basis"].dtype == arrays["dct"].dtype == np.float32
    n_calibrators = 1 if params["n_classes"] == 2 else params["n_classes"]
    assert arrays["calibration_a"].shape == (n_calibrators,)
    assert arrays["support_vectors"].shape[1] == params["n_mfcc"] * len(params["stats"])


def test_non_finite_clip_is_refused(fitted):
    _, params, arrays, held_out = fitted
    clip = held_out[0].copy()
    clip[100] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        SVMEngine(params, arrays, clip.shape[0])(clip)


@pytest.mark.parametrize("pipe, match", [
    (make_svm_pipeline(duration=DURATION, probability=False),
     r"SVC\(probability=False\) has no probabilities.*probability=True"),
    (make_svm_pipeline(duration=DURATION, classifier=LogisticRegression()),
     r"only make_svm_pipeline\(\) with probability=True.*LogisticRegression"),
    (make_svm_pipeline(duration=DURATION, classifier=CalibratedClassifierCV(
        SVC(), method="sigmoid", cv=3, ensemble=True)), "ensemble=True averages"),
    (make_svm_pipeline(duration=DURATION, classifier=CalibratedClassifierCV(
        SVC(), method="isotonic", cv=3, ensemble=False)), "method='isotonic'"),
], ids=["bare-svc", "logistic-regression", "ensemble", "isotonic"])
def test_other_pipelines_are_refused(pipe, match, cries):
    X, y = cries[2]
    pipe.fit(X[:N_FIT], y[:N_FIT])  # fitted: refused for what it is, not its state
    with pytest.raises(ParameterError, match=match):
        svm_parts(pipe)


def test_engine_refuses_an_unknown_kernel(fitted):
    _, params, arrays, held_out = fitted
    with pytest.raises(ParameterError, match="kernel 'chi2' is not one SVMEngine runs"):
        SVMEngine({**params, "kernel": "chi2"}, arrays, held_out.shape[1])


def test_precomputed_kernel_and_non_pipeline_are_refused():
    with pytest.raises(ParameterError, match="kernel='precomputed'"):
        svm_parts(make_svm_pipeline(kernel="precomputed"))
    with pytest.raises(ParameterError, match=r"can be exported, got SVC"):
        svm_parts(SVC())


def test_unfitted_pipeline_raises_not_fitted():
    # sklearn's NotFittedError, as sk_cry.export raises for an unfitted CNN pipeline
    with pytest.raises(NotFittedError, match="fit it before"):
        svm_parts(make_svm_pipeline())


def test_engine_module_needs_numpy_only():
    code = ("import sys, sk_cry.runtime._svm; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in {'sklearn', 'scipy', 'librosa'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
