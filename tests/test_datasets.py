import librosa
import numpy as np
import pytest
import soundfile as sf
from sklearn.model_selection import cross_val_score

from sk_cry import DatasetError, make_svm_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder


def test_make_cries_shape_and_repeatability():
    X, y = make_cries(12, n_classes=3, duration=0.5, random_state=3)
    assert X.shape == (12, 8000) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [4, 4, 4]
    X2, y2 = make_cries(12, n_classes=3, duration=0.5, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert np.abs(X).max() <= 1.0


def test_make_cries_classes_differ_in_pitch():
    X, y = make_cries(40, duration=2.0, noise=0.0, random_state=0)
    # The first MFCCs follow spectral shape; the documented pitch gap
    # (380 vs 500 Hz) shows as a higher spectral centroid for class 1.
    centroid = librosa.feature.spectral_centroid(y=X, sr=16000).mean(axis=(1, 2))
    assert np.median(centroid[y == 1]) > np.median(centroid[y == 0])


def test_make_cries_class_sep_controls_difficulty():
    scores = {}
    for sep in (0.0, 1.0):
        X, y = make_cries(60, duration=1.5, class_sep=sep, random_state=0)
        pipe = make_svm_pipeline(duration=1.5)
        scores[sep] = cross_val_score(pipe, X, y, cv=3).mean()
    assert scores[1.0] >= 0.9
    assert scores[0.0] <= 0.75


def test_load_folder_from_subfolders(cry_folder):
    assert len(cry_folder.paths) == 30
    assert list(cry_folder.target_names) == ["hungry", "other"]
    assert np.bincount(cry_folder.target).tolist() == [15, 15]
    assert all(f"/{name}/" in path for path, name in
               zip(cry_folder.paths, cry_folder.target_names[cry_folder.target]))


def test_load_folder_from_names_and_csv(tmp_path):
    X, _ = make_cries(3, duration=0.2, random_state=0)
    for name, x in zip(["awake_01.wav", "hungry-f-04-07.wav", "hug_02.FLAC"], X):
        sf.write(tmp_path / name, x, 16000)
    data = load_folder(tmp_path)
    assert sorted(data.labels) == ["awake", "hug", "hungry"]
    assert data.groups is None
    (tmp_path / "labels.csv").write_text(
        "Cry_Audio_File,Label\nawake_01.wav,0\nhungry-f-04-07.wav,1\n")
    data = load_folder(tmp_path, labels_csv=tmp_path / "labels.csv")
    assert [p.rsplit("/", 1)[1] for p in data.paths] == ["awake_01.wav",
                                                         "hungry-f-04-07.wav"]
    assert data.target.tolist() == [0, 1] and list(data.target_names) == ["0", "1"]


def test_load_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        load_folder(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no audio files"):
        load_folder(tmp_path)
    write_folder(np.zeros((1, 100)), [0], tmp_path, sr=16000)
    (tmp_path / "labels.csv").write_text("a.wav,1\n")
    with pytest.raises(DatasetError, match="not found under"):
        load_folder(tmp_path, labels_csv=tmp_path / "labels.csv")
    sf.write(tmp_path / "1234.wav", np.zeros(10), 16000)
    with pytest.raises(DatasetError, match="beside the class sub-folders"):
        load_folder(tmp_path)


def test_load_folder_rejects_unlabelled_name(tmp_path):
    sf.write(tmp_path / "1234.wav", np.zeros(10), 16000)
    with pytest.raises(DatasetError, match="cannot read a label"):
        load_folder(tmp_path)


def test_write_folder_round_trip(tmp_path):
    X, y = make_cries(4, duration=0.25, random_state=0)
    data = load_folder(write_folder(X, y, tmp_path, sr=16000))
    assert len(data.paths) == 4
    assert sorted(data.target.tolist()) == sorted(y.tolist())


def test_donate_a_cry_names_give_groups_and_metadata(tmp_path):
    from sk_cry.datasets import parse_name

    family_a = "0c8f14a9-6999-485b-97a2-913c1cbf099c"
    family_b = "1A2B3C4D-0000-4000-8000-00000000000F"
    names = [f"{family_a}-1431849615293-1.7-m-26-hu.wav",
             f"{family_a}-1431849699999-1.7-m-26-bp.wav",
             f"{family_b}-1430000000000-2.0-f-04-ti.ogg",
             "hungry-f-72-07.wav"]
    for name in names:
        sf.write(tmp_path / name, np.zeros(160), 16000)
    data = load_folder(tmp_path)
    by_name = {p.rsplit("/", 1)[1]: i for i, p in enumerate(data.paths)}
    a0, a1 = by_name[names[0]], by_name[names[1]]
    b, ref = by_name[names[2]], by_name[names[3]]
    assert data.labels[a0] == "hungry" and data.labels[a1] == "belly_pain"
    assert data.labels[b] == "tired" and data.labels[ref] == "hungry"
    assert data.groups[a0] == data.groups[a1] == family_a
    assert data.groups[b] == family_b.lower()
    assert data.groups[ref] not in (family_a, family_b.lower())  # its own group
    assert data.metadata["gender"][b] == "f" and data.metadata["age"][a0] == "26"
    assert data.metadata["age_band"][ref] == "7 months-2 years"
    assert parse_name("awake_01.wav") == dict(label="awake", group=None, gender=None,
                                              age=None)
