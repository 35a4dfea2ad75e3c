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


def test_every_step_defaults_to_the_one_front_end():
    import inspect

    import sk_cry
    from sk_cry import core
    from sk_cry.datasets import make_cries
    from sk_cry.features import log_mel_spectrogram, mfcc
    from sk_cry.io import load_audio

    front_end = {"sr": core.SR, "duration": core.DURATION, "n_fft": core.N_FFT,
                 "hop_length": core.HOP_LENGTH, "n_mels": core.N_MELS,
                 "n_mfcc": core.N_MFCC}
    steps = [load_audio, sk_cry.AudioLoader, log_mel_spectrogram, mfcc,
             sk_cry.MelExtractor, sk_cry.MFCCExtractor, sk_cry.MFCCMelExtractor,
             sk_cry.make_cnn_pipeline, sk_cry.make_svm_pipeline, make_cries]
    for step in steps:
        defaults = {name: p.default for name, p in
                    inspect.signature(step).parameters.items() if name in front_end}
        assert defaults, step
        assert defaults == {name: front_end[name] for name in defaults}, step
    assert sk_cry.CryCNNClassifier().input_bands == (core.N_MFCC, core.N_MELS)
    assert sk_cry.TimePooling().n_bands == core.N_MFCC
    # a 6-s clip maps to the reference's 188 frames
    assert 1 + int(core.SR * core.DURATION) // core.HOP_LENGTH == 188
