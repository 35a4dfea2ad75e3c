"""The audit must flag every planted shortcut and stay quiet on clean data."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    permutation_test_score,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from sk_cry import audit, evaluate, make_svm_pipeline
from sk_cry.datasets import make_cries
from sk_cry.exceptions import ParameterError

SR = 16000


@pytest.fixture(scope="module")
def cries():
    return make_cries(40, duration=2.0, random_state=7)


def _write(folder, X, y, *, sr=SR, transform=None):
    """Write clips as WAV; ``transform(x, label)`` -> (x, sr) alters a clip."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (x, label) in enumerate(zip(X, y)):
        rate = sr
        if transform is not None:
            x, rate = transform(x, label)
        path = folder / f"clip_{i:03d}.wav"
        sf.write(path, x, rate, subtype="PCM_16")
        paths.append(str(path))
    return paths


def _problems(report, kind):
    return [f for f in report.by_kind(kind) if f.severity != "info"]


def test_clean_data_raises_nothing(cries, tmp_path):
    X, y = cries
    report = audit(_write(tmp_path, X, y), y)
    assert report.shortcuts == [], str(report)
    assert "0 problem(s)" in str(report)


def test_sample_rate_confound_is_flagged(cries, tmp_path):
    X, y = cries

    def as_8k(x, label):
        if not label:
            return x, SR
        return librosa.resample(x, orig_sr=SR, target_sr=8000), 8000

    report = audit(_write(tmp_path, X, y, transform=as_8k), y)
    found = _problems(report, "sample_rate")
    assert found and found[0].severity == "critical" and found[0].score > 0.9
    assert "sample rate" in found[0].message
    assert _problems(report, "bandwidth")


def test_channels_and_bit_depth_are_a_format_finding(cries, tmp_path):
    X, y = cries

    def stereo_24bit(folder):
        # class 1: stereo 24-bit FLAC; class 0: mono 16-bit WAV; all at 16 kHz
        folder.mkdir()
        paths = []
        for i, (x, label) in enumerate(zip(X, y)):
            if label:
                path = folder / f"clip_{i:03d}.flac"
                sf.write(path, np.stack([x, x], axis=1), SR, subtype="PCM_24")
            else:
                path = folder / f"clip_{i:03d}.wav"
                sf.write(path, x, SR, subtype="PCM_16")
            paths.append(str(path))
        return paths

    report = audit(stereo_24bit(tmp_path / "mixed"), y)
    found = _problems(report, "format")
    messages = " | ".join(f.message for f in found)
    for label in ("channel count", "bit depth / codec", "file format"):
        assert f"the {label} alone predicts the label" in messages, str(report)
    assert all(f.severity == "critical" and f.score > 0.9 for f in found)
    # the sample rate is the same everywhere: only the info line, under its kind
    assert [str(f) for f in report.by_kind("sample_rate")] == [
        "[info] sample_rate: every file has sample rate 16000"]


def test_upsampled_band_is_flagged_at_equal_sample_rate(cries, tmp_path):
    X, y = cries

    def upsampled(x, label):
        if label:
            x = librosa.resample(librosa.resample(x, orig_sr=SR, target_sr=8000),
                                 orig_sr=8000, target_sr=SR)
        return x, SR

    report = audit(_write(tmp_path, X, y, transform=upsampled), y)
    assert not _problems(report, "sample_rate")
    found = _problems(report, "bandwidth")
    assert found and max(f.score for f in found) > 0.9


def test_level_and_duration_confounds_are_flagged(cries, tmp_path):
    X, y = cries
    quiet = audit(_write(tmp_path / "q", X, y,
                         transform=lambda x, c: (x * (0.03 if c else 1.0), SR)), y)
    assert any("loudness" in f.message for f in _problems(quiet, "level"))
    short = audit(_write(tmp_path / "d", X, y,
                         transform=lambda x, c: (x[: int(1.4 * SR)] if c else x, SR)), y)
    assert _problems(short, "duration")


