"""The one feature kernel: its window, DCT and STFT agree with scipy and librosa,
and the FFT passed in changes nothing but round-off."""

import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from sk_cry.core import (
    MelSpectrum,
    best_rfft,
    dct_matrix,
    hann_window,
    numpy_rfft,
    power_to_db,
)


@pytest.mark.parametrize("n_fft", [256, 512, 2048])
def test_window_is_scipys_periodic_hann(n_fft):
    want = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    np.testing.assert_array_equal(hann_window(n_fft), want)
    assert not hann_window(n_fft).flags.writeable


@pytest.mark.parametrize("n_mels, n_mfcc", [(128, 13), (40, 20), (40, 50)])
def test_dct_rows_are_scipys_orthonormal_dct(n_mels, n_mfcc):
    want = scipy.fft.dct(np.eye(n_mels), axis=0, type=2, norm="ortho")[:n_mfcc]
    got = dct_matrix(n_mels, n_mfcc)
    assert got.shape == want.shape  # at most n_mels rows, as scipy's slice
    np.testing.assert_allclose(got, want.astype(np.float32), atol=1e-7)


@pytest.mark.parametrize("rfft", [numpy_rfft, best_rfft()])
def test_mel_power_and_db_are_librosas(rfft):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(3 * 16000).astype(np.float32)
    basis = librosa.filters.mel(sr=16000, n_fft=2048, n_mels=64)
    spectrum = MelSpectrum(y.size, n_fft=2048, hop_length=512, window=hann_window(2048),
                           mel_basis=basis, rfft=rfft)
    got = spectrum.power(y)
    want = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=2048, hop_length=512,
                                          n_mels=64, pad_mode="constant")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    db = got.copy()
    peak = power_to_db(db, 80.0)
    np.testing.assert_allclose(db, librosa.power_to_db(want, top_db=80.0), atol=1e-3)
    assert peak == pytest.approx(db.max())
