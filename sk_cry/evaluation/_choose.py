"""``choose_model``: nested cross-validation chooses between the CNN and the SVM.

Each candidate is a pipeline with a small grid. The outer folds (the splits
:func:`~sk_cry.evaluate` draws, grouped where groups are given) score each
candidate's whole procedure, an inner grid search on the training fold included,
so that every candidate's score is one that no choice has seen; the candidate
with the highest pooled balanced accuracy wins, and its grid search is then
fitted on all the clips.
"""

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import GridSearchCV

from ..exceptions import ParameterError
from ._evaluate import cv_splitter, evaluate

__all__ = ["ModelChoice", "choose_model", "model_candidates"]


def model_candidates(*, epochs=None, **pipeline_params):
    """The candidates of :func:`choose_model`: ``{name: (pipeline, grid)}``.

    - ``"svm"``: :func:`~sk_cry.make_svm_pipeline`, ``C`` in 0.3, 1, 3, 10 and
      ``gamma`` in "scale", 0.01, 0.03, 0.1 (16 settings; the SVM fits in a
      second, on features computed once per fold);
    - ``"cnn"``: :func:`~sk_cry.make_cnn_pipeline`, at most 40 or 100 epochs
      (2 settings; a fit takes about a minute per 200 clips on 2 cores, so the
      grid stays small; the epochs the CNN runs are also cut by early stopping).

    Parameters
    ----------
    epochs : int or None, default=None
        The CNN's epochs, fixed (a grid of one) instead of searched.
    **pipeline_params
        Given to both pipeline factories (``duration``, ``max_bandwidth``,
        ``memory``, ...); ``random_state`` to the CNN only.

    Returns
    -------
    candidates : dict
    """
    from ..models import make_cnn_pipeline, make_svm_pipeline

    seed = {"random_state": pipeline_params.pop("random_state", None)}
    svm_grid = {"clf__estimator__C": [0.3, 1, 3, 10],
                "clf__estimator__gamma": ["scale", 0.01, 0.03, 0.1]}
    cnn_grid = {"cnn__epochs": [40, 100] if epochs is None else [int(epochs)]}
    return {"svm": (make_svm_pipeline(**pipeline_params), svm_grid),
            "cnn": (make_cnn_pipeline(**pipeline_params, **seed), cnn_grid)}


class _Search(ClassifierMixin, BaseEstimator):
    """A grid search as one classifier that :func:`~sk_cry.evaluate` can fold:
    its inner folds keep the groups of the clips it is fitted on apart (looked
    up by clip, since ``cross_validate`` gives ``fit`` no groups)."""

    def __init__(self, estimator, grid, cv=3, group_of=None, random_state=0):
        self.estimator = estimator
        self.grid = grid
        self.cv = cv
        self.group_of = group_of
        self.random_state = random_state

    def fit(self, X, y):
        groups = (None if self.group_of is None
                  else [self.group_of[os.fspath(x)] for x in X])
        self.search_ = _search(self.estimator, self.grid, self.cv, groups,
                               self.random_state).fit(X, y, groups=groups)
        self.classes_ = self.search_.classes_
        return self

    def predict(self, X):
        return self.search_.predict(X)

    def predict_proba(self, X):
        return self.search_.predict_proba(X)


def _search(estimator, grid, cv, groups, random_state):
    """``GridSearchCV`` on balanced accuracy, over ``cv`` stratified folds (of
    groups, where given)."""
    return GridSearchCV(clone(estimator), grid,
                        cv=cv_splitter(cv, groups, random_state=random_state),
                        scoring="balanced_accuracy", error_score=np.nan)


@dataclass
class ModelChoice:
    """What :func:`choose_model` measured and chose.

    Attributes
    ----------
    winner : str
        The candidate with the highest pooled balanced accuracy (the first
        listed on a tie).
    results : dict of str to EvaluationResult
        Each candidate's outer cross-validation (its inner search included):
        ``results[name].balanced_accuracy`` and ``.ci`` are the pooled
        out-of-fold balanced accuracy and its 95 % interval.
    grids : dict of str to dict
        Each candidate's grid.
    best_params : dict or None
        The winner's setting, chosen by its grid search on all the clips.
    estimator : Pipeline or None
        The winner's pipeline with that setting, fitted on all the clips (None
        with ``refit=False``).
    """

    winner: str
    results: dict
    grids: dict
    best_params: dict = None
    estimator: object = field(default=None, repr=False)

    def summary(self):
        """One line per candidate: pooled balanced accuracy, interval, chance."""
        return "\n".join(_line(name, result) + ("  <- chosen" if name == self.winner
                                                else "")
                         for name, result in self.results.items())


