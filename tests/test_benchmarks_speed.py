"""Smoke runs of the benchmarks that measure speed and size: decoding, features,
training, latency, start-up, the runtime, the service, int8 bundles."""

import re
import shutil

import numpy as np
import pytest
from _benchmarks import assert_quotient, number, numbers, smoke, tables


def test_choices_smoke():
    (table,) = tables(smoke("choices.py"))
    # decode, FFT, dB, training batch, the network on 1 and 32 clips and with XLA
    assert len(table) == 7
    for row in table:
        a, b = row["A"].split(":")[-1], row["B"].split(":")[-1]
        assert number(a) > 0 and number(b) > 0
        assert_quotient(row["B / A"], b, a)


def test_features_smoke():
    # the script checks the features against librosa's and fails otherwise
    stdout = smoke("features.py")
    reference = re.search(r"reference loop ([\d.]+ s)", stdout).group(1)
    ours = re.search(r"sk_cry ([\d.]+ s)", stdout).group(1)
    assert_quotient(re.search(r"speed-up ([\d.]+)x", stdout).group(1), reference, ours)
    total, loading, features = (float(x) for x in re.search(
        r"\(([\d.]+) ms/clip: loading ([\d.]+), features ([\d.]+)\)", stdout).groups())
    assert loading + features == pytest.approx(total, abs=0.02)


def test_training_smoke():
    stdout = smoke("training.py", timeout=900)
    steps, networks = tables(stdout)
    assert len(steps) == 6 and len(networks) == 2
    # each step's table row is the mean of its fold scores printed while it ran
    folds = {name: numbers(scores) for name, scores in
             re.findall(r"#   (.+): balanced [\d.]+ \[([\d. ]+)\]", stdout)}
    for row in steps[1:]:
        mean, _ = numbers(row["balanced accuracy %"])
        assert mean == pytest.approx(100 * np.mean(folds[row["model"]]), abs=0.1)
        assert 1 <= number(row["epochs run (mean)"]) <= 2  # --smoke: at most 2
    reference, compact = networks
    assert_quotient(re.search(r"([\d.]+)x fewer weights", stdout).group(1),
                     reference["weights"], compact["weights"])
    assert_quotient(re.search(r"([\d.]+)x faster epochs", stdout).group(1),
                     reference["s/epoch"], compact["s/epoch"])


def test_latency_smoke():
    stdout = smoke("latency.py")
    (table,) = tables(stdout)
    reference, compact, ours = table
    for row in table:
        assert 0 < number(row["median ms"]) <= number(row["90th percentile ms"])
    ratios = re.search(r"([\d.]+)x faster than the reference path, ([\d.]+)x faster",
                       stdout)
    assert_quotient(ratios.group(1), reference["median ms"], ours["median ms"])
    assert_quotient(ratios.group(2), compact["median ms"], ours["median ms"])
    steps = re.search(r"loader ([\d.]+), features ([\d.]+), scaler ([\d.]+), "
                      r"cnn ([\d.]+); sum ([\d.]+)", stdout)
    *parts, total = (float(x) for x in steps.groups())
    assert sum(parts) == pytest.approx(total, abs=0.06)


def test_startup_smoke():
    stdout = smoke("startup.py")
    imports, jobs = tables(stdout)
    light, svm, cnn, cli = imports
    assert light["what"] == "import sk_cry" and "TensorFlow" in cnn["what"]
    # importing sk_cry pays for neither scikit-learn nor TensorFlow
    assert number(light["seconds"]) < number(svm["seconds"]) < number(cnn["seconds"])
    assert number(light["peak RSS (MB)"]) < number(cnn["peak RSS (MB)"])
    ratios = re.search(r"([\d.]+)x faster and ([\d.]+)x less memory", stdout)
    assert_quotient(ratios.group(1), cnn["seconds"], light["seconds"])
    assert_quotient(ratios.group(2), cnn["peak RSS (MB)"], light["peak RSS (MB)"])
    assert [r["job"].split(" ")[0] for r in jobs] == ["audit", "SVM"]
    for row in jobs:
        assert_quotient(row["speed-up"], row["n_jobs=1 (s)"], row["n_jobs=2 (s)"])


