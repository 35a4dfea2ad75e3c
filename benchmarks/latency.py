"""One clip, file to label: sk_cry's pipeline vs the reference way, median of 50 calls.

- reference: ``librosa.load``, ``librosa.feature.mfcc`` and ``melspectrogram`` (two
  STFTs), then Keras ``Model.predict`` of the reference network (51 M weights);
- the same features, but the compact network through ``Model.predict``;
- sk_cry: ``pipeline.predict([path])`` of a fitted compact pipeline (one STFT, the
  network run by a LiteRT copy of it instead of ``Model.predict``).

The networks' weights do not change the time, so they are trained for one epoch
only. Prints the median and 90th percentile per call, the ratios, and where
sk_cry's time goes: the pipeline's steps called one by one on the same clip (this
machine's speed drifts, and the network's share is what drifts most).

    python benchmarks/latency.py            # a seed-cry test clip
    python benchmarks/latency.py --smoke    # synthetic clips, 5 calls
"""

import argparse
import tempfile
import time

import librosa
import numpy as np

from _common import SEED_CRY, load_seed_cry, machine
from sk_cry import REFERENCE_TOPOLOGY, make_cnn_pipeline
from sk_cry.datasets import load_folder, make_cries, write_folder
from sk_cry.models import build_residual_cnn


def reference_predict(model, scaler, path, sr=16000, duration=6.0):
    """The reference notebook's path for one clip."""
    y, _ = librosa.load(path, sr=sr, duration=duration)
    y = librosa.util.fix_length(y, size=int(sr * duration))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr), ref=np.max)
    row = scaler.transform(np.concatenate([mfcc, mel]).reshape(1, -1))
    maps = row.reshape(1, 141, -1)
    proba = model.predict([maps[:, :13], maps[:, 13:]], verbose=0)
    return int(np.argmax(proba, axis=1)[0])


def _time(call, repeats):
    call()  # warm-up: tracing, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * np.median(times), 1000 * np.percentile(times, 90)


def _step_times(pipe, clip, repeats):
    """Median ms of each step of ``pipe.predict([clip])``, the steps called one by one."""
    times = {name: [] for name, _ in pipe.steps}
    for _ in range(repeats + 1):  # the first round warms up
        x = [clip]
        for name, step in pipe.steps:
            start = time.perf_counter()
            x = step.predict(x) if name == pipe.steps[-1][0] else step.transform(x)
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * np.median(t[1:]) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=lambda p: __import__("pathlib").Path(p),
                        default=SEED_CRY)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print(f"# latency: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            X, y = make_cries(12, duration=6.0, random_state=0)
            data = load_folder(write_folder(X, y, f"{tmp}/clips", sr=16000))
            train_paths, train_y, clip = data.paths, data.target, data.paths[0]
            args.repeats = 5
        else:
            train, test = load_seed_cry(args.data)
            train_paths, train_y, clip = train.paths[::8], train.target[::8], test.paths[0]
        pipe = make_cnn_pipeline(epochs=1, early_stopping=False, random_state=0)
        pipe.fit(train_paths, train_y)
        scaler, cnn = pipe.named_steps["scaler"], pipe.named_steps["cnn"]
        shapes = [(13, 188), (128, 188)]
        networks = {
            "reference network": build_residual_cnn(shapes, 2, **REFERENCE_TOPOLOGY),
            "compact network": cnn.model_,
        }
        rows = {}
        for name, model in networks.items():
            rows[f"reference path, {name}, Model.predict"] = _time(
                lambda: reference_predict(model, scaler, clip), args.repeats)
        rows["sk_cry pipeline.predict([path])"] = _time(lambda: pipe.predict([clip]),
                                                        args.repeats)
        steps = _step_times(pipe, clip, args.repeats)
    print(f"\none clip ({clip.name if hasattr(clip, 'name') else clip}), "
          f"{args.repeats} calls each")
    print("| path | median ms | 90th percentile ms |")
    print("|---|---|---|")
    for name, (median, p90) in rows.items():
        print(f"| {name} | {median:.1f} | {p90:.1f} |")
    (ref, _), (same_net, _), (ours, _) = rows.values()
    print(f"\nratios, same run: {ref / ours:.1f}x faster than the reference path, "
          f"{same_net / ours:.1f}x faster than the same network through Model.predict")
    print("where sk_cry's time goes, the steps called one by one (median ms): "
          + ", ".join(f"{name} {ms:.2f}" for name, ms in steps.items())
          + f"; sum {sum(steps.values()):.1f}")


if __name__ == "__main__":
    main()
