"""The audit must flag every planted shortcut and stay quiet on clean data."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.neighbors import KNeighborsClassifier

from sk_cry import audit, evaluate, make_svm_pipeline
from sk_cry.datasets import make_cries

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
        return (librosa.resample(x, orig_sr=SR, target_sr=8000), 8000) if label else (x, SR)

    report = audit(_write(tmp_path, X, y, transform=as_8k), y)
    found = _problems(report, "sample_rate")
    assert found and found[0].severity == "critical" and found[0].score > 0.9
    assert "sample rate" in found[0].message
    assert _problems(report, "bandwidth")


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
