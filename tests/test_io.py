import numpy as np
import pytest
import soundfile as sf

from sk_cry import AudioLoadError, AudioLoader, SkCryError
from sk_cry.exceptions import TruncatedAudioWarning
from sk_cry.io import load_audio


def _tone(freq, sr, seconds):
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_load_resamples_mixes_and_fixes_length(tmp_path):
    stereo = np.stack([_tone(440, 8000, 1.0), _tone(440, 8000, 1.0)], axis=1)
    path = tmp_path / "stereo8k.wav"
    sf.write(path, stereo, 8000)
    y = load_audio(path, sr=16000, duration=2.0)
    assert y.shape == (32000,) and y.dtype == np.float32
    # One second of 440 Hz, then exact silence padding.
    assert np.all(y[16100:] == 0)
    spectrum = np.abs(np.fft.rfft(y[:16000]))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 440) <= 1
    assert load_audio(path, sr=8000, duration=0.5).shape == (4000,)  # trimmed


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_formats_decode_alike(tmp_path, ext):
    x = _tone(300, 16000, 0.5)
    sf.write(tmp_path / f"a.{ext}", x, 16000)
    y = load_audio(tmp_path / f"a.{ext}", duration=0.5)
    assert np.corrcoef(x, y)[0, 1] > 0.99


def test_max_bandwidth_removes_high_band():
    x = _tone(300, 16000, 1.0) + _tone(6000, 16000, 1.0)
    y = AudioLoader(duration=1.0, max_bandwidth=4000).fit_transform([x])[0]
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(y.size, 1 / 16000)
    assert spectrum[freqs > 4100].max() < 1e-3 * spectrum.max()
    assert spectrum[np.argmin(abs(freqs - 300))] > 0.5 * spectrum.max()


def test_paths_and_waveforms_give_same_rows(tmp_path):
    x = _tone(500, 16000, 0.7)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="FLOAT")
    loader = AudioLoader(duration=1.0)
    from_path = loader.fit_transform([tmp_path / "a.wav", str(tmp_path / "a.wav")])
    from_wave = loader.fit_transform([x])
    np.testing.assert_array_equal(from_path[0], from_wave[0])
    np.testing.assert_array_equal(from_path[0], from_path[1])


def test_parallel_decoding_matches_serial(cry_folder):
    serial = AudioLoader(duration=1.0).fit_transform(cry_folder.paths)
    parallel = AudioLoader(duration=1.0, n_jobs=2).fit_transform(cry_folder.paths)
    np.testing.assert_array_equal(serial, parallel)


def test_errors_name_the_file(tmp_path):
    loader = AudioLoader()
    with pytest.raises(AudioLoadError, match="missing.wav: no such file"):
        loader.transform([tmp_path / "missing.wav"])
    (tmp_path / "notes.wav").write_text("not audio at all")
    with pytest.raises(AudioLoadError, match="notes.wav: is not readable audio"):
        loader.transform([tmp_path / "notes.wav"])
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(AudioLoadError, match="empty.wav: holds no samples"):
        loader.transform([tmp_path / "empty.wav"])
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2]), 16000, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="nan.wav: contains NaN"):
        loader.transform([tmp_path / "nan.wav"])


def test_errors_for_bad_x():
    loader = AudioLoader()
    with pytest.raises(AudioLoadError, match="not a single path"):
        loader.transform("clip.wav")
    with pytest.raises(AudioLoadError, match=r"X\[1\]: contains NaN"):
        loader.transform(np.array([[0.0, 1.0], [np.inf, 0.0]]))
    with pytest.raises(AudioLoadError, match=r"X\[0\]: a waveform must be 1-D"):
        loader.transform([np.zeros((2, 10))])
    with pytest.raises(AudioLoadError, match="holds no clips"):
        loader.fit([])
    # one hierarchy, and still a ValueError for generic handlers
    assert issubclass(AudioLoadError, SkCryError) and issubclass(AudioLoadError, ValueError)


