"""Chance-aware cross-validation: scores with an interval, a p-value and a verdict."""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    permutation_test_score,
)
from sklearn.utils import check_random_state

from ..exceptions import ParameterError

__all__ = ["EvaluationResult", "evaluate"]


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    balanced_accuracy : float
        Mean over folds.
    balanced_accuracy_folds : ndarray of shape (n_folds,)
    f1_macro : float
        Mean macro-averaged F1 over folds.
    f1_macro_folds : ndarray of shape (n_folds,)
    ci : (float, float)
        95 % bootstrap interval of the balanced accuracy of the pooled
        out-of-fold predictions, resampling groups (or clips without groups).
    chance : float
        Balanced accuracy of guessing: ``1 / n_classes``.
    p_value : float
        Permutation-test p-value of "the predictions are unrelated to the labels".
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        Pooled out-of-fold predictions; rows are true classes.
    classes : ndarray
    verdict : str
        One line that says plainly whether the score is distinguishable from chance.
    """

    balanced_accuracy: float
    balanced_accuracy_folds: np.ndarray
    f1_macro: float
    f1_macro_folds: np.ndarray
    ci: tuple
    chance: float
    p_value: float
    confusion_matrix: np.ndarray
    classes: np.ndarray
    verdict: str
    grouped: bool = False
    n_permutations: int = 0
    oof_predictions: np.ndarray = field(default=None, repr=False)

    def __str__(self):
        folds = " ".join(f"{s:.3f}" for s in self.balanced_accuracy_folds)
        return (
            f"balanced accuracy {self.balanced_accuracy:.3f} (folds: {folds}), "
            f"95% CI {self.ci[0]:.3f}-{self.ci[1]:.3f}, chance {self.chance:.3f}, "
            f"p = {self.p_value:.3g}; macro F1 {self.f1_macro:.3f}; "
            f"{'grouped' if self.grouped else 'ungrouped'} CV\n{self.verdict}"
        )


def _splitter(cv, groups, random_state):
    if not isinstance(cv, Integral):
        return cv
    if groups is not None:
        return StratifiedGroupKFold(cv, shuffle=True, random_state=random_state)
    return StratifiedKFold(cv, shuffle=True, random_state=random_state)


def _bootstrap_ci(y, pred, groups, rng, n_boot=1000):
    units = np.unique(groups) if groups is not None else None
    members = ({g: np.flatnonzero(groups == g) for g in units} if units is not None
               else None)
    scores = []
    for _ in range(n_boot):
        if units is None:
            idx = rng.randint(0, len(y), len(y))
        else:
            idx = np.concatenate([members[g] for g in rng.choice(units, len(units))])
        if np.unique(y[idx]).size < 2:
            continue
        scores.append(balanced_accuracy_score(y[idx], pred[idx]))
    return tuple(float(q) for q in np.percentile(scores, [2.5, 97.5]))


def evaluate(estimator, X, y, groups=None, cv=5, *, n_permutations=1000,
             permutation="predictions", random_state=0, verbose=0):
    """Cross-validate a classifier and say honestly whether it beats chance.

    Parameters
    ----------
    estimator : sklearn classifier
        E.g. ``make_cnn_pipeline()``; cloned for each fold.
    X : sequence of paths, or array-like
    y : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,) or None, default=None
        With groups, folds come from ``StratifiedGroupKFold``: no group (a
        speaker, a family, a device) is on both sides of a fold, and the
        interval resamples whole groups.
    cv : int or cross-validation splitter, default=5
    n_permutations : int, default=1000
    permutation : {"predictions", "refit"}, default="predictions"
        ``"predictions"`` permutes the labels against the fixed out-of-fold
        predictions (cheap: no refit; it treats clips as exchangeable, so with
        strongly grouped data it is optimistic). ``"refit"`` runs
        ``sklearn.model_selection.permutation_test_score``, refitting the model
        ``n_permutations x n_folds`` times (Ojala & Garriga, 2010): exact, slow.
    random_state : int, default=0
        Fold shuffling, bootstrap and permutations.
    verbose : int, default=0
        Print one line per fold when > 0.

    Returns
    -------
    result : EvaluationResult

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sk_cry.evaluation import evaluate
    >>> import numpy as np
    >>> X, y = np.zeros((40, 1)), np.arange(40) % 2
    >>> evaluate(DummyClassifier(), X, y, n_permutations=99).verdict.startswith("NOT")
    True
    """
    if permutation not in ("predictions", "refit"):
        raise ParameterError(f"permutation must be 'predictions' or 'refit', got "
                             f"{permutation!r}")
    X_index = np.arange(len(X))
    classes, y_enc = np.unique(np.asarray(y), return_inverse=True)
    if groups is not None:
        groups = np.asarray(groups)
    rng = check_random_state(random_state)
    splitter = _splitter(cv, groups, random_state)
    as_list = not hasattr(X, "shape")

    def take(idx):
        return [X[i] for i in idx] if as_list else X[idx]

    oof = np.full(len(y_enc), -1)
    bal, f1 = [], []
    for fold, (train, test) in enumerate(splitter.split(X_index, y_enc, groups)):
        model = clone(estimator).fit(take(train), y_enc[train])
        oof[test] = model.predict(take(test))
        bal.append(balanced_accuracy_score(y_enc[test], oof[test]))
        f1.append(f1_score(y_enc[test], oof[test], average="macro"))
        if verbose:
            print(f"  fold {fold}: balanced accuracy {bal[-1]:.3f}, macro F1 {f1[-1]:.3f}",
                  flush=True)
    scored = oof >= 0
    y_s, p_s = y_enc[scored], oof[scored]
    g_s = groups[scored] if groups is not None else None
    chance = 1.0 / len(classes)
    pooled = balanced_accuracy_score(y_s, p_s)
    if permutation == "refit":
        _, _, p_value = permutation_test_score(
            estimator, X if not as_list else np.asarray(X, dtype=object), y_enc,
            groups=groups, cv=splitter, n_permutations=n_permutations,
            scoring="balanced_accuracy", random_state=random_state)
    else:
        null = np.array([balanced_accuracy_score(rng.permutation(y_s), p_s)
                         for _ in range(n_permutations)])
        p_value = (1 + np.sum(null >= pooled)) / (1 + n_permutations)
    ci = _bootstrap_ci(y_s, p_s, g_s, rng)
    mean = float(np.mean(bal))
    facts = (f"balanced accuracy {mean:.2f}, 95% CI {ci[0]:.2f}-{ci[1]:.2f}, "
             f"chance {chance:.2f}, p = {p_value:.3g}")
    if p_value >= 0.05 or ci[0] <= chance:
        verdict = f"NOT distinguishable from chance ({facts})."
    else:
        verdict = f"Above chance ({facts})."
    return EvaluationResult(
        balanced_accuracy=mean, balanced_accuracy_folds=np.asarray(bal),
        f1_macro=float(np.mean(f1)), f1_macro_folds=np.asarray(f1), ci=ci,
        chance=chance, p_value=float(p_value),
        confusion_matrix=confusion_matrix(y_s, p_s, labels=np.arange(len(classes))),
        classes=classes, verdict=verdict, grouped=groups is not None,
        n_permutations=n_permutations, oof_predictions=oof,
    )