def test_scale_smoke():
    stdout = smoke("scale.py")
    audits, calls = tables(stdout)
    for row in audits:
        assert_quotient(row["files per second"], row["audit(n_jobs=2) of"],
                         row["seconds"])
    # the planted copies are found, and more distinct files add no pair
    small, large = (number(r["duplicate pairs found"]) for r in audits)
    assert small == large
    pairs = re.findall(r"^  (\S+ ~ \S+)$", stdout, re.M)
    assert len(pairs) == large
    for pair in ("clip_00000.wav ~ copy.wav", "clip_00001.wav ~ window_1.wav",
                 "window_1.wav ~ window_2.wav", "clip_00002.wav ~ window_2.wav"):
        assert pair in pairs
    for row in calls:
        assert_quotient(row["files per second"], row["files"], row["seconds"])
    shown = re.search(r"predict_files: ([\d.]+)x the files per second", stdout).group(1)
    assert_quotient(shown, calls[1]["files per second"], calls[0]["files per second"])


def test_runtime_smoke():
    stdout = smoke("runtime.py")
    versus, shared = tables(stdout)
    rows = {r[""]: r for r in versus}
    # the ratio column: the pipeline's figure over the runtime's (inverse for a rate)
    for what, row in rows.items():
        runtime, pipeline = row["bundle on sk_cry.runtime"], row["saved pipeline"]
        if what == "windows per second":
            assert_quotient(row["ratio"], runtime, pipeline)
        else:
            assert_quotient(row["ratio"], pipeline, runtime)
    # a 2-min recording in 6-s windows every 3 s: (120 - 6) / 3 + 1 windows
    n_windows = int(re.search(r"\((\d+) windows;", stdout).group(1))
    assert n_windows == 39
    seconds = rows["2-min recording, windows of 6 s every 3 s (s)"]
    for column in ("bundle on sk_cry.runtime", "saved pipeline"):
        assert_quotient(rows["windows per second"][column], str(n_windows),
                         seconds[column])
    speed = {r[""]: r for r in shared}["seconds"]
    assert_quotient(speed["ratio"], speed["each window a clip (`predict_windows`)"],
                     speed["frames shared (`detect`)"])


def test_serve_smoke():
    stdout = smoke("serve.py")
    latency, limits = tables(stdout)
    in_process, http = (r["median (ms)"] for r in latency)
    # a difference of medians, negative when noise (a busy machine) outweighs it
    added = re.search(r"HTTP adds (-?[\d.]+) ms to the median \(([\d.]+)x", stdout)
    assert number(added.group(1)) == pytest.approx(
        number(http) - number(in_process), abs=0.011)
    assert_quotient(added.group(2), http, in_process)
    load = re.search(r"(\d+) concurrent clients: ([\d.]+) requests/s, (\d+) errors; "
                     r"largest \|difference\| .*: ([-\d.e+]+)", stdout)
    assert int(load.group(1)) == 8 and number(load.group(2)) > 0
    assert int(load.group(3)) == 0 and float(load.group(4)) <= 1e-5
    limits = {r[next(iter(r))]: r[""] for r in limits}
    n, status = re.search(r"(\d+) x (\d+),", limits["their answers, wall time"]).groups()
    assert (n, status) == ("8", "200")
    refused = next(v for k, v in limits.items() if k.startswith("413 to an hour"))
    decoded = next(v for k, v in limits.items() if k.startswith("reference:"))
    assert number(refused) < number(decoded)


def test_shared_frames_smoke():
    stdout = smoke("shared_frames.py")
    (table,) = tables(stdout)
    rows = {r[""]: r for r in table}
    clip_column, shared_column = "each window a clip (`predict_windows`)", \
        "frames shared (`detect`)"
    assert_quotient(rows["seconds"]["ratio"], rows["seconds"][clip_column],
                     rows["seconds"][shared_column])
    # the shared frames change the probabilities by float32 round-off only, and
    # find the same events at the same times
    assert rows["events"][clip_column] == rows["events"][shared_column]
    largest = float(re.search(r"max ([-\d.e+]+)", stdout).group(1))
    assert largest < 1e-5
    starts, ends = (float(x) for x in re.search(
        r"starts differ by at most ([\d.]+) s, their ends by at most ([\d.]+) s",
        stdout).groups())
    assert starts <= 0.02 and ends <= 0.02


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs Debian's mosquitto")


def test_quantize_smoke():
    stdout = smoke("quantize.py")
    versus, agreement = tables(stdout)
    rows = {r[""]: r for r in versus}
    for what, row in rows.items():  # each ratio is float over int8
        assert_quotient(row["ratio"], row["float"], row["int8"])
    size = rows["network member (KB)"]
    assert number(size["int8"]) < 0.6 * number(size["float"])  # int8 weights
    clips = {r["clips"]: r for r in agreement}
    assert number(clips["held out"]["n"]) == 24 and number(clips["all"]["n"]) == 72
    for row in clips.values():
        assert 0 <= number(row["labels agree"]) <= 100
        assert 0 <= number(row["median abs dp"]) <= number(row["max abs dp"]) < 0.2
