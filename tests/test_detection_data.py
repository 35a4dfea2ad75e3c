"""Cry-detection data: load_background, make_detection_set, make_night."""

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.model_selection import StratifiedGroupKFold

from sk_cry import DatasetError, ParameterError
from sk_cry.datasets import load_background, make_cries, make_detection_set, make_night
from sk_cry.io import load_audio

SR = 16000
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# talkers of the synthetic speech groups: one tone each, so that a babble
# window's spectrum says which talkers are in it
TALKERS = {"speech-digits/ann": 300, "speech-digits/bob": 500, "speech-digits/cy": 700,
           "speech/talk_a.flac": 900, "speech/talk_b.flac": 1100}


def _tone(freq, seconds, sr, rng, syllables=True):
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.05 * rng.standard_normal(t.size))
    if syllables:  # 4 Hz amplitude modulation, like syllables
        x *= 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return x


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Cries (8 kHz WAV) and background (16-kHz FLAC, 8-kHz spoken 'digits') in
    the layout of shared/data/background."""
    root = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    cries = []
    X, _ = make_cries(4, sr=8000, duration=3.0, random_state=0)
    for i, x in enumerate(X):
        cries.append(root / "cries" / f"cry_{i}.wav")
        cries[-1].parent.mkdir(parents=True, exist_ok=True)
        sf.write(cries[-1], x, 8000)
    # a cry with a silent second in the middle: its middle crop must be dropped
    paused = X[0].copy()
    paused[8000:16000] = 0
    cries.append(root / "cries" / "paused.wav")
    sf.write(cries[-1], paused, 8000)
    bg = root / "background"
    files = {
        "noise/white.flac": (rng.normal(0, 0.1, 6 * SR), SR),
        # 6 kHz: above the 4-kHz band every window must be cut to
        "music/tones.flac": (_tone(440, 5.0, SR, rng) + _tone(6000, 5.0, SR, rng), SR),
        "speech/talk_a.flac": (_tone(900, 4.0, SR, rng), SR),
        "speech/talk_b.flac": (_tone(1100, 4.0, SR, rng), SR),
    }
    for speaker in ("ann", "bob", "cy"):
        for digit in range(6):
            files[f"speech-digits/{speaker}/{digit}_{speaker}_0.flac"] = (
                _tone(TALKERS[f"speech-digits/{speaker}"], 0.4, 8000, rng), 8000)
    for name, (x, sr) in files.items():
        (bg / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(bg / name, x, sr)
    return dict(cries=[str(c) for c in cries], background=load_background(bg), root=bg)


@pytest.fixture(scope="module")
def detection(sources, tmp_path_factory):
    bg = sources["background"]
    out = tmp_path_factory.mktemp("set")
    data = make_detection_set(sources["cries"], bg.paths, out, background_groups=bg.groups,
                              background_categories=bg.categories, window=1.0, hop=0.5,
                              random_state=0)
    return data, out


def _group_audio(bg, group):
    """The joined audio of one group, read as make_detection_set reads it."""
    paths = sorted(p for p, g in zip(bg.paths, bg.groups) if g == group)
    parts = []
    for path in paths:
        parts += [load_audio(path, sr=SR, duration=sf.info(path).duration,
                             max_bandwidth=4000.0), np.zeros(int(0.2 * SR), np.float32)]
    return np.concatenate(parts[:-1])


def _corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


# --------------------------------------------------------------------------- #
# load_background


def test_load_background_groups_speakers_and_categories(sources):
    bg = sources["background"]
    assert len(bg.paths) == 4 + 18
    by_path = {Path(p).relative_to(sources["root"]).as_posix(): (g, c, s) for p, g, c, s
               in zip(bg.paths, bg.groups, bg.categories, bg.seconds)}
    assert by_path["noise/white.flac"] == ("noise/white.flac", "noise", 6.0)
    assert by_path["speech-digits/bob/3_bob_0.flac"] == ("speech-digits/bob",
                                                         "speech-digits", 0.4)
    # one speaker, one group: all six digits of a speaker share it
    assert sorted(set(bg.groups)) == sorted(set(TALKERS) | {"noise/white.flac",
                                                            "music/tones.flac"})
    assert (bg.groups == "speech-digits/cy").sum() == 6


def test_load_background_without_audio_raises(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match="no audio files"):
        load_background(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        load_background(tmp_path / "missing")


# --------------------------------------------------------------------------- #
# make_detection_set


def test_background_windows_are_their_recordings_audio(sources, detection):
    data, _ = detection
    bg = sources["background"]
    negatives = (data.target == 0) & (data.categories != "babble")
    for group in ("noise/white.flac", "music/tones.flac", "speech-digits/ann"):
        audio = _group_audio(bg, group)
        mine = np.flatnonzero(negatives & (data.groups == group))
        if group in ("noise/white.flac", "music/tones.flac"):
            # every whole 1-s window every 0.5 s, the last partial one dropped
            assert mine.size == (audio.size - SR) // (SR // 2) + 1
        for i in mine:
            x, _ = sf.read(data.paths[i], dtype="float32")
            start = int(round(data.start[i] * SR))
            # the file is its group's audio at `start` (at another level)
            assert _corr(x, audio[start:start + SR]) > 0.999, (group, data.paths[i])


def test_positives_are_their_groups_background_plus_their_cry(sources, detection):
    data, _ = detection
    bg = sources["background"]
    pos = np.flatnonzero(data.target == 1)
    assert set(data.categories[pos]) == {"cry"}
    crops_of = {}
    for cry in sources["cries"]:
        clip = load_audio(cry, sr=SR, duration=3.0, max_bandwidth=4000.0)
        crops_of[cry] = clip.reshape(3, SR)
    # every crop of one cry lies in one group; the crops of a pause are dropped
    assert {c: len(set(data.groups[pos][data.cry_file[pos] == c])) for c in crops_of} \
        == dict.fromkeys(crops_of, 1)
    assert (data.cry_file == sources["cries"][-1]).sum() == 2
    # 5 cries round-robin over 7 groups: no two cries share one
    assert len(set(data.groups[pos])) == len(sources["cries"])
    audio = {g: _group_audio(bg, g) for g in set(data.groups[pos])}
    for i in pos:
        x, _ = sf.read(data.paths[i], dtype="float32")
        start = int(round(data.start[i] * SR))
        back = audio[data.groups[i]][start:start + SR]
        # x = a * background + b * crop for one crop of its cry, to 16-bit precision
        fits = []
        for crop in crops_of[data.cry_file[i]]:
            basis = np.stack([back, crop], axis=1)
            (a, b), *_ = np.linalg.lstsq(basis, x, rcond=None)
            residual = np.linalg.norm(x - basis @ [a, b]) / np.linalg.norm(x)
            fits.append((residual, 20 * np.log10(abs(b) * np.std(crop)
                                                 / (abs(a) * np.sqrt(np.mean(back ** 2))))))
        residual, snr = min(fits)
        assert residual < 0.01
        assert -5.0 - 0.1 <= data.snr_db[i] <= 20.0 + 0.1
        assert snr == pytest.approx(data.snr_db[i], abs=0.3)


def test_babble_mixes_talkers_kept_out_of_the_negatives(sources, detection):
    data, _ = detection
    babble = np.flatnonzero(data.categories == "babble")
    assert babble.size >= 1 and (data.target[babble] == 0).all()
    assert sorted(data.groups[babble]) == [f"babble-{k}" for k in range(babble.size)]
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    for i in babble:
        x, _ = sf.read(data.paths[i], dtype="float32")
        power = np.abs(np.fft.rfft(x)) ** 2
        talkers = [f for f in TALKERS.values()
                   if power[np.abs(freqs - f) < 20].sum() > 0.01 * power.sum()]
        assert 3 <= len(talkers) <= 5
    # no plain window of a speech recording reaches into the part kept for babble
    bg = sources["background"]
    for group in TALKERS:
        n = _group_audio(bg, group).size
        kept = n - max(SR, int(n / 3))
        mine = np.flatnonzero((data.groups == group) & (data.target == 0))
        starts = np.round(data.start[mine] * SR).astype(int)
        straddle = (starts < kept) & (starts + SR > kept)
        assert not straddle.any(), group


def test_written_files_format_level_and_band(detection):
    data, out = detection
    assert np.bincount(data.target).tolist() == [(data.target == 0).sum(), 14]
    for path in data.paths:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (
            SR, 1, "PCM_16", SR)
        x, _ = sf.read(path, dtype="float64")
        peak_db = 20 * np.log10(np.abs(x).max())
        assert -35.05 <= peak_db <= -2.95
        # Hann taper: the edges of an untapered window leak (1e-4 above 4.1 kHz)
        power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
        above = power[np.fft.rfftfreq(x.size, 1 / SR) > 4100].sum() / power.sum()
        assert above < 1e-5, path  # the white noise and the 6-kHz tone are cut
    with open(out / "windows.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [str(out / r["file"]) for r in rows] == data.paths
    assert [int(r["target"]) for r in rows] == data.target.tolist()
    assert [r["group"] for r in rows] == data.groups.tolist()


def test_without_band_limit_the_band_gives_itself_away(sources, tmp_path):
    """The control of the test above: without max_bandwidth the white noise keeps
    its energy above 4 kHz, so the FFT check does see it."""
    bg = sources["background"]
    data = make_detection_set(sources["cries"][:1], bg.paths, tmp_path, window=1.0,
                              background_groups=bg.groups, max_bandwidth=None,
                              babble=False, random_state=0)
    white = np.flatnonzero((data.groups == "noise/white.flac") & (data.target == 0))
    x, _ = sf.read(data.paths[white[0]], dtype="float64")
    power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    assert power[np.fft.rfftfreq(x.size, 1 / SR) > 4100].sum() / power.sum() > 0.3


def test_detection_set_is_deterministic(sources, detection, tmp_path):
    data, _ = detection
    bg = sources["background"]
    kwargs = dict(background_groups=bg.groups, background_categories=bg.categories,
                  window=1.0, hop=0.5)
    again = make_detection_set(sources["cries"], bg.paths, tmp_path / "a",
                               random_state=0, **kwargs)
    other = make_detection_set(sources["cries"], bg.paths, tmp_path / "b",
                               random_state=1, **kwargs)
    assert again.groups.tolist() == data.groups.tolist()
    np.testing.assert_array_equal(again.snr_db, data.snr_db)
    assert all(Path(a).read_bytes() == Path(b).read_bytes()
               for a, b in zip(again.paths, data.paths))
    assert any(Path(a).read_bytes() != Path(b).read_bytes()
               for a, b in zip(other.paths, data.paths))


def test_detection_set_bad_input_raises(sources, detection, tmp_path):
    bg = sources["background"]
    with pytest.raises(DatasetError, match="no cry clips"):
        make_detection_set([], bg.paths, tmp_path)
    with pytest.raises(DatasetError, match="no background recordings"):
        make_detection_set(sources["cries"], [], tmp_path)
    with pytest.raises(ParameterError, match="one group per path"):
        make_detection_set(sources["cries"], bg.paths, tmp_path,
                           background_groups=bg.groups[:3])
    with pytest.raises(ParameterError, match="low <= high"):
        make_detection_set(sources["cries"], bg.paths, tmp_path, snr_db=(10, 0))
    with pytest.raises(DatasetError, match="already holds audio"):
        make_detection_set(sources["cries"], bg.paths, detection[1])


# --------------------------------------------------------------------------- #
# make_night


@pytest.fixture(scope="module")
def nights(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("nights")
    night = make_night(sources["cries"][:4], [p for p in sources["background"].paths
                                              if p.endswith("white.flac")], out,
                       n_nights=2, duration=60.0, cries_per_hour=180, cry_clips=(1, 2),
                       snr_db=(20.0, 20.0), level_dbfs=(-20.0, -20.0), random_state=0)
    return night, out


def test_night_files_and_annotations(nights):
    night, out = nights
    assert night.paths == [str(out / "night_0.flac"), str(out / "night_1.flac")]
    for path in night.paths:
        info = sf.info(path)
        assert (info.format, info.subtype, info.channels, info.samplerate, info.frames) \
            == ("FLAC", "PCM_16", 1, SR, 60 * SR)
    with open(night.annotations_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "onset", "offset", "label", "snr_db"]
    assert [(r["file"], float(r["onset"]), float(r["offset"]), r["label"])
            for r in rows] == [(a["file"], a["onset"], a["offset"], a["label"])
                               for a in night.annotations]
    assert all(len(r["onset"].split(".")[1]) == 3 for r in rows)
    for name in ("night_0.flac", "night_1.flac"):
        events = sorted((a["onset"], a["offset"]) for a in night.annotations
                        if a["file"] == name)
        assert len(events) == 3  # 180 an hour for a minute
        assert events[0][0] >= 2.0 and events[-1][1] <= 58.0
        # apart by 10 s at least, so never overlapping; each 1 or 2 3-s clips
        assert all(b[0] - a[1] >= 10.0 - 1e-3 for a, b in zip(events, events[1:]))
        assert all(round(off - on, 3) in (3.0, 6.0) for on, off in events)


def test_night_holds_the_planted_cries(sources, nights):
    night, _ = nights
    clips = [load_audio(c, sr=SR, duration=3.0, max_bandwidth=4000.0)
             for c in sources["cries"][:4]]
    for path in night.paths:
        x, _ = sf.read(path, dtype="float32")
        name = Path(path).name
        events = [a for a in night.annotations if a["file"] == name]
        quiet = np.ones(x.size, bool)
        for a in events:
            quiet[int(a["onset"] * SR) - SR:int(a["offset"] * SR) + SR] = False
        floor = np.sqrt(np.mean(x[quiet] ** 2))
        for a in events:
            span = x[int(round(a["onset"] * SR)):int(round(a["offset"] * SR))]
            # 20 dB SNR: the span is far louder than the background around it
            assert 20 * np.log10(np.sqrt(np.mean(span ** 2)) / floor) > 15
            # and each 3-s piece of it is one of the cry clips, sample for sample
            for piece in span.reshape(-1, 3 * SR):
                assert max(_corr(piece, clip) for clip in clips) > 0.98


def test_night_is_deterministic_and_checks_its_input(sources, nights, tmp_path):
    night, out = nights
    cries = sources["cries"][:4]
    white = [p for p in sources["background"].paths if p.endswith("white.flac")]
    again = make_night(cries, white, tmp_path, n_nights=2, duration=60.0,
                       cries_per_hour=180, cry_clips=(1, 2), snr_db=(20.0, 20.0),
                       level_dbfs=(-20.0, -20.0), random_state=0)
    assert again.annotations == night.annotations
    assert Path(again.paths[1]).read_bytes() == Path(night.paths[1]).read_bytes()
    with pytest.raises(DatasetError, match="no cry clips"):
        make_night([], white, tmp_path)
    with pytest.raises(DatasetError, match="no background recordings"):
        make_night(cries, [], tmp_path)
    with pytest.raises(DatasetError, match="cannot hold a cry event"):
        make_night(cries, white, tmp_path, duration=5.0, cry_clips=(1, 1))
    with pytest.raises(ParameterError, match="whole numbers"):
        make_night(cries, white, tmp_path, cry_clips=(0, 2))


# --------------------------------------------------------------------------- #
# real data


def test_real_detection_set_has_no_shortcut(tmp_path):
    """Cries from seed-cry (half 8-kHz hungry, half 16-kHz other) against the
    shared background: after make_detection_set no recording property predicts
    the label, and the only duplicates lie within one group."""
    if not (SHARED / "seed-cry" / "train").is_dir() or not (SHARED / "background").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (../shared is absent in a "
                    "fresh clone); this test needs seed-cry and background")
    from sk_cry import audit

    began = time.perf_counter()
    train = SHARED / "seed-cry" / "train"
    # 30 hungry, 6 of each other reason; the first six of each avoid the
    # duplicated uncom clips (14 = 41, 27 = 39)
    cries = sorted(train.glob("hungry*.wav"))[:30]
    for reason in ("awake", "diaper", "hug", "sleepy", "uncom"):
        cries += sorted(train.glob(f"{reason}_*.wav"))[:6]
    assert {sf.info(c).samplerate for c in cries} == {8000, 16000}
    bg = load_background(SHARED / "background")
    # hop = window: with overlapping windows the audit would list every pair of
    # neighbours as overlapping audio (within one group, so harmless to grouped CV)
    data = make_detection_set(cries, bg.paths, tmp_path, background_groups=bg.groups,
                              background_categories=bg.categories, window=2.0, hop=2.0,
                              random_state=0)
    y = data.target
    split = list(StratifiedGroupKFold(5).split(y, y, data.groups))
    report = audit(data.paths, y, data.groups, split=split, n_jobs=2)
    properties = [f for f in report.shortcuts if f.kind != "duplicate"]
    assert properties == [], str(report)
    # the only duplicates lie within one group (a looped passage of music; a cry
    # window whose cry pauses over its background's negative): a split by
    # group keeps each pair on one side, and the split given has no overlap
    for finding in report.by_kind("duplicate"):
        i, j = (data.paths.index(p) for p in finding.files)
        assert data.groups[i] == data.groups[j], str(finding)
    assert report.by_kind("group_overlap") == []
    assert np.unique(report.properties["sample_rate"]).tolist() == [SR]
    assert np.unique(report.properties["duration"]).tolist() == [2.0]
    assert np.bincount(y).min() > 100
    assert time.perf_counter() - began < 60
