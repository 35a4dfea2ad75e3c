import librosa
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sk_cry import (
    AudioLoadError,
    FeatureScaler,
    MelExtractor,
    MFCCExtractor,
    MFCCMelExtractor,
    ParameterError,
    TimePooling,
)
from sk_cry.datasets import make_cries
from sk_cry.features import log_mel_spectrogram, mfcc


@pytest.fixture(scope="module")
def waves():
    X, _ = make_cries(3, duration=6.0, random_state=1)
    return X


def test_mel_matches_librosa(waves):
    ours = log_mel_spectrogram(waves)
    for clip, got in zip(waves, ours):
        want = librosa.power_to_db(
            librosa.feature.melspectrogram(y=clip, sr=16000, n_fft=2048, hop_length=512,
                                           n_mels=128),
            ref=np.max,
        )
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_mfcc_matches_librosa(waves):
    ours = mfcc(waves)
    for clip, got in zip(waves, ours):
        want = librosa.feature.mfcc(y=clip, sr=16000, n_mfcc=13)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-2)


def test_reference_shapes(waves):
    mel = MelExtractor().fit(waves)
    mf = MFCCExtractor().fit(waves)
    assert mel.feature_shape_ == (128, 188) and mf.feature_shape_ == (13, 188)
    out = mf.transform(waves)
    assert out.shape == (3, 13 * 188) and out.dtype == np.float32
    # rows are band-major: the first 188 columns are coefficient 0 over time
    np.testing.assert_allclose(out[0, :188], mfcc(waves[0])[0], rtol=1e-5, atol=1e-3)
    assert mf.get_feature_names_out()[188] == "mfcc1_t0"


def test_extractor_checks_width(waves):
    ext = MelExtractor().fit(waves)
    with pytest.raises(ValueError, match="features"):
        ext.transform(waves[:, :1000])


def test_feature_scaler_pools_each_band_over_time():
    rng = np.random.default_rng(0)
    # 3 bands x 4 frames, each band with its own offset and spread
    maps = rng.normal(size=(50, 3, 4)) * [[1], [10], [100]] + [[0], [5], [-50]]
    X = maps.reshape(50, -1)
    scaler = FeatureScaler(n_bands=3).fit(X)
    np.testing.assert_allclose(scaler.mean_, maps.mean(axis=(0, 2)))
    np.testing.assert_allclose(scaler.scale_, maps.std(axis=(0, 2)))
    Z = scaler.transform(X).reshape(50, 3, 4)
    # the wrapped StandardScaler's own numbers, on (clip, frame) samples
    for dtype in (np.float64, np.float32):
        samples = maps.transpose(0, 2, 1).reshape(-1, 3).astype(dtype)
        want = scaler.scaler_.transform(samples).reshape(50, 4, 3).transpose(0, 2, 1)
        got = scaler.transform(X.astype(dtype)).reshape(50, 3, 4)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1)
    # statistics come from the training data only
    shifted = scaler.transform(X + 1000.0)
    assert shifted.mean() > 10


def test_feature_scaler_rejects_wrong_band_count():
    with pytest.raises(ParameterError, match="not a multiple of 3"):
        FeatureScaler(n_bands=3).fit(np.zeros((2, 10)))


def test_time_pooling_names_follow_the_mfcc_names(waves):
    pipe = make_pipeline(MFCCExtractor(), TimePooling(n_bands=13)).fit(waves)
    names = pipe.get_feature_names_out()
    assert list(names[:2]) == ["mfcc0_mean", "mfcc1_mean"] and names[13] == "mfcc0_std"
    out = pipe.transform(waves)
    maps = mfcc(waves)
    np.testing.assert_allclose(out[:, :13], maps.mean(axis=2), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out[:, 13:], maps.std(axis=2), rtol=1e-3, atol=1e-3)


def test_time_pooling_rejects_unknown_stat():
    with pytest.raises(ParameterError, match="stats must be"):
        TimePooling(n_bands=1, stats=("median",)).fit(np.zeros((2, 4)))


def test_one_stft_gives_both_reference_maps(waves):
    from sklearn.pipeline import FeatureUnion

    union = FeatureUnion([("mfcc", MFCCExtractor()), ("mel", MelExtractor())])
    both = MFCCMelExtractor().fit(waves)
    assert both.feature_shape_ == (141, 188)
    np.testing.assert_allclose(both.transform(waves), union.fit_transform(waves),
                               rtol=1e-5, atol=1e-4)
    names = both.get_feature_names_out()
    assert names[13 * 188] == "mel0_t0" and names[-1] == "mel127_t187"


def test_band_counts_alone_split_a_row_back_into_its_maps(waves):
    # features/_layout.py: maps flattened band-major and concatenated come apart
    # again by their band counts (the CNN's input_bands)
    from sk_cry.features import as_band_maps, band_layout, split_bands

    assert band_layout(13, 128) == (13, 128) and band_layout(40, 32) == (32, 32)
    rows = MFCCMelExtractor().fit(waves).transform(waves)
    mfccs, mels = split_bands(rows, band_layout(13, 128))
    assert mfccs.shape == (3, 13, 188) and mels.shape == (3, 128, 188)
    np.testing.assert_allclose(mfccs, mfcc(waves), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(mels, log_mel_spectrogram(waves), rtol=1e-5, atol=1e-3)
    assert np.shares_memory(as_band_maps(rows, 141), rows)  # a view, not a copy
    with pytest.raises(ParameterError, match="141 feature columns cannot hold maps "
                       "of 13 bands"):
        as_band_maps(rows[:, :141], 13)

def test_threads_change_nothing(waves):
    X = np.concatenate([waves] * 7)  # 21 clips: two chunks of work
    one = MFCCMelExtractor(n_jobs=1).fit_transform(X)
    np.testing.assert_array_equal(MFCCMelExtractor(n_jobs=2).fit_transform(X), one)


@pytest.mark.parametrize("n_fft, hop_length, n_mels", [(512, 128, 40), (2048, 512, 64)])
def test_other_settings_match_librosa(waves, n_fft, hop_length, n_mels):
    """Short clips and other filter banks, not only the reference defaults."""
    clip = waves[0, :3000]
    want = librosa.feature.melspectrogram(y=clip, sr=16000, n_fft=n_fft,
                                          hop_length=hop_length, n_mels=n_mels)
    got = log_mel_spectrogram(clip, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                              top_db=None)
    np.testing.assert_allclose(got, librosa.power_to_db(want, ref=np.max), atol=1e-3)


@pytest.mark.parametrize("Extractor", [MelExtractor, MFCCExtractor, MFCCMelExtractor])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_non_finite_sample_names_its_row(waves, Extractor, bad):
    """Caught by the map's peak, not by a pass over the samples: check it still is."""
    X = np.concatenate([waves] * 7)
    X[19, 5000] = bad  # in the second chunk of 16 clips
    ext = Extractor(n_jobs=2)
    for call in (ext.fit_transform, ext.fit(waves).transform):
        with pytest.raises(AudioLoadError, match=r"X\[19\].*NaN or infinite"):
            call(X)
    with pytest.raises(AudioLoadError, match=r"y\[1\].*NaN or infinite"):
        log_mel_spectrogram(X[18:20])
