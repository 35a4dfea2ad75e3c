"""Smoke runs of the benchmark scripts on tiny synthetic input, so they cannot rot.

Each test checks what a script measured, not how it words it: the figures it
prints are parsed and must agree with each other (a ratio with the two numbers
it divides, a mean with the scores it averages, a count with the run's size),
and the behaviour a script demonstrates (the planted shortcut found, the same
parameters picked with and without a cache, no request failing) must hold.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# a number as the scripts print them: 8,151,810 or 0.25 or 6.5e-09
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


def _smoke(script, *args, timeout=600):
    out = subprocess.run(
        [sys.executable, script, "--smoke", *args], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _tables(stdout):
    """Every markdown table in ``stdout``: a list of rows, each a dict from the
    header's cells to the row's (the rule line left out)."""
    tables, header = [], None
    for line in stdout.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].split("|")]
            if header is None:
                header, rows = cells, []
            elif not set(line) <= set("|-: "):
                rows.append(dict(zip(header, cells)))
        elif header is not None:
            tables.append(rows)
            header = None
    return tables


def _numbers(text):
    """The numbers in ``text``, in order."""
    return [float(n.replace(",", "")) for n in _NUMBER.findall(text)]


def _number(text):
    (number,) = _numbers(text)
    return number


def _half_step(text):
    """Half the last digit printed of the one number in ``text``: how far the
    number printed may be from the number measured."""
    (printed,) = _NUMBER.findall(text)
    mantissa = printed.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(printed.split("e")[1]) if "e" in printed else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def _assert_quotient(shown, top, bottom):
    """``shown`` (a printed ratio) is ``top / bottom`` (printed figures), each
    figure anywhere within its rounding."""
    r, t, b = _number(shown), _number(top), _number(bottom)
    dr, dt, db = _half_step(shown), _half_step(top), _half_step(bottom)
    low = (t - dt) / (b + db)
    high = (t + dt) / (b - db) if b > db else np.inf
    assert low - dr <= r <= high + dr, f"{shown!r} is not {top!r} / {bottom!r}"


def _assert_scores(row, score, ci="95 % CI", p="p"):
    """An evaluation's row: the headline within its interval, the p-value a
    probability, a dummy exactly at chance and never above it."""
    headline = _number(row[score].split("(")[0])
    folds = _numbers(row[score].split("(")[1])
    low, high = (float(x) for x in row[ci].split("-"))
    assert low - 0.005 <= headline <= high + 0.005, row
    assert all(0 <= s <= 1 for s in folds + [headline]) and 0 < _number(row[p]) <= 1
    if row["model"].startswith("dummy"):
        assert headline == 0.5 and _number(row[p]) == 1.0  # two classes
    return headline, folds


def test_reference_split_smoke():
    stdout = _smoke("reference_split.py")
    (table,) = _tables(stdout)
    # (as recorded, band-matched) x (CNN, SVM)
    assert len({(r["condition"], r["model"]) for r in table}) == len(table) == 4
    seeds = {}  # condition -> each seed's CNN accuracy, as printed while it ran
    for condition, acc in re.findall(r"#   (.+), seed \d+: CNN accuracy ([\d.]+)",
                                     stdout):
        seeds.setdefault(condition, []).append(float(acc))
    assert sorted(seeds) == sorted({r["condition"] for r in table})
    for row in table:
        for column in ("accuracy %", "balanced accuracy %", "macro F1 %"):
            mean, std = _numbers(row[column])
            assert 0 <= mean <= 100 and 0 <= std <= 50
        mean, std = _numbers(row["accuracy %"])
        if row["model"].startswith("SVM"):
            assert std == 0  # fitted once, deterministic: the same for every seed
        else:  # the table's CNN row is the mean and spread of the seeds above
            assert mean == pytest.approx(100 * np.mean(seeds[row["condition"]]), abs=0.1)
            assert std == pytest.approx(100 * np.std(seeds[row["condition"]]), abs=0.1)


def test_honest_eval_smoke():
    stdout = _smoke("honest_eval.py", timeout=900)
    # the audit finds the planted 8-kHz class
    assert re.search(r"^\s+\[critical\] sample_rate: ", stdout, re.M)
    (table,) = _tables(stdout)
    assert len({(r["setup"], r["model"]) for r in table}) == len(table) == 9
    for row in table:  # 3 setups x (dummy, SVM, CNN), 2 folds (--smoke)
        _, folds = _assert_scores(row, "balanced accuracy, pooled (folds)")
        assert len(folds) == 2 and _number(row["chance"]) == 0.5
    # where the sample rate gives the label away, the SVM finds it
    svm_a = [r for r in table if r["setup"].startswith("(a)") and "SVM" in r["model"]]
    assert _number(svm_a[0]["balanced accuracy, pooled (folds)"].split("(")[0]) >= 0.9


def test_cnn_levers_smoke():
    # a subset of the rows: each kind of model the script builds (a branch
    # pipeline, the PCEN and delta extractors, waveform augmentation band-limited
    # again in (b), a nested search)
    rows = "dummy,svm-nested,wave-aug,mfcc-only,pcen,deltas".split(",")
    stdout = _smoke("cnn_levers.py", "--setups", "cb", "--rows", ",".join(rows),
                    timeout=900)
    (table,) = _tables(stdout)
    for setup in ("(b)", "(c)"):
        mine = [r for r in table if r["setup"] == setup]
        assert len({r["model"] for r in mine}) == len(mine) == len(rows)
    for row in table:
        _, folds = _assert_scores(row, "balanced accuracy, pooled (folds)")
        assert len(folds) == 2
    # the nested search says what it picked on each outer fold of each setup,
    # always a candidate of its grid
    picks = [ast.literal_eval(p) for p in re.findall(r"picked (\{.*?\})", stdout)]
    assert len(picks) == 2 * 2
    assert all(p["estimator__C"] in (0.3, 1, 3, 10)
               and p["estimator__gamma"] in ("scale", 0.01, 0.03, 0.1) for p in picks)


def test_choices_smoke():
    (table,) = _tables(_smoke("choices.py"))
    # decode, FFT, dB, training batch, the network on 1 and 32 clips and with XLA
    assert len(table) == 7
    for row in table:
        a, b = row["A"].split(":")[-1], row["B"].split(":")[-1]
        assert _number(a) > 0 and _number(b) > 0
        _assert_quotient(row["B / A"], b, a)


def test_features_smoke():
    # the script checks the features against librosa's and fails otherwise
    stdout = _smoke("features.py")
    reference = re.search(r"reference loop ([\d.]+ s)", stdout).group(1)
    ours = re.search(r"sk_cry ([\d.]+ s)", stdout).group(1)
    _assert_quotient(re.search(r"speed-up ([\d.]+)x", stdout).group(1), reference, ours)
    total, loading, features = (float(x) for x in re.search(
        r"\(([\d.]+) ms/clip: loading ([\d.]+), features ([\d.]+)\)", stdout).groups())
    assert loading + features == pytest.approx(total, abs=0.02)


def test_training_smoke():
    stdout = _smoke("training.py", timeout=900)
    steps, networks = _tables(stdout)
    assert len(steps) == 6 and len(networks) == 2
    # each step's table row is the mean of its fold scores printed while it ran
    folds = {name: _numbers(scores) for name, scores in
             re.findall(r"#   (.+): balanced [\d.]+ \[([\d. ]+)\]", stdout)}
    for row in steps[1:]:
        mean, _ = _numbers(row["balanced accuracy %"])
        assert mean == pytest.approx(100 * np.mean(folds[row["model"]]), abs=0.1)
        assert 1 <= _number(row["epochs run (mean)"]) <= 2  # --smoke: at most 2
    reference, compact = networks
    _assert_quotient(re.search(r"([\d.]+)x fewer weights", stdout).group(1),
                     reference["weights"], compact["weights"])
    _assert_quotient(re.search(r"([\d.]+)x faster epochs", stdout).group(1),
                     reference["s/epoch"], compact["s/epoch"])


def test_grid_smoke():
    stdout = _smoke("grid.py")
    clips, fits = (int(x) for x in re.search(r"# (\d+) clips, .* = (\d+) fits",
                                             stdout).groups())
    (table,) = _tables(stdout)
    computed = {r["run"]: _number(r["clips whose features were computed"])
                for r in table}
    # 2 candidates x 2 folds + refit: every fit extracts every clip it sees
    # without a cache; with one, each clip's maps are computed once for the
    # folds (fold 2's training clips are fold 1's validation clips) and once
    # more for the refit on all clips
    assert computed == {"no cache": fits * clips, "memory=": 2 * clips}
    # the cache changes the work, not the result
    best = re.findall(r"clip extractions, .*, best (\{.*\})", stdout)
    assert len(best) == 2 and best[0] == best[1]


def test_latency_smoke():
    stdout = _smoke("latency.py")
    (table,) = _tables(stdout)
    reference, compact, ours = table
    for row in table:
        assert 0 < _number(row["median ms"]) <= _number(row["90th percentile ms"])
    ratios = re.search(r"([\d.]+)x faster than the reference path, ([\d.]+)x faster",
                       stdout)
    _assert_quotient(ratios.group(1), reference["median ms"], ours["median ms"])
    _assert_quotient(ratios.group(2), compact["median ms"], ours["median ms"])
    steps = re.search(r"loader ([\d.]+), features ([\d.]+), scaler ([\d.]+), "
                      r"cnn ([\d.]+); sum ([\d.]+)", stdout)
    *parts, total = (float(x) for x in steps.groups())
    assert sum(parts) == pytest.approx(total, abs=0.06)


def test_startup_smoke():
    stdout = _smoke("startup.py")
    imports, jobs = _tables(stdout)
    light, svm, cnn, cli = imports
    assert light["what"] == "import sk_cry" and "TensorFlow" in cnn["what"]
    # importing sk_cry pays for neither scikit-learn nor TensorFlow
    assert _number(light["seconds"]) < _number(svm["seconds"]) < _number(cnn["seconds"])
    assert _number(light["peak RSS (MB)"]) < _number(cnn["peak RSS (MB)"])
    ratios = re.search(r"([\d.]+)x faster and ([\d.]+)x less memory", stdout)
    _assert_quotient(ratios.group(1), cnn["seconds"], light["seconds"])
    _assert_quotient(ratios.group(2), cnn["peak RSS (MB)"], light["peak RSS (MB)"])
    assert [r["job"].split(" ")[0] for r in jobs] == ["audit", "SVM"]
    for row in jobs:
        _assert_quotient(row["speed-up"], row["n_jobs=1 (s)"], row["n_jobs=2 (s)"])


def test_scale_smoke():
    stdout = _smoke("scale.py")
    audits, calls = _tables(stdout)
    for row in audits:
        _assert_quotient(row["files per second"], row["audit(n_jobs=2) of"],
                         row["seconds"])
    # the planted copies are found, and 160 more distinct files add no pair
    small, large = (_number(r["duplicate pairs found"]) for r in audits)
    assert small == large
    pairs = re.findall(r"^  (\S+ ~ \S+)$", stdout, re.M)
    assert len(pairs) == large
    for pair in ("clip_00000.wav ~ copy.wav", "clip_00001.wav ~ window_1.wav",
                 "window_1.wav ~ window_2.wav", "clip_00002.wav ~ window_2.wav"):
        assert pair in pairs
    for row in calls:
        _assert_quotient(row["files per second"], row["files"], row["seconds"])
    shown = re.search(r"predict_files: ([\d.]+)x the files per second", stdout).group(1)
    _assert_quotient(shown, calls[1]["files per second"], calls[0]["files per second"])


def test_runtime_smoke():
    stdout = _smoke("runtime.py")
    versus, shared = _tables(stdout)
    rows = {r[""]: r for r in versus}
    # the ratio column: the pipeline's figure over the runtime's (inverse for a rate)
    for what, row in rows.items():
        runtime, pipeline = row["bundle on sk_cry.runtime"], row["saved pipeline"]
        if what == "windows per second":
            _assert_quotient(row["ratio"], runtime, pipeline)
        else:
            _assert_quotient(row["ratio"], pipeline, runtime)
    # a 2-min recording in 6-s windows every 3 s: (120 - 6) / 3 + 1 windows
    n_windows = int(re.search(r"\((\d+) windows;", stdout).group(1))
    assert n_windows == 39
    seconds = rows["2-min recording, windows of 6 s every 3 s (s)"]
    for column in ("bundle on sk_cry.runtime", "saved pipeline"):
        _assert_quotient(rows["windows per second"][column], str(n_windows),
                         seconds[column])
    speed = {r[""]: r for r in shared}["seconds"]
    _assert_quotient(speed["ratio"], speed["each window a clip (`predict_windows`)"],
                     speed["frames shared (`detect`)"])


def test_serve_smoke():
    stdout = _smoke("serve.py")
    latency, limits = _tables(stdout)
    in_process, http = (r["median (ms)"] for r in latency)
    added = re.search(r"HTTP adds ([\d.]+) ms to the median \(([\d.]+)x", stdout)
    assert _number(added.group(1)) == pytest.approx(
        _number(http) - _number(in_process), abs=0.011)
    _assert_quotient(added.group(2), http, in_process)
    load = re.search(r"(\d+) concurrent clients: ([\d.]+) requests/s, (\d+) errors; "
                     r"largest \|difference\| .*: ([-\d.e+]+)", stdout)
    assert int(load.group(1)) == 8 and _number(load.group(2)) > 0
    assert int(load.group(3)) == 0 and float(load.group(4)) <= 1e-5
    limits = {r[next(iter(r))]: r[""] for r in limits}
    n, status = re.search(r"(\d+) x (\d+),", limits["their answers, wall time"]).groups()
    assert (n, status) == ("8", "200")
    refused = next(v for k, v in limits.items() if k.startswith("413 to an hour"))
    decoded = next(v for k, v in limits.items() if k.startswith("reference:"))
    assert _number(refused) < _number(decoded)


def test_detect_smoke():
    stdout = _smoke("detect.py", "--folds", "2", timeout=900)
    # each outer fold picks the candidate of the best mean inner AUC
    outer = re.split(r"^  outer \d+ done", stdout, flags=re.M)[:-1]
    assert len(outer) == 2
    for fold in outer:
        inner = {}
        for name, auc in re.findall(r"^    inner \d (\S+): AUC ([\d.]+)$", fold, re.M):
            inner.setdefault(name, []).append(float(auc))
        picked, shown = re.search(r"picked (\S+), rules .* \(inner AUC ([\d.]+);",
                                  fold).groups()
        means = {name: np.mean(aucs) for name, aucs in inner.items()}
        assert set(inner) == {"svm-2s", "cnn-2s"} and picked == max(means, key=means.get)
        assert float(shown) == pytest.approx(means[picked], abs=0.0015)
    picks = ast.literal_eval(stdout.split("nested picks: ")[1].splitlines()[0])
    assert sum(picks.values()) == 2 and set(picks) <= {"svm-2s", "cnn-2s"}
    clips, negatives, nights = _tables(stdout)
    assert {r["detector"] for r in clips} == {"svm-2s", "cnn-2s", "nested"}
    assert all(0 <= _number(v) <= 1 for r in clips for k, v in r.items()
               if k != "detector")
    assert all(0 <= _number(r["called a cry"]) <= 100 for r in negatives)
    (night,) = nights
    precision, recall, f1 = (_number(night[k]) for k in ("precision", "recall", "F1"))
    if precision + recall:
        assert f1 == pytest.approx(2 * precision * recall / (precision + recall),
                                   abs=0.002)


def test_train_detector_smoke(tmp_path):
    from sk_cry import runtime

    stdout = _smoke("train_detector.py", "--out", str(tmp_path / "d.skcry-bundle"),
                    timeout=900)
    chosen = re.search(r"^chosen: (\S+) \(inner AUC ([\d.]+); every candidate: "
                       r"(\{.*?\})\), rules (\{.*?\})", stdout, re.M)
    name, auc = chosen.group(1), float(chosen.group(2))
    candidates = json.loads(chosen.group(3))
    # the candidate of the best inner AUC, exported with the rules it was given
    assert name == max(candidates, key=candidates.get) and auc == candidates[name]
    detector = runtime.load(tmp_path / "d.skcry-bundle")
    assert [str(c) for c in detector.classes_] == ["background", "cry"]
    window = float(name.split("-")[1].rstrip("s"))
    assert detector.duration == window and detector.detection["hop"] == window / 4
    assert detector.detection["rules"] == ast.literal_eval(chosen.group(4))


def test_shared_frames_smoke():
    stdout = _smoke("shared_frames.py")
    (table,) = _tables(stdout)
    rows = {r[""]: r for r in table}
    clip_column, shared_column = "each window a clip (`predict_windows`)", \
        "frames shared (`detect`)"
    _assert_quotient(rows["seconds"]["ratio"], rows["seconds"][clip_column],
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
def test_monitor_smoke():
    stdout = _smoke("monitor.py")
    assert int(re.search(r"monitor exit status (-?\d+)", stdout).group(1)) == 0
    # every event update the monitor sent arrived, once, at both sinks
    for sink in ("MQTT subscriber", "webhook"):
        sent, unique, missing, repeats = _numbers(
            re.search(rf"^  {sink} +([\d ]+)$", stdout, re.M).group(1))
        assert missing == 0 and unique <= sent
    # what it held at the start it gave back at the end
    for resource in ("threads", "open files"):
        start, _, peak, end = _numbers(
            re.search(rf"^  {resource} +([\d ]+)$", stdout, re.M).group(1))
        assert end <= start <= peak


def test_quantize_smoke():
    stdout = _smoke("quantize.py")
    versus, agreement = _tables(stdout)
    rows = {r[""]: r for r in versus}
    for what, row in rows.items():  # each ratio is float over int8
        _assert_quotient(row["ratio"], row["float"], row["int8"])
    size = rows["network member (KB)"]
    assert _number(size["int8"]) < 0.6 * _number(size["float"])  # int8 weights
    clips = {r["clips"]: r for r in agreement}
    assert _number(clips["held out"]["n"]) == 24 and _number(clips["all"]["n"]) == 72
    for row in clips.values():
        assert 0 <= _number(row["labels agree"]) <= 100
        assert 0 <= _number(row["median abs dp"]) <= _number(row["max abs dp"]) < 0.2


def test_auto_smoke():
    stdout = _smoke("auto.py")
    (table,) = _tables(stdout)
    scores = {}
    for row in table:
        name = row["candidate"].split()[0]
        headline = _number(row["balanced accuracy, pooled (folds)"].split("(")[0])
        folds = _numbers(row["balanced accuracy, pooled (folds)"].split("(")[1])
        low, high = (float(x) for x in row["95 % CI"].split("-"))
        assert len(folds) == 3 and low - 0.005 <= headline <= high + 0.005, row
        scores[name] = headline
    assert sorted(scores) == ["cnn", "svm"]
    (chosen,) = [r["candidate"].split()[0] for r in table if "(chosen)" in r["candidate"]]
    assert scores[chosen] == max(scores.values())
    assert f"chosen: {chosen}" in stdout
