"""The CNN's training machinery: augmentation, pooling, batches, early stopping."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scikeras.wrappers import KerasClassifier

from sk_cry import CryCNNClassifier, ParameterError
from sk_cry.models import SpecAugment, StatsPooling
from sk_cry.models import _lite
from sk_cry.models._lite import _COPIES
from sk_cry.models._training import TrainingBatches


def test_spec_augment_only_while_training():
    x = np.random.default_rng(0).normal(size=(6, 20, 50)).astype("float32")
    layer = SpecAugment(max_shift=0.2, max_time=0.2, max_bands=0.2, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    out = np.asarray(layer(x, training=True))
    assert out.shape == x.shape and not np.array_equal(out, x)
    # every row is a circular time shift of its input, with some cells zeroed
    for clip, aug in zip(x, out):
        kept = aug != 0
        assert kept.mean() > 0.3
        shifts = [s for s in range(50) if np.array_equal(np.roll(clip, s, axis=1)[kept],
                                                         aug[kept])]
        assert len(shifts) == 1 and min(shifts[0], 50 - shifts[0]) <= 10
        # the zeroed cells are whole frames (time masks) and whole bands
        zero = ~kept
        frames, bands = zero.all(axis=0), zero.all(axis=1)
        np.testing.assert_array_equal(zero, frames[None, :] | bands[:, None])


def test_stats_pooling_is_mean_and_std_over_time():
    x = np.random.default_rng(1).normal(size=(2, 3, 7, 4)).astype("float32")
    out = np.asarray(StatsPooling()(x))
    over_bands = x.mean(axis=1)
    np.testing.assert_allclose(out[:, :4], over_bands.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, 4:], over_bands.std(axis=1), rtol=1e-3, atol=1e-3)


def test_mixup_batches_are_convex_blends():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(10, 2, 3)), rng.normal(size=(10, 4, 3))]
    y = np.eye(2)[rng.integers(0, 2, 10)]
    w = rng.uniform(1, 2, 10)
    plain = TrainingBatches(X, y, w, batch_size=4, mixup=0.0, seed=0)
    assert len(plain) == 3
    seen = np.concatenate([plain[i][1] for i in range(3)])
    assert sorted(seen.argmax(axis=1)) == sorted(y.argmax(axis=1))  # each row once
    mixed = TrainingBatches(X, y, w, batch_size=10, mixup=0.4, seed=0)
    (x0, x1), yb, wb = mixed[0]
    np.testing.assert_allclose(yb.sum(axis=1), 1, rtol=1e-6)
    assert ((yb > 0) & (yb < 1)).any()  # soft targets
    assert wb.min() >= 1 and wb.max() <= 2


def test_early_stopping_stops_and_keeps_the_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2 * 16)).astype("float32")
    y = rng.integers(0, 2, 60)  # nothing to learn: validation loss stops improving
    clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, filters=4, epochs=60,
                           n_iter_no_change=3, random_state=0).fit(X, y)
    run = len(clf.history_["loss"])
    assert run < 60
    best = int(np.argmin(clf.history_["val_loss"]))
    assert run == best + 1 + 3


def test_early_stopping_needs_clips_of_every_class():
    X = np.zeros((5, 2 * 4), "float32")
    with pytest.raises(ParameterError, match="early_stopping=False"):
        CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, epochs=2,
                         validation_fraction=0.2).fit(X, [0, 0, 0, 0, 1])


def test_one_clip_prediction_skips_model_predict_with_the_same_numbers(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2 * 16)).astype("float32")
    y = np.arange(80) % 2
    # both inputs have the same shape: a LiteRT copy that swapped them would differ
    clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, filters=4, epochs=2,
                           early_stopping=False, random_state=0).fit(X, y)
    batch = clf.predict_proba(X)  # 80 clips: through Model.predict
    one = clf.predict_proba(X[:1])  # the LiteRT copy
    assert clf.model_ in _COPIES
    np.testing.assert_allclose(one, batch[:1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X[:7]), batch[:7], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X[1:2]), batch[1:2], rtol=1e-5, atol=1e-6)
    # more training changes the weights: the copy must follow them
    clf.partial_fit(X, y)
    assert not np.allclose(clf.predict_proba(X), batch, atol=1e-4)
    np.testing.assert_allclose(clf.predict_proba(X[:3]), clf.predict_proba(X)[:3],
                               rtol=1e-5, atol=1e-6)
    # a refit builds a new network: so must the copy
    clf.set_params(random_state=1).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X[:1]), clf.predict_proba(X)[:1],
                               rtol=1e-5, atol=1e-6)
    # one copy serves threads one call at a time
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: clf.predict_proba(X[i:i + 1 + i % 3]), range(24)))
    for i, proba in enumerate(answers):
        np.testing.assert_array_equal(proba, clf.predict_proba(X[i:i + 1 + i % 3]))
    # a network too large to convert quickly (the reference's) keeps Model.predict
    monkeypatch.setattr(_lite, "EXPORT_MAX_WEIGHTS", clf.count_params() - 1)
    _COPIES.clear()
    np.testing.assert_allclose(clf.predict_proba(X[:2]), clf.predict_proba(X)[:2],
                               rtol=1e-5, atol=1e-6)
    assert _COPIES[clf.model_] is None


def test_probabilities_and_labels_are_what_scikeras_decodes():
    # predict_proba returns the softmax without scikeras's label decoding, and
    # predict takes classes_[argmax]: both must agree with scikeras's own methods
    X = np.random.default_rng(1).normal(size=(12, 2 * 8)).astype("float32")
    for labels in (["hungry", "other"], [3, 7, 9]):  # binary, multiclass (a fit: ~5 s)
        y = np.asarray(labels)[np.arange(12) % len(labels)]
        clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, filters=2, epochs=1,
                               early_stopping=False, random_state=0).fit(X, y)
        proba = clf.predict_proba(X)
        assert proba.shape == (12, len(labels))
        np.testing.assert_array_equal(proba, KerasClassifier.predict_proba(clf, X))
        np.testing.assert_array_equal(clf.predict(X), KerasClassifier.predict(clf, X))


def test_optimizer_slots_exist_before_the_first_training_step():
    # made inside the first traced step instead, they make TensorFlow trace
    # that step twice: half of every fit's time
    X = np.zeros((6, 2 * 8), "float32")
    clf = CryCNNClassifier(input_bands=(1, 1), stem_kernel=1, filters=2).initialize(
        X, np.arange(6) % 2)
    optimizer = clf.model_.optimizer
    assert optimizer.built
    assert int(optimizer.iterations.numpy()) == 0
    n_weights = len(clf.model_.trainable_variables)
    assert len(optimizer.variables) >= 2 * n_weights  # Adam: two slots per weight


# scikeras's routed parameters: each one is honoured or refused by name
_X = np.random.default_rng(3).normal(size=(16, 2 * 8)).astype("float32")
_Y = np.arange(16) % 2
_TINY = dict(input_bands=(1, 1), stem_kernel=1, filters=2, epochs=2, batch_size=4,
             early_stopping=False, random_state=0)


def test_fit_arguments_reach_model_fit():
    clf = CryCNNClassifier(**_TINY, fit__steps_per_epoch=1).fit(_X, _Y)
    assert int(clf.model_.optimizer.iterations.numpy()) == 2  # 2 epochs of 1 step
    clf = CryCNNClassifier(**_TINY, fit__batch_size=8).fit(_X, _Y)
    assert int(clf.model_.optimizer.iterations.numpy()) == 4  # not 2 x 16 / 4
    with pytest.raises(ParameterError, match="fit__nonsense is not an argument"):
        CryCNNClassifier(**_TINY, fit__nonsense=1).fit(_X, _Y)
    with pytest.raises(ParameterError, match="fit__validation_data.*validation_fraction"):
        CryCNNClassifier(**_TINY, fit__validation_data=(_X, _Y)).fit(_X, _Y)


def test_optimizer_arguments_reach_the_optimizer():
    clf = CryCNNClassifier(**_TINY, optimizer__beta_1=0.5).fit(_X, _Y)
    assert float(clf.model_.optimizer.beta_1) == 0.5
    clf = CryCNNClassifier(**_TINY, optimizer="sgd", optimizer__momentum=0.9,
                           learning_rate=0.05, lr_schedule="constant").fit(_X, _Y)
    assert type(clf.model_.optimizer).__name__ == "SGD"
    assert float(clf.model_.optimizer.momentum) == pytest.approx(0.9)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.05, rel=1e-6)
    with pytest.raises(ParameterError, match="optimizer__learning_rate.*set learning_rate"):
        CryCNNClassifier(**_TINY, optimizer__learning_rate=0.1).fit(_X, _Y)


def test_metrics_are_compiled_and_recorded():
    clf = CryCNNClassifier(**_TINY, metrics=["accuracy"]).fit(_X, _Y)
    assert len(clf.history_["accuracy"]) == 2


def test_callbacks_are_called():
    import keras

    class Epochs(keras.callbacks.Callback):
        seen = 0

        def on_epoch_end(self, epoch, logs=None):
            Epochs.seen += 1

    CryCNNClassifier(**_TINY, callbacks=[Epochs()]).fit(_X, _Y)
    assert Epochs.seen == 2
    CryCNNClassifier(**_TINY, fit__callbacks=[Epochs()]).fit(_X, _Y)
    assert Epochs.seen == 4


def test_callbacks_given_to_fit_see_every_epoch_and_are_not_kept(tmp_path):
    import pickle

    import keras
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from sk_cry import load, save

    class Epochs(keras.callbacks.Callback):  # local to the test: pickle refuses it
        def __init__(self):
            super().__init__()
            self.rates, self.ended = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.rates.append(float(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            self.ended.append(epoch)

    seen = Epochs()
    clf = CryCNNClassifier(**{**_TINY, "epochs": 3}, lr_schedule="cosine")
    clf.fit(_X, _Y, callbacks=[seen])
    assert seen.ended == [0, 1, 2] and len(clf.history_["loss"]) == 3
    # called after the estimator's own callbacks: the schedule has set each rate
    assert seen.rates[0] == pytest.approx(1e-3) and seen.rates[0] > seen.rates[1] > \
        seen.rates[2]
    # ... and kept nowhere: not a parameter, not an attribute, not in the file
    assert all(value is not seen for value in clf.get_params().values())
    pickle.dumps(clf)
    again = load(save(clf, tmp_path / "cnn.skcry"))
    np.testing.assert_allclose(again.predict_proba(_X), clf.predict_proba(_X),
                               atol=1e-6)
    clone(clf).fit(_X, _Y)
    clf.fit(_X, _Y)
    assert seen.ended == [0, 1, 2]  # later fits do not call it
    # a pipeline routes them to the CNN's fit (sklearn's step__param)
    routed = Epochs()
    pipe = Pipeline([("same", FunctionTransformer()), ("cnn", clone(clf))])
    pipe.fit(_X, _Y, cnn__callbacks=[routed])
    assert routed.ended == [0, 1, 2]
    pickle.dumps(pipe)
    with pytest.raises(ParameterError, match="must be keras.callbacks.Callback"):
        clone(clf).fit(_X, _Y, callbacks=[print])


def test_validation_split_is_refused_with_the_parameter_to_use():
    with pytest.raises(ParameterError, match="validation_split=0.2 is not supported.*"
                       "validation_fraction"):
        CryCNNClassifier(**_TINY, validation_split=0.2).fit(_X, _Y)


def test_shuffle_false_keeps_the_training_order():
    batches = TrainingBatches([_X], _Y, None, batch_size=4, shuffle=False, seed=0)
    for _ in range(2):
        np.testing.assert_array_equal(batches[0][0][0], _X[:4])
        batches.on_epoch_end()
    shuffled = TrainingBatches([_X], _Y, None, batch_size=4, seed=0)
    assert not np.array_equal(shuffled[0][0][0], _X[:4])
    # ... and the estimator passes it on: the same seed, another batch order
    params = dict(_TINY, augment=False, mixup=0.0, dropout=0.0)
    a = CryCNNClassifier(**params, shuffle=False).fit(_X, _Y).predict_proba(_X)
    b = CryCNNClassifier(**params, shuffle=True).fit(_X, _Y).predict_proba(_X)
    assert not np.allclose(a, b)


def test_parameters_are_validated_at_fit():
    from sklearn.utils._param_validation import InvalidParameterError

    for bad in ({"pooling": "max"}, {"dropout": 1.5}, {"lr_schedule": "step"},
                {"epochs": 0}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            CryCNNClassifier(**{**_TINY, **bad}).fit(_X, _Y)
    with pytest.raises(ParameterError, match="optimizer must be a Keras optimizer name"):
        CryCNNClassifier(**_TINY, optimizer=object()).fit(_X, _Y)


def test_threads_predicting_at_once_share_one_litert_copy(monkeypatch):
    made = []

    class Counted(_lite._LiteNetwork):
        def __init__(self, model):
            made.append(model)
            super().__init__(model)

    monkeypatch.setattr(_lite, "_LiteNetwork", Counted)
    clf = CryCNNClassifier(**_TINY).fit(_X, _Y)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: clf.predict_proba(_X[i:i + 1]), range(8)))
    assert len(made) == 1
    for i, proba in enumerate(answers):
        np.testing.assert_array_equal(proba, clf.predict_proba(_X[i:i + 1]))