def test_error_survives_pickling_from_workers(tmp_path):
    # either worker may fail first; the file name and reason must survive pickling
    with pytest.raises(AudioLoadError, match=r"gone2?\.wav: no such file"):
        AudioLoader(n_jobs=2).transform([tmp_path / "gone.wav", tmp_path / "gone2.wav"])


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_decoding_matches_soundfile(tmp_path, subtype, channels):
    """The int16 shortcut for PCM_16 gives libsndfile's own float samples."""
    y = np.random.default_rng(0).uniform(-1, 1, size=(4000, channels)).astype(np.float32)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, y, 16000, subtype=subtype)
    want, _ = sf.read(path, dtype="float32", always_2d=True)
    got = load_audio(path, sr=16000, duration=0.25)
    np.testing.assert_array_equal(got, want.mean(axis=1))


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[:-1001])  # the header still promises every sample


@pytest.mark.parametrize("kind", ["plain", "wavex", "truncated", "stereo"])
def test_wav_shortcut_reads_what_soundfile_reads(tmp_path, kind):
    """Mono PCM_16 WAV (plain, WAVE_FORMAT_EXTENSIBLE or cut short) is read by
    ``_wav.read_pcm16``; everything else through soundfile. Both must give
    soundfile's samples, and a cut file says so."""
    import os

    from sk_cry.io import _wav

    channels = 2 if kind == "stereo" else 1
    y = np.random.default_rng(1).uniform(-1, 1, size=(4000, channels))
    path = tmp_path / "a.wav"
    sf.write(path, y, 8000, subtype="PCM_16", format="WAVEX" if kind == "wavex" else "WAV")
    if kind == "truncated":
        _truncated(path)
    want, _ = sf.read(path, dtype="float32", always_2d=True)
    if kind == "truncated":
        with pytest.warns(TruncatedAudioWarning, match="a.wav: is truncated"):
            got = load_audio(path, sr=8000, duration=0.5)
    else:
        got = load_audio(path, sr=8000, duration=0.5)
    n = want.shape[0]
    np.testing.assert_array_equal(got[:n], want.mean(axis=1))
    assert not got[n:].any()
    fd = os.open(path, os.O_RDONLY)
    try:  # the header that makes _decode take the shortcut
        header = _wav.read_header(fd, os.fstat(fd).st_size, str(path))
    finally:
        os.close(fd)
    assert header.pcm16_mono == (kind != "stereo")


@pytest.fixture
def two_wavs(tmp_path):
    """Two real 16-bit WAV files (at 8 and 16 kHz) and their rows from a list."""
    paths = [tmp_path / "low.wav", tmp_path / "high.wav"]
    sf.write(paths[0], _tone(300, 8000, 0.6), 8000, subtype="PCM_16")
    sf.write(paths[1], _tone(700, 16000, 0.8), 16000, subtype="PCM_16")
    want = AudioLoader(duration=1.0).fit_transform([str(p) for p in paths])
    assert want.shape == (2, 16000) and np.all(want.any(axis=1))
    return paths, want


@pytest.mark.parametrize("form", [
    "tuple of Path", "array of str", "array of object", "(n, 1) array of str",
    "(n, 1) array of Path",
])
def test_path_containers_give_the_list_rows(two_wavs, form):
    paths, want = two_wavs
    X = {
        "tuple of Path": tuple(paths),
        "array of str": np.array([str(p) for p in paths]),
        "array of object": np.array(paths, dtype=object),
        "(n, 1) array of str": np.array([[str(p)] for p in paths]),
        "(n, 1) array of Path": np.array(paths, dtype=object).reshape(-1, 1),
    }[form]
    loader = AudioLoader(duration=1.0)
    np.testing.assert_array_equal(loader.fit(X).transform(X), want)


@pytest.mark.parametrize("form", ["Series of str", "Series of Path", "DataFrame of str",
                                  "DataFrame of Path"])
def test_pandas_column_of_paths_gives_the_list_rows(two_wavs, form):
    pd = pytest.importorskip("pandas")
    paths, want = two_wavs
    column = [str(p) for p in paths] if form.endswith("str") else paths
    # a non-default index, as a row subset of a larger table would have
    X = pd.Series(column, index=[7, 3], name="path")
    if form.startswith("DataFrame"):
        X = X.to_frame()
        assert X.shape == (2, 1)
    np.testing.assert_array_equal(AudioLoader(duration=1.0).fit_transform(X), want)


def test_dataframe_column_of_waveforms(two_wavs):
    """A one-column DataFrame whose cells hold whole waveforms (as a table of
    decoded audio would) gives the same rows as the list of those waveforms."""
    pd = pytest.importorskip("pandas")
    waves = [_tone(300, 16000, 0.5), _tone(700, 16000, 1.2)]
    want = AudioLoader(duration=1.0).fit_transform(waves)
    X = pd.DataFrame({"audio": pd.Series(waves, dtype=object)})
    np.testing.assert_array_equal(AudioLoader(duration=1.0).fit_transform(X), want)


