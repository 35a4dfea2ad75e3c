"""Hostile input to the audio loader (issue 13): crafted files and a mutation fuzz.

Every file that is not clean audio must end in an ``AudioLoadError`` naming the
file, or in correct audio (with a ``TruncatedAudioWarning`` when it is cut short):
never another exception, a hang, or memory beyond what ``duration`` needs.
"""

import io
import os
import stat
import struct
import threading
import time
import tracemalloc
import warnings
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
import soxr

from sk_cry import AudioLoader, AudioLoadError, SkCryError
from sk_cry.exceptions import TruncatedAudioWarning
from sk_cry.io import load_audio

MiB = 2 ** 20


def _chunk(chunk_id, payload, size=None):
    """A RIFF chunk; ``size`` overrides the size field (a damaged header)."""
    size = len(payload) if size is None else size
    pad = b"\0" if len(payload) % 2 else b""
    return chunk_id + struct.pack("<I", size) + payload + pad


def _fmt(tag=1, channels=1, rate=16000, bits=16, block_align=None, byte_rate=None):
    block_align = channels * bits // 8 if block_align is None else block_align
    byte_rate = rate * block_align % 2 ** 32 if byte_rate is None else byte_rate
    return _chunk(b"fmt ", struct.pack("<HHIIHH", tag, channels, rate, byte_rate,
                                       block_align, bits))