def test_duplicates_exact_near_and_overlapping(cries, tmp_path):
    X, y = cries
    paths = _write(tmp_path, X, y)
    a, b = X[0], X[1]
    sf.write(tmp_path / "copy.wav", a, SR, subtype="PCM_16")  # identical
    near = 0.5 * a[int(0.005 * SR):]  # 6 dB quieter, 5 ms trimmed, re-encoded
    sf.write(tmp_path / "near.ogg", near, SR)
    long = np.concatenate([b, X[2]])  # one 4-s recording cut in two windows
    sf.write(tmp_path / "win1.wav", long[: 3 * SR], SR)
    sf.write(tmp_path / "win2.wav", long[1 * SR:], SR)
    extra = [str(tmp_path / n) for n in ("copy.wav", "near.ogg", "win1.wav", "win2.wav")]
    labels = np.r_[y, y[0], 1 - y[0], y[1], y[1]]  # the near copy in the other class
    report = audit(paths + extra, labels)
    dupes = report.by_kind("duplicate")
    messages = " | ".join(f.message for f in dupes)
    assert any(f.message.startswith("identical audio") and "copy.wav" in f.message
               for f in dupes), messages
    near_hits = [f for f in dupes if "near.ogg" in f.message and "clip_000" in f.message]
    assert near_hits and near_hits[0].severity == "critical"  # different classes
    assert "different classes" in near_hits[0].message
    assert any("overlapping audio" in f.message and "win1.wav" in f.message
               and "win2.wav" in f.message for f in dupes), messages
    # nothing else: the 40 distinct clips are not confused with each other
    involved = {p for f in dupes for p in f.files}
    assert involved <= set(extra) | {paths[0], paths[1], paths[2]}


def test_group_and_duplicate_overlap_across_a_split(cries, tmp_path):
    X, y = cries
    paths = _write(tmp_path, X[:20], y[:20])
    sf.write(tmp_path / "again.wav", X[0], SR, subtype="PCM_16")
    paths.append(str(tmp_path / "again.wav"))
    labels = np.r_[y[:20], y[0]]
    groups = np.repeat(np.arange(7), 3)
    train, test = np.arange(0, 16), np.r_[16:21]  # group 5 (15-17) straddles; dupe too
    report = audit(paths, labels, groups, split=(train, test))
    overlap = report.by_kind("group_overlap")
    assert any("1 group(s) on both sides" in f.message for f in overlap)
    assert any("duplicate audio on both sides" in f.message for f in overlap)
    clean = audit(paths, labels, groups, split=(np.r_[:15], np.r_[15:18]))
    assert not any("group(s)" in f.message for f in clean.by_kind("group_overlap"))


def test_a_path_listed_twice_is_a_duplicate_across_the_split(cries, tmp_path):
    # the same file on both sides of a split: its rows, not its name, say which
    # side each copy is on
    X, y = cries
    paths = _write(tmp_path, X[:20], y[:20])
    paths.append(paths[0])
    labels = np.r_[y[:20], y[0]]
    report = audit(paths, labels, split=(np.r_[:16], np.r_[16:21]))
    (dupe,) = report.by_kind("duplicate")
    assert dupe.message.startswith("identical audio") and dupe.files == [paths[0]] * 2
    (overlap,) = report.by_kind("group_overlap")
    assert "duplicate audio on both sides" in overlap.message
    assert audit(paths, labels, split=(np.r_[1:16], np.r_[16:21])).by_kind(
        "group_overlap") == []

def test_evaluate_separable_vs_chance(cries):
    X, y = cries
    good = evaluate(make_svm_pipeline(duration=2.0), X, y, cv=4, n_permutations=200)
    assert good.verdict.startswith("Above chance")
    assert good.ci[0] > good.chance and good.p_value < 0.05
    assert good.confusion_matrix.sum() == len(y)
    Xn, yn = make_cries(40, duration=1.0, class_sep=0.0, random_state=1)
    noise = evaluate(make_svm_pipeline(duration=1.0), Xn, yn, cv=4, n_permutations=200)
    assert noise.verdict.startswith("NOT distinguishable from chance")
    assert noise.chance == 0.5


