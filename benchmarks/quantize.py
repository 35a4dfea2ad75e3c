"""int8 bundles against float ones: size, one-clip latency, agreement.

``sk_cry.export(pipe, path, quantize="int8", representative=train_paths)``
quantizes the CNN after training (int8 weights and activations, each
activation's range read off up to 300 training clips; float32 inputs and
outputs). For each setup this script fits the default CNN pipeline on a
training part, exports it twice (float and int8, the training clips as the
representative ones) and compares the two bundles on ``sk_cry.runtime``:

- bundle size and the network member's size;
- one file to a label (``predict``), median and 90th percentile of
  ``--calls`` calls, and one decoded clip to probabilities (front end and
  network), the two bundles alternating in this process;
- label agreement and max / median |delta p| between the two, on the held-out
  clips and on all clips of the setup; balanced accuracy of each on the held-out
  clips.

Setups (seed-cry): (a) as recorded, hungry vs other, the reference split (418
training clips, 35 test clips); (c) the five non-hungry reasons of one source,
deduplicated, two thirds trained on (stratified, seeded), a third held out.

    python benchmarks/quantize.py            # seed-cry, about 6 min on 2 cores
    python benchmarks/quantize.py --smoke    # synthetic 1-s cries, under a minute
"""

import argparse
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from _common import SEED_CRY, all_seed_cry, load_split, machine, seed_cry_setups

import sk_cry


def _setups(args, tmp):
    """``[(name, train_paths, train_y, test_paths, test_y, duration)]``."""
    train, test, duration = load_split(args, tmp, 48, 24)
    y_train = train.target_names[train.target]
    y_test = test.target_names[test.target]
    setups = [("(a) as recorded, reference split", list(train.paths), y_train,
               list(test.paths), y_test, duration)]
    if args.smoke:
        return setups
    from sklearn.model_selection import train_test_split

    paths, y = all_seed_cry(args.data)
    report = sk_cry.audit(paths, y)
    _, reasons_paths, reasons, _ = seed_cry_setups(report, paths, y)["c"]
    fit_p, held_p, fit_y, held_y = train_test_split(
        reasons_paths, reasons, test_size=1 / 3, stratify=reasons, random_state=0)
    setups.append(("(c) five reasons, one source", fit_p, fit_y, held_p, held_y,
                   duration))
    return setups


def _network_kb(bundle):
    with zipfile.ZipFile(bundle) as archive:
        return archive.getinfo("network.tflite").file_size / 1e3


def _latency(models, call, calls):
    """Per model, the milliseconds of ``call(model)`` over ``calls`` calls, the
    models taking turns: ``(median, 90th percentile)``."""
    times = {name: [] for name in models}
    for model in models.values():
        call(model)  # warm
    for _ in range(calls):
        for name, model in models.items():
            start = time.perf_counter()
            call(model)
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: (np.median(t), np.percentile(t, 90)) for name, t in times.items()}


def _compare(name, setup, args, tmp):
    from sklearn.metrics import balanced_accuracy_score

    title, fit_p, fit_y, held_p, held_y, duration = setup
    pipe = sk_cry.make_cnn_pipeline(duration=duration, random_state=0,
                                    **({"epochs": 2} if args.smoke else {}))
    start = time.perf_counter()
    pipe.fit(fit_p, fit_y)
    fitted = time.perf_counter() - start
    bundles, models, seconds = {}, {}, {}
    for kind, options in [("float", {}), ("int8", {"quantize": "int8",
                                                   "representative": fit_p})]:
        bundles[kind] = Path(tmp) / f"{name}-{kind}.skcry-bundle"
        start = time.perf_counter()
        sk_cry.export(pipe, bundles[kind], **options)
        seconds[kind] = time.perf_counter() - start
        models[kind] = sk_cry.runtime.load(bundles[kind])
    print(f"\n{title}: fitted on {len(fit_p)} clips in {fitted:.0f} s; "
          f"{len(held_p)} held out")
    print("| | float | int8 | ratio |\n|---|---|---|---|")
    size = {k: os.path.getsize(b) / 1e3 for k, b in bundles.items()}
    net = {k: _network_kb(b) for k, b in bundles.items()}
    lat = _latency(models, lambda m: m.predict(held_p[:1]), args.calls)
    wave = sk_cry.io.AudioLoader(duration=duration).transform(held_p[:1])
    net_lat = _latency(models, lambda m: m.predict_proba(wave), args.calls)
    rows = [("bundle size (KB)", size), ("network member (KB)", net),
            ("export (s)", seconds),
            ("one file to a label, median (ms)", {k: v[0] for k, v in lat.items()}),
            ("one file to a label, p90 (ms)", {k: v[1] for k, v in lat.items()}),
            ("one decoded clip to probabilities, median (ms)",
             {k: v[0] for k, v in net_lat.items()})]
    for label, value in rows:
        print(f"| {label} | {value['float']:.2f} | {value['int8']:.2f} | "
              f"{value['float'] / value['int8']:.2f}x |")
    print("\n| clips | n | labels agree | max abs dp | median abs dp |"
          "\n|---|---|---|---|---|")
    for which, paths in [("held out", held_p), ("all", list(fit_p) + list(held_p))]:
        p = {k: m.predict_proba(paths) for k, m in models.items()}
        agree = np.mean(p["float"].argmax(1) == p["int8"].argmax(1))
        delta = np.abs(p["float"] - p["int8"]).max(axis=1)
        print(f"| {which} | {len(paths)} | {100 * agree:.1f} % | {delta.max():.4f} | "
              f"{np.median(delta):.4f} |")
        if which == "held out":
            ba = {k: balanced_accuracy_score(held_y, m.classes_[p[k].argmax(1)])
                  for k, m in models.items()}
    print(f"\nbalanced accuracy on the held-out clips: float {ba['float']:.3f}, "
          f"int8 {ba['int8']:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=SEED_CRY)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.calls = min(args.calls, 20)
    import ai_edge_litert

    print(machine() + f", ai-edge-litert {ai_edge_litert.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, setup in enumerate(_setups(args, tmp)):
            _compare(f"s{i}", setup, args, tmp)


if __name__ == "__main__":
    main()