def _line(name, result):
    """A candidate's pooled balanced accuracy, interval, chance and p-value."""
    low, high = result.ci
    return (f"{name}: balanced accuracy {result.balanced_accuracy:.3f} (95 % CI "
            f"{low:.2f}-{high:.2f}, chance {result.chance:.2f}, p {result.p_value:.3f})")


def choose_model(X, y, groups=None, *, candidates=None, cv=5, inner_cv=3,
                 refit=True, random_state=0, verbose=0):
    """Choose between pipelines by nested cross-validation.

    Every candidate's grid search is cross-validated as one procedure by
    :func:`~sk_cry.evaluate` (the same outer folds for every candidate): on each
    outer training fold an inner ``inner_cv``-fold grid search picks a setting
    and refits it, and the outer test fold scores that. The candidate with the
    highest pooled out-of-fold balanced accuracy wins; with ``refit`` its grid
    search then runs on all the clips and the best setting is fitted.

    Parameters
    ----------
    X : sequence of paths, or array-like of shape (n_samples, n_samples_audio)
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,) or None, default=None
        Recording groups: outer and inner folds keep each group on one side.
        Needs ``X`` to be paths (inner folds look groups up by path).
    candidates : dict or None, default=None
        ``{name: (pipeline, param_grid)}``; None: :func:`model_candidates`
        (the SVM and the CNN with their default settings).
    cv : int or cross-validation splitter, default=5
        The outer folds, as :func:`~sk_cry.evaluate` takes them.
    inner_cv : int or cross-validation splitter, default=3
        The folds of each inner grid search: an int as ``cv`` takes it (of
        groups, where given), or a splitter.
    refit : bool, default=True
        Fit the winner on all the clips.
    random_state : int, default=0
        Outer and inner fold shuffling, the intervals' bootstrap.
    verbose : int, default=0
        1 prints each candidate's line as it is scored; 2 also a line as each
        outer fold ends (:func:`~sk_cry.evaluate`'s ``verbose=1``).

    Returns
    -------
    choice : ModelChoice

    Examples
    --------
    >>> from sk_cry import choose_model
    >>> choice = choose_model(paths, labels)              # doctest: +SKIP
    >>> print(choice.summary())                           # doctest: +SKIP
    svm: balanced accuracy 0.444 (95 % CI 0.38-0.51, chance 0.20, p 0.001)  <- chosen
    cnn: balanced accuracy 0.314 (95 % CI 0.26-0.38, chance 0.20, p 0.001)
    """
    if candidates is None:
        candidates = model_candidates(random_state=random_state)
    if not candidates:
        raise ParameterError("candidates is empty: give at least one (pipeline, grid)")
    group_of = None
    if groups is not None:
        if len(groups) != len(X) or not all(isinstance(x, (str, os.PathLike))
                                            for x in X):
            raise ParameterError("groups need X to be file paths, one group each: the "
                                 "inner folds look each clip's group up by its path")
        group_of = dict(zip(map(os.fspath, X), groups))
    results = {}
    with tempfile.TemporaryDirectory(prefix="sk-cry-choose-") as cache:
        for name, (pipeline, grid) in candidates.items():
            search = _Search(_cached(pipeline, cache), grid, inner_cv, group_of,
                             random_state)
            results[name] = evaluate(search, X, y, groups, cv,
                                     random_state=random_state,
                                     verbose=max(0, verbose - 1))
            if verbose:
                print(_line(name, results[name]), flush=True)
        winner = max(results, key=lambda n: results[n].balanced_accuracy)
        choice = ModelChoice(winner, results, {n: g for n, (_, g) in candidates.items()})
        if refit:
            pipeline, grid = candidates[winner]
            search = _search(_cached(pipeline, cache), grid, inner_cv, groups,
                             random_state).fit(X, y, groups=groups)
            choice.best_params = search.best_params_
            choice.estimator = search.best_estimator_
            if "memory" in choice.estimator.get_params():
                choice.estimator.set_params(memory=pipeline.get_params().get("memory"))
    return choice


def _cached(pipeline, cache):
    """``pipeline`` caching its fitted transformers in ``cache`` (features are
    computed once per fold, not once per setting), unless it has a cache."""
    if "memory" in pipeline.get_params() and pipeline.memory is None:
        return clone(pipeline).set_params(memory=cache)
    return pipeline