def test_grouped_evaluation_removes_identity_leak():
    # 12 families, 5 clips each; each family's clips share a fingerprint, and the
    # label is a family-level coin flip: memorising families is the only "skill".
    rng = np.random.default_rng(0)
    fam = np.repeat(np.arange(12), 5)
    centers = rng.normal(size=(12, 8)) * 5
    X = centers[fam] + rng.normal(size=(60, 8)) * 0.1
    y = np.repeat(rng.permutation([0, 1] * 6), 5)
    knn = KNeighborsClassifier(1)
    leaky = evaluate(knn, X, y, cv=5, n_permutations=200)
    honest = evaluate(knn, X, y, groups=fam, cv=4, n_permutations=200)
    assert leaky.balanced_accuracy > 0.9 and leaky.verdict.startswith("Above")
    assert honest.grouped and honest.verdict.startswith("NOT")
    assert honest.balanced_accuracy < 0.75


def _noisy_problem(n=70, seed=0):
    """A weak signal in 3 features; 70 clips do not split evenly into 4 folds."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 3 == 0).astype(int)  # unbalanced: 24 vs 46
    X = rng.normal(size=(n, 3)) + 0.8 * y[:, None]
    return X, y


def test_headline_is_the_pooled_out_of_fold_score():
    X, y = _noisy_problem()
    # unstratified folds differ in class balance, which parts the pooled score
    # from the mean of the fold scores (0.705 against 0.742 here)
    cv = KFold(4, shuffle=True, random_state=3)
    result = evaluate(GaussianNB(), X, y, cv=cv, n_permutations=199)
    pooled = cross_val_predict(GaussianNB(), X, y, cv=cv)
    expected = balanced_accuracy_score(y, pooled)
    assert result.statistic == "pooled"
    assert result.balanced_accuracy == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(result.oof_predictions, pooled)
    assert result.ci[0] <= result.balanced_accuracy <= result.ci[1]
    # the folds are still reported, with their mean under its own name, and
    # here that mean is a different number from the headline
    folds = cross_val_score(GaussianNB(), X, y, cv=cv, scoring="balanced_accuracy")
    np.testing.assert_allclose(result.balanced_accuracy_folds, folds)
    assert result.balanced_accuracy_fold_mean == pytest.approx(folds.mean())
    assert abs(result.balanced_accuracy_fold_mean - expected) > 0.02
    assert f"balanced accuracy {expected:.3f} (pooled out-of-fold" in str(result)
    assert f"balanced accuracy {expected:.2f} (pooled" in result.verdict
    assert len(result.fit_time) == len(result.score_time) == 4
    assert np.all(result.fit_time > 0)
    assert result.n_scored == len(y)


def test_refit_headline_is_the_fold_mean_its_p_value_tests():
    X, y = _noisy_problem()
    cv = KFold(4, shuffle=True, random_state=3)
    result = evaluate(GaussianNB(), X, y, cv=cv, n_permutations=19,
                      permutation="refit", random_state=5)
    score, _, p_value = permutation_test_score(
        GaussianNB(), X, y, cv=cv, n_permutations=19,
        scoring="balanced_accuracy", random_state=5)
    assert result.statistic == "fold_mean"
    assert result.balanced_accuracy == pytest.approx(score)
    assert result.balanced_accuracy == pytest.approx(result.balanced_accuracy_fold_mean)
    assert result.p_value == pytest.approx(p_value)
    assert result.ci[0] <= result.balanced_accuracy <= result.ci[1]
    assert "(mean over folds)" in result.verdict


def test_parallel_folds_give_the_same_result():
    X, y = _noisy_problem()
    one = evaluate(GaussianNB(), X, y, cv=4, n_permutations=99, n_jobs=1)
    # a list, as a list of paths would be: indexed the same way in the workers
    two = evaluate(GaussianNB(), list(X), y, cv=4, n_permutations=99, n_jobs=2)
    for name in ("balanced_accuracy", "ci", "p_value", "f1_macro"):
        assert getattr(one, name) == getattr(two, name), name
    np.testing.assert_array_equal(one.oof_predictions, two.oof_predictions)
    np.testing.assert_array_equal(one.balanced_accuracy_folds,
                                  two.balanced_accuracy_folds)


class _NeedsTheMarker(GaussianNB):
    """Refuses to fit when clip 0 (the only one with column 3 set) is held out."""

    def fit(self, X, y, sample_weight=None):
        if not np.any(X[:, 3] == 1):
            raise ValueError("the marker clip is not in this training set")
        return super().fit(X, y, sample_weight=sample_weight)


def test_a_failing_fold_raises_or_is_left_out():
    X, y = _noisy_problem()
    X = np.c_[X, np.arange(len(y)) == 0]
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    with pytest.raises(ValueError, match="marker clip"):
        evaluate(_NeedsTheMarker(), X, y, cv=cv, n_permutations=9, error_score="raise")
    with pytest.warns(FitFailedWarning, match="1 fits failed"):
        result = evaluate(_NeedsTheMarker(), X, y, cv=cv, n_permutations=99)
    failed, held_out = next((k, test) for k, (_, test) in enumerate(cv.split(X, y))
                            if 0 in test)
    assert result.n_scored == len(y) - len(held_out)
    assert result.n_failed_folds == 1 and np.isnan(result.balanced_accuracy_folds[failed])
    assert np.all(result.oof_predictions[held_out] == -1)
    kept = result.oof_predictions >= 0
    assert result.balanced_accuracy == pytest.approx(
        balanced_accuracy_score(y[kept], result.oof_predictions[kept]))
    assert result.confusion_matrix.sum() == result.n_scored
    assert (f"scored {result.n_scored} of {len(y)} clips: 1 of 4 folds failed"
            in str(result))
    with pytest.raises(ParameterError, match="error_score must be 'raise' or np.nan"):
        evaluate(GaussianNB(), X, y, error_score=0.0)


def test_unreadable_file_is_a_finding_not_a_crash(cries, tmp_path):
    X, y = cries
    paths = _write(tmp_path, X, y)
    (tmp_path / "empty.wav").write_bytes(b"")
    report = audit(paths + [str(tmp_path / "empty.wav")], np.r_[y, 0])
    (found,) = report.by_kind("unreadable")
    assert found.files == [str(tmp_path / "empty.wav")] and "empty.wav" in found.message
    assert report.shortcuts == [found]  # the other 40 files are audited as before
    assert report.n_files == 41


def test_missing_labels_are_refused(cries, tmp_path):
    X, y = cries
    paths = _write(tmp_path, X[:4], y[:4])
    with pytest.raises(ParameterError, match="1 label.*missing.*clip_002.wav"):
        audit(paths, [0.0, 1.0, np.nan, 1.0])
    with pytest.raises(ParameterError, match="missing"):
        audit(paths, ["a", "b", None, "a"])


def test_few_clips_per_class_are_never_critical(tmp_path):
    # a stump on one property separates 4 + 4 clips easily by luck
    X, y = make_cries(8, duration=1.0, random_state=7)
    louder = [x * (4.0 if label else 0.25) for x, label in zip(X, y)]
    report = audit(_write(tmp_path, louder, y), y)
    assert report.by_kind("level") and not [
        f for f in report.findings if f.severity == "critical"]


def test_independent_clips_that_sound_alike_are_not_duplicates(tmp_path):
    # synthetic cries of one class share envelopes and spectra for a second or
    # more (5 such pairs among these 150 without the waveform check)
    X, y = make_cries(150, duration=6.0, random_state=11)
    report = audit(_write(tmp_path, X, y), y, n_jobs=2)
    assert report.by_kind("duplicate") == []
