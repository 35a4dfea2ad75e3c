"""Smoke runs of the benchmarks that measure what models get right: evaluation
under grouped CV, model choice, cry detection and the monitor's alerts."""

import ast
import json
import re

import numpy as np
import pytest
from _benchmarks import (
    assert_scores,
    number,
    numbers,
    smoke,
    tables,
)


def test_reference_split_smoke():
    stdout = smoke("reference_split.py")
    (table,) = tables(stdout)
    # (as recorded, band-matched) x (CNN, SVM)
    assert len({(r["condition"], r["model"]) for r in table}) == len(table) == 4
    seeds = {}  # condition -> each seed's CNN accuracy, as printed while it ran
    for condition, acc in re.findall(r"#   (.+), seed \d+: CNN accuracy ([\d.]+)",
                                     stdout):
        seeds.setdefault(condition, []).append(float(acc))
    assert sorted(seeds) == sorted({r["condition"] for r in table})
    for row in table:
        for column in ("accuracy %", "balanced accuracy %", "macro F1 %"):
            mean, std = numbers(row[column])
            assert 0 <= mean <= 100 and 0 <= std <= 50
        mean, std = numbers(row["accuracy %"])
        if row["model"].startswith("SVM"):
            assert std == 0  # fitted once, deterministic: the same for every seed
        else:  # the table's CNN row is the mean and spread of the seeds above
            assert mean == pytest.approx(100 * np.mean(seeds[row["condition"]]), abs=0.1)
            assert std == pytest.approx(100 * np.std(seeds[row["condition"]]), abs=0.1)


def test_honest_eval_smoke():
    stdout = smoke("honest_eval.py", timeout=900)
    # the audit finds the planted 8-kHz class
    assert re.search(r"^\s+\[critical\] sample_rate: ", stdout, re.M)
    (table,) = tables(stdout)
    assert len({(r["setup"], r["model"]) for r in table}) == len(table) == 9
    for row in table:  # 3 setups x (dummy, SVM, CNN), 2 folds (--smoke)
        _, folds = assert_scores(row, "balanced accuracy, pooled (folds)")
        assert len(folds) == 2 and number(row["chance"]) == 0.5
    # where the sample rate gives the label away, the SVM finds it
    svm_a = [r for r in table if r["setup"].startswith("(a)") and "SVM" in r["model"]]
    assert number(svm_a[0]["balanced accuracy, pooled (folds)"].split("(")[0]) >= 0.9


def test_cnn_levers_smoke():
    # a subset of the rows: each kind of model the script builds (a branch
    # pipeline, the PCEN and delta extractors, waveform augmentation band-limited
    # again in (b), a nested search)
    rows = "dummy,svm-nested,wave-aug,mfcc-only,pcen,deltas".split(",")
    stdout = smoke("cnn_levers.py", "--setups", "cb", "--rows", ",".join(rows),
                    timeout=900)
    (table,) = tables(stdout)
    for setup in ("(b)", "(c)"):
        mine = [r for r in table if r["setup"] == setup]
        assert len({r["model"] for r in mine}) == len(mine) == len(rows)
    for row in table:
        _, folds = assert_scores(row, "balanced accuracy, pooled (folds)")
        assert len(folds) == 2
    # the nested search says what it picked on each outer fold of each setup,
    # always a candidate of its grid
    picks = [ast.literal_eval(p) for p in re.findall(r"picked (\{.*?\})", stdout)]
    assert len(picks) == 2 * 2
    assert all(p["estimator__C"] in (0.3, 1, 3, 10)
               and p["estimator__gamma"] in ("scale", 0.01, 0.03, 0.1) for p in picks)


def test_grid_smoke():
    stdout = smoke("grid.py")
    clips, fits = (int(x) for x in re.search(r"# (\d+) clips, .* = (\d+) fits",
                                             stdout).groups())
    (table,) = tables(stdout)
    computed = {r["run"]: number(r["clips whose features were computed"])
                for r in table}
    # 2 candidates x 2 folds + refit: every fit extracts every clip it sees
    # without a cache; with one, each clip's maps are computed once for the
    # folds (fold 2's training clips are fold 1's validation clips) and once
    # more for the refit on all clips
    assert computed == {"no cache": fits * clips, "memory=": 2 * clips}
    # the cache changes the work, not the result
    best = re.findall(r"clip extractions, .*, best (\{.*\})", stdout)
    assert len(best) == 2 and best[0] == best[1]


def test_auto_smoke():
    stdout = smoke("auto.py")
    (table,) = tables(stdout)
    scores = {}
    for row in table:
        name = row["candidate"].split()[0]
        headline = number(row["balanced accuracy, pooled (folds)"].split("(")[0])
        folds = numbers(row["balanced accuracy, pooled (folds)"].split("(")[1])
        low, high = (float(x) for x in row["95 % CI"].split("-"))
        assert len(folds) == 3 and low - 0.005 <= headline <= high + 0.005, row
        scores[name] = headline
    assert sorted(scores) == ["cnn", "svm"]
    (chosen,) = [r["candidate"].split()[0] for r in table if "(chosen)" in r["candidate"]]
    assert scores[chosen] == max(scores.values())
    assert f"chosen: {chosen}" in stdout


def test_detect_smoke():
    stdout = smoke("detect.py", "--folds", "2", timeout=900)
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
    clips, negatives, nights = tables(stdout)
    assert {r["detector"] for r in clips} == {"svm-2s", "cnn-2s", "nested"}
    assert all(0 <= number(v) <= 1 for r in clips for k, v in r.items()
               if k != "detector")
    assert all(0 <= number(r["called a cry"]) <= 100 for r in negatives)
    (night,) = nights
    precision, recall, f1 = (number(night[k]) for k in ("precision", "recall", "F1"))
    if precision + recall:
        assert f1 == pytest.approx(2 * precision * recall / (precision + recall),
                                   abs=0.002)


def test_train_detector_smoke(tmp_path):
    from sk_cry import runtime

    stdout = smoke("train_detector.py", "--out", str(tmp_path / "d.skcry-bundle"),
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


def test_monitor_smoke():
    stdout = smoke("monitor.py")
    assert int(re.search(r"monitor exit status (-?\d+)", stdout).group(1)) == 0
    # every event update the monitor sent arrived, once, at both sinks
    for sink in ("MQTT subscriber", "webhook"):
        sent, unique, missing, repeats = numbers(
            re.search(rf"^  {sink} +([\d ]+)$", stdout, re.M).group(1))
        assert missing == 0 and unique <= sent
    # what it held at the start it gave back at the end
    for resource in ("threads", "open files"):
        start, _, peak, end = numbers(
            re.search(rf"^  {resource} +([\d ]+)$", stdout, re.M).group(1))
        assert end <= start <= peak
