"""Scale-out on a Dask cluster through joblib's backend (``sk-cry[dask]``).

A real ``distributed.LocalCluster`` (two worker processes of one thread each, on
127.0.0.1) runs ``GridSearchCV``, ``cross_validate`` and ``predict_files`` under
``joblib.parallel_config(backend="dask")``; every result must equal the same call
without Dask, and no worker may have imported TensorFlow for an SVM.
"""

import re
import sys

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from sk_cry import make_svm_pipeline, predict_files

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: pip install -e '.[dask]'")


@pytest.fixture(scope="module")
def client():
    # processes=True: the workers are separate interpreters, as on a real cluster,
    # so what they import (TensorFlow or not) is their own.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def svm(cry_folder):
    return make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)


def _tasks_per_function(task_stream):
    """Calls per function in joblib's dask task keys ``batch_of_<func>_<n>_calls-<id>``."""
    calls = {}
    for task in task_stream.data:
        match = re.match(r"(?:mixed_)?batch_of_(.+)_(\d+)_calls-", task["key"])
        if match:
            calls[match[1]] = calls.get(match[1], 0) + int(match[2])
    return calls


def test_grid_search_and_cross_validate_match_local_runs(client, cry_folder):
    X, y = cry_folder.paths, cry_folder.target
    grid = GridSearchCV(make_svm_pipeline(duration=1.0),
                        {"clf__estimator__C": [0.1, 10.0]}, cv=2, n_jobs=-1)
    local_grid = GridSearchCV(make_svm_pipeline(duration=1.0),
                              {"clf__estimator__C": [0.1, 10.0]}, cv=2).fit(X, y)
    local_cv = cross_validate(make_svm_pipeline(duration=1.0), X, y, cv=3)
    with distributed.get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask"):
        grid.fit(X, y)
        cv = cross_validate(make_svm_pipeline(duration=1.0), X, y, cv=3, n_jobs=-1)
    # 2 candidates x 2 folds, then 3 folds: the fits ran on the workers. (Each
    # fit's CalibratedClassifierCV sends its own 5 folds as nested tasks too:
    # joblib's dask backend is the default inside a worker.)
    assert _tasks_per_function(stream)["_fit_and_score"] == 7
    assert grid.best_params_ == local_grid.best_params_
    np.testing.assert_array_equal(grid.cv_results_["mean_test_score"],
                                  local_grid.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(cv["test_score"], local_cv["test_score"])
    np.testing.assert_array_equal(grid.predict(X[:5]), local_grid.predict(X[:5]))


def test_predict_files_sends_batches_not_files(client, svm, cry_folder):
    paths = cry_folder.paths  # 30 paths: batches of 8, 8, 8 and 6
    local = predict_files(svm, paths, batch_size=8, class_names=cry_folder.target_names)
    with distributed.get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask"):
        remote = predict_files(svm, paths, batch_size=8, n_jobs=2,
                               class_names=cry_folder.target_names)
    assert remote == local
    assert [r.path for r in remote] == [str(p) for p in paths]
    # one task per batch, and the file reads stayed in the batch's threads
    assert _tasks_per_function(stream) == {"_predict_batch": 4}
    workers = {task["worker"] for task in stream.data}
    assert workers <= set(client.scheduler_info()["workers"])


def test_svm_workers_never_import_tensorflow(client, svm, cry_folder):
    # after the fits and predictions above (and again here, if run alone)
    with joblib.parallel_config(backend="dask"):
        predict_files(svm, cry_folder.paths, batch_size=8)
    # the workers did unpickle and run the pipeline, yet never loaded TensorFlow
    ran = client.run(lambda: "sk_cry.models._files" in sys.modules)
    assert len(ran) == 2 and all(ran.values()), ran
    imported = client.run(lambda: "tensorflow" in sys.modules)
    assert not any(imported.values()), imported
