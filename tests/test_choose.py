"""choose_model: nested cross-validation picks the candidate that scores best,
keeps groups apart in every fold, and fits the winner."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

import sk_cry
from sk_cry import ParameterError
from sk_cry.datasets import load_folder, make_cries, write_folder
from sk_cry.evaluation import ModelChoice, choose_model, model_candidates


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    X, y = make_cries(36, duration=1.0, random_state=2)
    data = load_folder(write_folder(X, y, tmp_path_factory.mktemp("choose"), sr=16000))
    return [str(p) for p in data.paths], data.target_names[data.target]


def _candidates():
    return {
        "dummy": (sk_cry.make_svm_pipeline(duration=1.0, classifier=DummyClassifier()),
                  {"clf__strategy": ["most_frequent", "prior"]}),
        "svm": (sk_cry.make_svm_pipeline(duration=1.0),
                {"clf__estimator__C": [0.3, 3.0]}),
    }


@pytest.mark.parametrize("order", [["dummy", "svm"], ["svm", "dummy"]])
def test_the_candidate_that_scores_best_wins_whatever_its_place(clips, order):
    paths, labels = clips
    candidates = {name: _candidates()[name] for name in order}
    choice = choose_model(paths, labels, candidates=candidates, cv=3, inner_cv=2)
    assert isinstance(choice, ModelChoice)
    assert list(choice.results) == order
    assert choice.results["dummy"].balanced_accuracy == pytest.approx(0.5)
    assert choice.results["svm"].balanced_accuracy >= 0.9
    assert choice.winner == "svm"
    # the winner's setting comes from its own grid, and the fitted pipeline has it
    assert choice.best_params["clf__estimator__C"] in (0.3, 3.0)
    assert choice.estimator.get_params()["clf__estimator__C"] == \
        choice.best_params["clf__estimator__C"]
    assert choice.estimator.memory is None  # not the call's deleted cache
    assert (choice.estimator.predict(paths) == labels).mean() >= 0.9
    lines = choice.summary().splitlines()
    assert [line.split(":")[0] for line in lines] == order
    chosen = next(line for line in lines if line.endswith("<- chosen"))
    assert chosen.startswith("svm: balanced accuracy")
    low, high = choice.results["svm"].ci
    assert f"95 % CI {low:.2f}-{high:.2f}" in chosen


_FITS = []


class _Recorder(ClassifierMixin, BaseEstimator):
    """Says the majority class, and records the clips of every fit."""

    def __init__(self, alpha=0):
        self.alpha = alpha

    def fit(self, X, y):
        _FITS.append(list(X))
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def predict_proba(self, X):
        return (self.classes_ == self.majority_).astype(float)[None].repeat(len(X), 0)


def test_every_fold_inner_or_outer_keeps_each_group_whole(clips):
    paths, labels = clips
    groups = np.arange(len(paths)) // 3  # 12 recordings of 3 clips each
    group_of = dict(zip(paths, groups))
    _FITS.clear()
    choice = choose_model(paths, labels, groups, cv=2, inner_cv=2,
                          candidates={"recorder": (_Recorder(), {"alpha": [0, 1]})})
    assert choice.results["recorder"].grouped
    assert len(_FITS) == 2 * (2 * 2 + 1) + (2 * 2 + 1)  # outer folds, then the refit
    for fit in _FITS:
        held = {g for g in groups if any(group_of[p] == g for p in fit)}
        assert sum(group_of[p] in held for p in paths) == len(fit)  # whole groups
    assert len({len(fit) for fit in _FITS}) > 1  # inner fits saw fewer clips


def test_groups_need_paths_and_candidates_are_documented(clips):
    paths, labels = clips
    waves = sk_cry.AudioLoader(duration=1.0).transform(paths)
    with pytest.raises(ParameterError, match="groups need X to be file paths"):
        choose_model(waves, labels, np.arange(len(paths)) // 3)
    with pytest.raises(ParameterError, match="candidates is empty"):
        choose_model(paths, labels, candidates={})
    grids = {name: grid for name, (_, grid) in model_candidates().items()}
    assert grids == {"svm": {"clf__estimator__C": [0.3, 1, 3, 10],
                             "clf__estimator__gamma": ["scale", 0.01, 0.03, 0.1]},
                     "cnn": {"cnn__epochs": [40, 100]}}
    fixed = model_candidates(epochs=7, duration=2.0, random_state=4)
    assert fixed["cnn"][1] == {"cnn__epochs": [7]}
    assert fixed["cnn"][0].get_params()["cnn__random_state"] == 4
    assert fixed["svm"][0].get_params()["loader__duration"] == 2.0
