"""Audio as a stream (sk_cry/io/_stream.py): a file read in blocks, resampled as
it arrives and cut into windows, never held whole; a decoder that fails part
way keeps what it decoded."""

import io
import warnings

import numpy as np
import pytest
import soundfile as sf
import soxr

from sk_cry import AudioLoadError
from sk_cry.exceptions import TruncatedAudioWarning
from sk_cry.io import Windows, cut_windows, file_blocks, load_audio, resample_blocks

SR = 16000
FLAC_FRAME = 4096  # samples per FLAC frame as libsndfile writes them at 16 kHz


def _signal(seconds, seed=0):
    """A tone with noise: no sample is zero, so lost audio cannot hide as silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + rng.uniform(0.05, 0.1, t.size)
    return x.astype(np.float32)


def _cut_flac(tmp_path, seconds, kept_seconds):
    """A FLAC of ``seconds`` of :func:`_signal`, its bytes cut where
    ``kept_seconds`` of audio end (the bytes per second are about even); returns
    the path and what the whole file decodes to."""
    buf = io.BytesIO()
    sf.write(buf, _signal(seconds), SR, format="FLAC", subtype="PCM_16")
    data = buf.getvalue()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[:int(len(data) * kept_seconds / seconds)])
    return path, sf.read(io.BytesIO(data), dtype="float32")[0]


def _blocks(path, **kwargs):
    rate, blocks = file_blocks(path, **kwargs)
    return rate, list(blocks)


def test_file_blocks_are_the_file_in_order(tmp_path):
    x = _signal(5.0)
    sf.write(tmp_path / "a.wav", np.stack([x, -x], axis=1), SR, subtype="FLOAT")
    rate, blocks = _blocks(tmp_path / "a.wav", block=SR)
    assert rate == SR and [b.size for b in blocks] == [SR] * 5
    assert all(b.dtype == np.float32 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), np.zeros_like(x))  # x + -x
    _, (mono,) = _blocks(tmp_path / "a.wav", block=10 * SR)
    assert mono.size == x.size


def test_a_truncated_flac_keeps_the_audio_decoded_before_the_cut(tmp_path):
    # a 6-s FLAC cut at 4 s: before, the first 65,536-frame read failed and the
    # whole file was "no audio"
    path, whole = _cut_flac(tmp_path, 6.0, 4.0)
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.flac: the decoder stopped "
                      r"part way \(.+\); the audio before it is kept"):
        rate, blocks = _blocks(path)
    kept = np.concatenate(blocks)
    # every whole FLAC frame before the cut, exactly as the whole file decodes
    assert 4 * SR - 2 * FLAC_FRAME <= kept.size < 4 * SR
    np.testing.assert_array_equal(kept, whole[:kept.size])
    # the same, whatever the size of the reads
    for block in (1000, FLAC_FRAME, 1 << 14):
        with pytest.warns(TruncatedAudioWarning):
            _, again = _blocks(path, block=block)
        np.testing.assert_array_equal(np.concatenate(again), kept)
    # and the loader keeps as much
    with pytest.warns(TruncatedAudioWarning, match="decoding stopped after "
                      f"{kept.size} "):
        y = load_audio(path, duration=6.0)
    np.testing.assert_array_equal(y[:kept.size], kept)
    assert not y[kept.size:].any()


def test_windows_of_a_truncated_flac_cover_what_was_decoded(tmp_path):
    path, _ = _cut_flac(tmp_path, 6.0, 4.0)
    windows = Windows(path, sr=SR, window=2.0, hop=1.0)
    with pytest.warns(TruncatedAudioWarning):
        starts = np.concatenate([s for s, _ in windows])
    assert 3.4 <= windows.duration < 4.0 and not windows.padded
    assert starts[:2].tolist() == [0.0, 1.0]
    assert starts[-1] == pytest.approx(windows.duration - 2.0)


def test_file_blocks_refuse_what_load_audio_refuses(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioLoadError, match=r"empty\.wav: is empty \(0 bytes\)"):
        file_blocks(tmp_path / "empty.wav")
    with pytest.raises(AudioLoadError, match="is a directory"):
        file_blocks(tmp_path)
    (tmp_path / "text.wav").write_bytes(b"not audio at all, " * 20)
    with pytest.raises(AudioLoadError, match=r"text\.wav"):
        file_blocks(tmp_path / "text.wav")
    loud = np.full(SR, 5e3, np.float32)  # float samples far beyond full scale
    sf.write(tmp_path / "loud.wav", loud, SR, subtype="FLOAT")
    _, blocks = file_blocks(tmp_path / "loud.wav")
    with pytest.raises(AudioLoadError, match="out-of-range samples"):
        list(blocks)


def test_resampled_blocks_equal_the_whole_resampled(tmp_path):
    x = _signal(3.0)
    whole = soxr.resample(x, SR, 8000, quality="HQ")
    streamed = np.concatenate(list(resample_blocks(np.array_split(x, 7), SR, 8000)))
    assert abs(streamed.size - whole.size) <= 1
    n = min(streamed.size, whole.size)
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=1e-5)
    # band-limited to 1 kHz: the 440-Hz tone stays, nothing above 1 kHz does
    limited = np.concatenate(list(resample_blocks([x], SR, SR, max_bandwidth=1000)))
    spectrum = np.abs(np.fft.rfft(limited[SR // 2:-SR // 2]))
    freqs = np.fft.rfftfreq(limited[SR // 2:-SR // 2].size, 1 / SR)
    assert spectrum[freqs > 1100].max() < 1e-2 * spectrum.max()
    assert abs(freqs[np.argmax(spectrum)] - 440) < 2


def test_cut_windows_tiles_the_stream_and_ends_with_it():
    x = np.arange(int(5.5 * SR), dtype=np.float32)
    stats = {}
    batches = list(cut_windows(np.array_split(x, 9), SR, sr=SR, window=2.0, hop=1.5,
                               batch=2, stats=stats))
    assert [len(s) for s, _ in batches] == [2, 2]
    starts = np.concatenate([s for s, _ in batches])
    waves = np.concatenate([w for _, w in batches])
    # every 1.5 s while a window fits, then one more ending where the stream ends
    assert starts.tolist() == [0.0, 1.5, 3.0, 3.5]
    for start, wave in zip(starts, waves):
        first = int(start * SR)
        np.testing.assert_array_equal(wave, x[first:first + 2 * SR])
    assert stats == {"duration": 5.5, "padded": False}


def test_cut_windows_pads_a_stream_shorter_than_a_window():
    stats = {}
    ((starts, waves),) = list(cut_windows([np.ones(SR // 2, np.float32)], SR, sr=SR,
                                          window=2.0, hop=1.0, stats=stats))
    assert starts.tolist() == [0.0] and waves.shape == (1, 2 * SR)
    assert waves[0, :SR // 2].min() == 1 and not waves[0, SR // 2:].any()
    assert stats == {"duration": 0.5, "padded": True}
    with pytest.raises(ValueError, match="window and hop must be positive"):
        list(cut_windows([], SR, sr=SR, window=2.0, hop=0))


def test_windows_of_an_empty_recording_are_an_error(tmp_path):
    sf.write(tmp_path / "none.wav", np.zeros((0,), np.float32), SR, subtype="FLOAT")
    windows = Windows(tmp_path / "none.wav", sr=SR, window=2.0, hop=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AudioLoadError, match="holds no samples"):
            list(windows)


@pytest.mark.parametrize("short_by, padded", [(0, False), (159, False), (161, True)])
def test_both_windowings_call_a_stream_padded_alike(short_by, padded):
    # a full window resampled may come out a few samples short: up to 10 ms
    # (PADDING_SLACK, 160 samples at 16 kHz) is not called padding
    from sk_cry.core import PADDING_SLACK, FrameWindows, hann_window

    assert int(PADDING_SLACK * SR) == 160
    x = np.ones(2 * SR - short_by, np.float32)
    stats = {}
    list(cut_windows([x], SR, sr=SR, window=2.0, hop=1.0, stats=stats))
    frames = FrameWindows(sr=SR, window=2.0, hop=1.0, n_fft=512, hop_length=256,
                          stft_window=hann_window(512),
                          mel_basis=np.ones((4, 257), np.float32))
    list(frames.cut([x]))
    assert stats["padded"] is padded and frames.padded is padded
