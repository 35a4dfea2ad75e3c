"""On the reference recordings (../shared/data/seed-cry); skipped when absent."""

from sk_cry import make_cnn_pipeline, make_svm_pipeline
from sk_cry.datasets import load_folder


def test_reference_split_train_then_score_test(seed_cry):
    train = load_folder(seed_cry / "train", seed_cry / "train_labels.csv")
    test = load_folder(seed_cry / "test", seed_cry / "test_labels.csv")
    assert (len(train.paths), len(test.paths)) == (418, 35)
    assert list(train.target_names) == ["0", "1"]

    svm = make_svm_pipeline(n_jobs=2).fit(train.paths, train.target)
    assert svm.score(test.paths, test.target) >= 0.85

    cnn = make_cnn_pipeline(epochs=3, random_state=0, n_jobs=2)
    cnn.fit(train.paths, train.target)
    proba = cnn.predict_proba(test.paths)
    assert proba.shape == (35, 2)
    # 16-kHz recordings: the sample-rate shortcut (see the audit) makes even
    # three epochs clear chance by far; this checks the plumbing, not the science.
    assert cnn.score(test.paths, test.target) >= 0.7