def test_several_columns_of_paths_are_refused(two_wavs):
    paths, _ = two_wavs
    loader = AudioLoader(duration=1.0)
    # the fix names the column that holds the paths, not just the first one
    table = np.array([["hungry", str(paths[0])], ["other", str(paths[1])]], dtype=object)
    with pytest.raises(AudioLoadError, match=r"X: has 2 columns .*e\.g\. X\[:, 1\]"):
        loader.transform(table)
    with pytest.raises(AudioLoadError, match="pass only the column of file paths"):
        loader.fit(np.array([[str(p), str(p)] for p in paths]))
    # numbers held as objects stay waveforms, one per row, as before
    rows = loader.transform(np.ones((2, 5), dtype=object))
    assert rows.shape == (2, 16000) and np.all(rows[:, :5] == 1) and not rows[:, 5:].any()


def test_dataframe_of_several_columns_is_refused(two_wavs):
    pd = pytest.importorskip("pandas")
    paths, _ = two_wavs
    loader = AudioLoader(duration=1.0)
    df = pd.DataFrame({"label": [1, 0], "path": paths})
    with pytest.raises(AudioLoadError,
                       match=r"X: has 2 columns \('label', 'path'\) .*e\.g\. X\['path'\]"):
        loader.transform(df)
    with pytest.raises(AudioLoadError, match=r"e\.g\. X\['a'\]"):  # no path in row 0
        loader.transform(pd.DataFrame({"a": ["x", "y"], "b": ["z", "w"]}))
    # a numeric DataFrame is waveforms, one per row (as set_output="pandas" gives)
    waves = pd.DataFrame(np.ones((2, 5)), columns=[f"sample{i}" for i in range(5)])
    np.testing.assert_array_equal(loader.transform(waves),
                                  loader.transform(np.ones((2, 5))))


def test_svm_pipeline_fits_and_predicts_on_a_dataframe(cry_folder):
    pd = pytest.importorskip("pandas")
    from sk_cry import make_svm_pipeline

    X = pd.DataFrame({"path": cry_folder.paths})
    from_list = make_svm_pipeline(duration=1.0).fit(cry_folder.paths, cry_folder.target)
    model = make_svm_pipeline(duration=1.0).fit(X, cry_folder.target)
    pred = model.predict(X.iloc[::-1])  # a reordered index, as a CV split gives
    np.testing.assert_array_equal(pred, from_list.predict(cry_folder.paths[::-1]))
    assert model.score(X, cry_folder.target) > 0.9  # the synthetic classes separate


def test_loader_pickled_before_strict_existed_loads(tmp_path):
    """A model saved before issue 13 has no ``strict``: it loads as strict=False."""
    import pickle

    old = AudioLoader(duration=0.1)
    del old.__dict__["strict"]
    loader = pickle.loads(pickle.dumps(old))
    assert loader.get_params()["strict"] is False
    sf.write(tmp_path / "a.wav", _tone(300, 16000, 0.1), 16000)
    assert loader.transform([tmp_path / "a.wav"]).shape == (1, 1600)


def test_declared_frames_is_what_the_header_promises(tmp_path):
    import struct

    from sk_cry.io import declared_frames

    wave = np.zeros(16000, np.float32)
    sf.write(tmp_path / "a.wav", wave, 16000, subtype="PCM_16")
    sf.write(tmp_path / "a.flac", wave, 16000)
    assert declared_frames(tmp_path / "a.wav") == 16000
    assert declared_frames(tmp_path / "a.flac") is None
    data = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:-10000])  # cut short: still promises all
    assert declared_frames(tmp_path / "cut.wav") == 16000
    # a size written as "to the end of the file" declares what the file holds
    at = data.index(b"data") + 4
    streamed = data[:at] + struct.pack("<I", 0xFFFFFFFF) + data[at + 4:-10000]
    (tmp_path / "streamed.wav").write_bytes(streamed)
    assert declared_frames(tmp_path / "streamed.wav") == 16000 - 5000
    with pytest.raises(AudioLoadError, match="empty"):
        (tmp_path / "empty.wav").write_bytes(b"")
        declared_frames(tmp_path / "empty.wav")