def _riff(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _tone(n, rate=16000, channels=1):
    """``n`` frames of a 440 Hz tone as int16, shape (n, channels)."""
    t = np.arange(n) / rate
    y = np.round(0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    return np.repeat(y[:, None], channels, axis=1)


def _wav16(n=16000, rate=16000, **fmt):
    """A 16-bit WAV of ``n`` frames of tone; ``fmt`` overrides header fields."""
    samples = _tone(n, rate, fmt.get("channels", 1)).tobytes()
    return _riff(_fmt(rate=rate, **fmt), _chunk(b"data", samples))


def _encoded(x, rate, subtype, format="WAV"):
    buf = io.BytesIO()
    sf.write(buf, x, rate, subtype=subtype, format=format)
    return buf.getvalue()


def _write(path, data):
    path.write_bytes(data)
    return path


def _bounded(call, seconds=3.0, mib=100):
    """Run ``call``; assert it took under ``seconds`` and ``mib`` MiB (numpy's
    buffers included: tracemalloc sees them). Returns its result or exception."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = call()
    except Exception as exc:  # returned for the caller to check
        result = exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert peak < mib * MiB, f"peaked at {peak / MiB:.0f} MiB"
    return result


# --- what the path is ---------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path):
    """A FIFO blocked wave.open (and predict) forever: it must not be opened."""
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            AudioLoader().transform([fifo])
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # blocked in open(): a writer lets it go before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], AudioLoadError)
    assert "x.wav: is not a regular file (a FIFO)" in str(outcome[0])


def test_directory_is_named_a_directory(tmp_path):
    (tmp_path / "clips.wav").mkdir()
    with pytest.raises(AudioLoadError, match=r"clips\.wav: is a directory; pass the "
                       r"files inside it \(sk_cry\.datasets\.load_folder"):
        load_audio(tmp_path / "clips.wav")


@pytest.mark.skipif(not os.path.exists("/dev/zero")
                    or not stat.S_ISCHR(os.stat("/dev/zero").st_mode),
                    reason="no /dev/zero character device here")
def test_device_is_refused():
    # /dev/zero reads forever: opening and decoding it would never end
    error = _bounded(lambda: AudioLoader().transform(["/dev/zero"]), seconds=1, mib=10)
    assert isinstance(error, AudioLoadError)
    assert "/dev/zero: is not a regular file (a character device)" in str(error)


def test_missing_file_inside_a_file_path(tmp_path):
    _write(tmp_path / "a.wav", _wav16())
    with pytest.raises(AudioLoadError, match="x.wav: no such file"):
        load_audio(tmp_path / "a.wav" / "x.wav")  # ENOTDIR, not a crash


# --- what the header declares -------------------------------------------------

@pytest.mark.parametrize("rate", [1, 999, 384_001, 2 ** 32 - 1])
def test_sample_rate_outside_the_range_is_refused(tmp_path, rate):
    """A 187 KB file declaring 1 Hz drove the loader past 3 GB (16000x samples)."""
    path = _write(tmp_path / "rate.wav", _wav16(n=96000, rate=rate))
    assert 180_000 < path.stat().st_size < 200_000
    error = _bounded(lambda: AudioLoader().transform([path]), seconds=1, mib=10)
    assert isinstance(error, AudioLoadError)
    assert (f"rate.wav: declares a sample rate of {rate} Hz, outside the "
            "1,000-384,000 Hz sk_cry reads") in str(error)


@pytest.mark.parametrize("rate", [1000, 384_000])
def test_sample_rates_at_the_range_ends_load(tmp_path, rate):
    path = _write(tmp_path / "edge.wav", _wav16(n=rate // 10, rate=rate))
    y = load_audio(path, sr=16000, duration=0.2)
    assert y.shape == (3200,) and np.abs(y[:1500]).max() > 0.4 and not y[1700:].any()


@pytest.mark.parametrize("channels", [0, 33, 100])
def test_channel_count_outside_the_range_is_refused(tmp_path, channels):
    path = _write(tmp_path / "many.wav", _wav16(n=100, channels=channels))
    with pytest.raises(AudioLoadError, match=f"many.wav: declares {channels} channels, "
                       "outside the 1-32 sk_cry reads"):
        load_audio(path)


def test_range_applies_to_files_libsndfile_reads(tmp_path):
    """AIFF goes through soundfile: its rate and channels are checked there."""
    x = np.zeros((100, 1), np.float32)
    sf.write(tmp_path / "slow.aiff", x, 500, format="AIFF")
    with pytest.raises(AudioLoadError, match="slow.aiff: declares a sample rate of 500"):
        load_audio(tmp_path / "slow.aiff")
    sf.write(tmp_path / "wide.aiff", np.zeros((100, 40), np.float32), 16000,
             format="AIFF")
    with pytest.raises(AudioLoadError, match="wide.aiff: declares 40 channels"):
        load_audio(tmp_path / "wide.aiff")


def test_32_channels_are_averaged(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (800, 32)).astype(np.float32)
    sf.write(tmp_path / "array.wav", x, 8000, subtype="FLOAT")
    y = load_audio(tmp_path / "array.wav", sr=8000, duration=0.1)
    np.testing.assert_allclose(y, x.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("fields, match", [
    (dict(bits=3, block_align=2), "PCM samples of 3 bits, but PCM samples have 8 or 16 "
                                  "or 24 or 32 bits"),
    (dict(bits=7, block_align=2), "PCM samples of 7 bits"),
    (dict(tag=7), "mu-law samples of 16 bits, but mu-law samples have 8 bits"),
    (dict(tag=3), "IEEE float samples of 16 bits, but IEEE float samples have 32 or 64"),
    (dict(block_align=4), "frames of 4 bytes, but 1 channel.s. of 16-bit PCM take 2"),
    (dict(byte_rate=44100), "44100 bytes per second, but 16000 Hz of 2-byte frames is "
                            "32000"),
])
def test_fmt_chunk_that_contradicts_itself_is_refused(tmp_path, fields, match):
    """libsndfile returned plausible arrays for all of these."""
    path = _write(tmp_path / "odd.wav", _wav16(n=1600, **fields))
    with pytest.raises(AudioLoadError, match=f"odd.wav: header declares {match}.*"
                       "re-export the file"):
        load_audio(path)


def test_fmt_size_of_ff_bytes_is_refused(tmp_path):
    """Bytes 16-19 (the fmt chunk's size) set to FF: wave raised RuntimeError('')."""
    data = bytearray(_encoded(_tone(1600), 16000, "PCM_16"))
    data[16:20] = b"\xff" * 4
    path = _write(tmp_path / "ff.wav", bytes(data))
    with pytest.raises(AudioLoadError, match=r"ff\.wav: has a 'fmt ' chunk at byte 12 "
                       "that declares 4294967295 bytes, past the end of the file"):
        load_audio(path)


@pytest.mark.parametrize("junk_size, match", [
    (10 ** 6, r"has a 'JUNK' chunk at byte 36 that declares 1000000 bytes, past the "
              r"end of the file \(3260 bytes\)"),
    (100, r"has no chunk header at byte 144 .*a chunk size before it is wrong"),
])
def test_junk_chunk_running_past_its_end_is_refused(tmp_path, junk_size, match):
    data = _riff(_fmt(), _chunk(b"JUNK", bytes(8), size=junk_size),
                 _chunk(b"data", _tone(1600).tobytes()))
    path = _write(tmp_path / "junk.wav", data)
    with pytest.raises(AudioLoadError, match=rf"junk\.wav: {match}.*re-export"):
        load_audio(path)


@pytest.mark.parametrize("chunks, match", [
    ([_fmt()], "ends at byte 36 without a 'data' chunk"),
    ([_chunk(b"data", bytes(100)), _fmt()], "has its 'data' chunk before its 'fmt '"),
    ([_chunk(b"fmt ", bytes(8)), _chunk(b"data", bytes(100))],
     "has a 'fmt ' chunk of 8 bytes"),
    ([_fmt(), _fmt(), _chunk(b"data", bytes(100))], "has two 'fmt ' chunks"),
    ([_chunk(b"fmt ", struct.pack("<HHIIHHH", 0xFFFE, 1, 16000, 32000, 2, 16, 0)),
      _chunk(b"data", bytes(100))],
     "declares WAVE_FORMAT_EXTENSIBLE in a 'fmt ' chunk of 18"),
])
def test_damaged_chunk_layout_is_refused(tmp_path, chunks, match):
    path = _write(tmp_path / "layout.wav", _riff(*chunks))
    with pytest.raises(AudioLoadError, match=f"layout.wav: {match}"):
        load_audio(path)


def test_odd_chunk_without_its_pad_byte_still_loads(tmp_path):
    """Some writers leave out the pad byte after an odd-sized chunk."""
    x = _tone(800, 8000)[:, 0]
    info = b"LIST" + struct.pack("<I", 3) + b"abc"  # no pad byte
    data = _riff(_fmt(rate=8000), info, _chunk(b"data", x.tobytes()))
    path = _write(tmp_path / "nopad.wav", data)
    np.testing.assert_array_equal(load_audio(path, sr=8000, duration=0.1), x / 32768)


# --- truncated files ----------------------------------------------------------

@pytest.mark.parametrize("subtype, channels", [("PCM_16", 1), ("PCM_24", 2),
                                               ("FLOAT", 1)])
def test_truncated_file_warns_with_what_is_missing(tmp_path, subtype, channels):
    """Cut 0.25 s before the end of a 1-s file: the header still declares 1 s."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (16000, channels))
    data = _encoded(x.astype(np.float32), 16000, subtype)
    width = channels * {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}[subtype]
    path = _write(tmp_path / "cut.wav", data[:len(data) - 4000 * width])
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.wav: is truncated: its header "
                      r"declares 16000 samples \(1\.000 s\) but it holds 12000 "
                      r"\(0\.750 s\); the 4000 samples \(0\.250 s\) missing"):
        y = load_audio(path, duration=1.0)
    want = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)[0].mean(axis=1)
    np.testing.assert_array_equal(y[:12000], want[:12000])
    assert not y[12000:].any()
    with pytest.raises(AudioLoadError, match=r"cut\.wav: is truncated: .* re-export"):
        load_audio(path, duration=1.0, strict=True)
    with pytest.raises(AudioLoadError, match=r"cut\.wav: is truncated"):
        AudioLoader(duration=1.0, strict=True).fit_transform([path])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cut after the part loaded: not a word
        np.testing.assert_array_equal(load_audio(path, duration=0.5, strict=True),
                                      y[:8000])


def test_truncated_flac_keeps_what_decodes(tmp_path):
    """libsndfile stops a cut FLAC file with "flac decoder lost sync"."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 48000).astype(np.float32)
    data = _encoded(x, 16000, "PCM_16", format="FLAC")
    path = _write(tmp_path / "cut.flac", data[:int(len(data) * 0.7)])
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.flac: is truncated or damaged: "
                      r"its header declares 48000 samples .* decoding stopped after"):
        y = load_audio(path, duration=3.0)
    want = sf.read(io.BytesIO(data), dtype="float32")[0]
    kept = np.flatnonzero(y)[-1] + 1
    # every whole FLAC frame (4096 samples) before the cut, none after it
    assert 0.7 * 48000 - 2 * 4096 <= kept < 0.7 * 48000 and not y[kept:].any()
    np.testing.assert_array_equal(y[:kept], want[:kept])
    with pytest.raises(AudioLoadError, match=r"cut\.flac: is truncated or damaged"):
        load_audio(path, duration=3.0, strict=True)


def test_truncated_inside_the_header_is_an_error(tmp_path):
    data = _encoded(_tone(1600), 16000, "PCM_16")
    with pytest.raises(AudioLoadError, match="short.wav: ends at byte 40 without a "
                       "'data' chunk"):
        load_audio(_write(tmp_path / "short.wav", data[:40]))
    # the header promises 1600 samples and not one is there
    with pytest.raises(AudioLoadError, match=r"none.wav: is truncated: its header "
                       r"declares 1600 samples .* but it holds 0"):
        load_audio(_write(tmp_path / "none.wav", data[:44]))


def test_streamed_data_size_reads_to_the_end(tmp_path):
    """Tools that cannot seek back leave 0xFFFFFFFF as the data size: not a cut."""
    x = _tone(1600)[:, 0]
    path = _write(tmp_path / "stream.wav",
                  _riff(_fmt(), _chunk(b"data", x.tobytes(), size=2 ** 32 - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_audio(path, duration=0.2)[:1600], x / 32768)


def test_strict_is_a_validated_parameter():
    assert AudioLoader(strict=True).get_params()["strict"] is True
    with pytest.raises(ValueError, match="strict"):
        AudioLoader(strict="yes").fit()


# --- samples ------------------------------------------------------------------

@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
def test_float_sample_of_absurd_magnitude_is_refused(tmp_path, subtype):
    """A flipped exponent bit turned a sample into 8.7e34."""
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 1600)
    x[700] = 8.7e34
    sf.write(tmp_path / "flip.wav", x, 16000, subtype=subtype)
    with pytest.raises(AudioLoadError, match=r"flip\.wav: holds a sample of magnitude "
                       r"8\.7e\+34, beyond the 1000 .* divide it by 32768"):
        load_audio(tmp_path / "flip.wav")


def test_bit_flip_in_a_float_file_is_refused(tmp_path):
    x = np.full(1600, 0.5, np.float32)
    data = bytearray(_encoded(x, 16000, "FLOAT"))
    data[-400 * 4 + 3] ^= 0x40  # the top exponent bit of sample 1200: 0.5 -> 8.5e37
    with pytest.raises(AudioLoadError, match=r"bits\.wav: holds a sample of magnitude"):
        load_audio(_write(tmp_path / "bits.wav", bytes(data)))


def test_float_headroom_loads_unchanged(tmp_path):
    x = np.random.default_rng(0).uniform(-4, 4, 1600).astype(np.float32)  # +12 dB
    sf.write(tmp_path / "loud.wav", x, 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "loud.wav", duration=0.1), x)


# --- long files: read only what duration needs --------------------------------

@pytest.mark.parametrize("channels, rate", [(2, 44100), (1, 16000)])
def test_ten_minute_file_costs_what_duration_needs(tmp_path, channels, rate):
    """A 30-minute 44.1 kHz stereo file cost 3.4 s and +909 MB for one 6-s row;
    now the 6 s and a 256-sample filter margin are read (0.01 s, 3.5 MiB)."""
    path = tmp_path / "long.wav"
    block = np.random.default_rng(0).uniform(-0.5, 0.5, (rate, channels))
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as f:
        for _ in range(600):
            f.write(block)
    loader = AudioLoader()
    loader.transform([path])  # warm-up: soxr's first call sets up its tables
    row = _bounded(lambda: loader.transform([path])[0], seconds=1.0, mib=20)
    # what resampling 20 s (not just the 6 s kept) gives, to 4e-7 as measured
    head = sf.read(path, frames=20 * rate, dtype="float32", always_2d=True)[0]
    want = soxr.resample(head.mean(axis=1), rate, 16000, quality="HQ")[:96000]
    np.testing.assert_allclose(row, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("rate, sr, max_bandwidth", [
    (44100, 16000, None), (8000, 16000, None), (48000, 16000, 4000),
    (16000, 16000, 300), (22050, 8000, None),
])
def test_partial_read_matches_resampling_the_whole_file(tmp_path, rate, sr,
                                                        max_bandwidth):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 8 * rate).astype(np.float32)
    sf.write(tmp_path / "a.wav", x, rate, subtype="FLOAT")
    got = load_audio(tmp_path / "a.wav", sr=sr, duration=2.0,
                     max_bandwidth=max_bandwidth)
    # the whole 8 s resampled (and band-limited), as the loader did before issue 13
    whole = soxr.resample(x, rate, sr, quality="HQ") if rate != sr else x
    want = AudioLoader(sr=sr, duration=8.0,
                       max_bandwidth=max_bandwidth).fit_transform([whole])[0]
    np.testing.assert_allclose(got, want[:2 * sr], atol=1e-5, rtol=0)


# --- fuzz ---------------------------------------------------------------------

def _fuzz_bases():
    rng = np.random.default_rng(0)
    noise = rng.uniform(-0.5, 0.5, (4000, 2)).astype(np.float32)
    return {
        "16-bit mono": _encoded(noise[:, 0], 8000, "PCM_16"),
        "16-bit stereo": _encoded(noise, 8000, "PCM_16"),
        "24-bit": _encoded(noise[:, 0], 8000, "PCM_24"),
        "float32": _encoded(noise[:, 0], 8000, "FLOAT"),
    }


def _mutate(data, rng):
    """One seeded mutation of a valid WAV file: ``(bytes, description)``."""
    data = bytearray(data)
    kind = ["byte flips", "chunk size", "truncation", "header bytes", "junk chunk",
            "sample bit flips"][rng.integers(6)]
    if kind == "byte flips":  # mostly in the header, where they matter most
        for _ in range(rng.integers(1, 5)):
            i = rng.integers(64) if rng.random() < 0.6 else rng.integers(len(data))
            data[i] ^= 1 << rng.integers(8)
    elif kind == "chunk size":
        sizes = [4] + [i + 4 for i in range(12, 120) if data[i:i + 4] in
                       (b"fmt ", b"data", b"fact", b"PEAK")]
        at = sizes[rng.integers(len(sizes))]
        old = struct.unpack("<I", data[at:at + 4])[0]
        new = [0, 2 ** 32 - 1, 2 ** 31 - 1, int(rng.integers(2 ** 32)),
               old + int(rng.integers(-9, 10))][rng.integers(5)] % 2 ** 32
        data[at:at + 4] = struct.pack("<I", new)
    elif kind == "truncation":
        del data[rng.integers(len(data)):]
    elif kind == "header bytes":
        i, n = rng.integers(60), rng.integers(1, 8)
        data[i:i + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    elif kind == "junk chunk":
        data[12:12] = b"JUNK" + struct.pack("<I", int(rng.integers(2 ** 32))) + bytes(8)
    else:
        for _ in range(rng.integers(1, 4)):
            i = rng.integers(44, len(data))
            data[i] ^= 1 << rng.integers(8)
    return bytes(data), kind


def _fuzz(tmp_path, n_cases, seed):
    """Load ``n_cases`` mutated WAVs; only SkCryErrors may escape, each case within
    3 s and 100 MB. Returns the count of each outcome."""
    bases = _fuzz_bases()
    names = list(bases)
    rng = np.random.default_rng(seed)
    loader = AudioLoader(duration=1.0)
    path = tmp_path / "case.wav"
    loader.transform([_write(path, bases[names[0]])])  # warm-up
    outcomes = Counter()
    for case in range(n_cases):
        name = names[case % len(names)]
        data, kind = _mutate(bases[name], rng)
        _write(path, data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = _bounded(lambda: loader.transform([path]))
            except AssertionError as exc:
                raise AssertionError(f"case {case} ({name}, {kind}): {exc}") from None
        if isinstance(result, SkCryError):
            assert str(path) in str(result), f"case {case}: {result} does not name it"
            outcomes["AudioLoadError"] += 1
            continue
        if isinstance(result, BaseException):
            failed = tmp_path / f"escaped{case}.wav"
            _write(failed, data)
            raise AssertionError(f"case {case} ({name}, {kind}, saved as {failed}) "
                                 f"raised {result!r}") from result
        assert all(issubclass(w.category, TruncatedAudioWarning) for w in caught)
        # what loads is audio: finite, and within float files' accepted magnitude
        assert np.isfinite(result).all() and np.abs(result).max() < 2e3, f"case {case}"
        outcomes["truncated" if caught else "loaded"] += 1
    return outcomes


def test_fuzz_only_sk_cry_errors_escape(tmp_path):
    outcomes = _fuzz(tmp_path, 100, seed=0)
    assert sum(outcomes.values()) == 100
    # the mutations reach every outcome, so the fuzz tests something
    assert min(outcomes[k] for k in ("AudioLoadError", "truncated", "loaded")) >= 5


@pytest.mark.slow
def test_fuzz_thousand_cases(tmp_path):
    outcomes = _fuzz(tmp_path, 1000, seed=1)
    assert min(outcomes[k] for k in ("AudioLoadError", "truncated", "loaded")) >= 50
