"""Many files: ``predict_files`` against ``Pipeline.predict``, and ``audit`` at scale.

``--part predict``:

A default CNN pipeline (trained for 2 epochs: the weights do not change the
time) classifies six-second WAV files written to a temporary folder (500
``make_cries`` clips, copied under new names up to the count asked for). Each
measurement runs in a fresh process, which reports its peak resident memory
above its resident memory just before the call (after loading the model and
predicting 2 and then 100 clips, so that LiteRT's and ``Model.predict``'s
first-call costs are paid):

- the reference approach: ``pipeline.predict_proba(paths)`` on ``--n-predict``
  files at once (every waveform and feature map in memory together);
- ``sk_cry.predict_files(pipeline, paths)`` on ``--n-files`` files, read and
  classified ``batch_size`` at a time.

``--part audit``: ``audit(paths, y, n_jobs=2)`` of ``--n-audit`` independent
six-second ``make_cries`` clips plus four planted copies of them (an identical
copy, a Vorbis copy 6 dB quieter and 5 ms shorter, and two 6-s windows of one
12-s recording, one of them identical to a clip), and of a fifth of them with
the same copies, each in a fresh process: seconds, peak memory growth, and
which duplicates were found.

    python benchmarks/scale.py --part predict   # 2,000 and 10,000 files (~70 s)
    python benchmarks/scale.py --part audit     # 2,000 and 10,000 clips (~3 min)
    python benchmarks/scale.py --smoke          # both parts, about a hundred files
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import PEAK_KB, RSS_KB

_MEASURE = """
import json, sys, time
import sk_cry
model = sk_cry.load({model!r})
paths = open({list!r}).read().split("\\n")[:{n}]
model.predict_proba(paths[:2])  # LiteRT's first call
model.predict_proba(paths[:100])  # Model.predict's first call (above 64 clips)
before = {rss}
start = time.perf_counter()
if {files!r}:
    records = sk_cry.predict_files(model, paths, batch_size={batch})
    assert len(records) == len(paths) and all(r.error is None for r in records)
else:
    assert model.predict_proba(paths).shape[0] == len(paths)
seconds = time.perf_counter() - start
grown = ({peak} - before) / 1024
print(json.dumps({{"seconds": seconds, "grown_mb": grown}}))
"""




def _measure(model, listing, n, files, batch):
    code = _MEASURE.format(model=str(model), list=str(listing), n=n, files=files,
                           batch=batch, rss=RSS_KB, peak=PEAK_KB)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


_AUDIT = """
import json, time
from pathlib import Path
from sk_cry import audit
lines = open({list!r}).read().split("\\n")
paths, y = lines[0::2], [int(v) for v in lines[1::2]]
paths, y = paths[:{n}] + paths[-4:], y[:{n}] + y[-4:]
audit(paths[-8:], y[-8:])  # imports and first-call costs
before = {rss}
start = time.perf_counter()
report = audit(paths, y, n_jobs=2)
seconds = time.perf_counter() - start
grown = ({peak} - before) / 1024
found = sorted(" ~ ".join(Path(f).name for f in d.files) for d in report.by_kind("duplicate"))
print(json.dumps({{"seconds": seconds, "grown_mb": grown, "found": found}}))
"""


def _audit_part(args):
    import json

    import numpy as np
    import soundfile as sf

    from sk_cry.datasets import make_cries

    n_large = args.n_audit
    n_small = max(n_large // 5, 40)
    with tempfile.TemporaryDirectory() as tmp:
        paths, y = [], []
        for k in range(0, n_large, 250):  # 250 at a time: bounded memory here
            X, labels = make_cries(min(250, n_large - k), duration=6.0,
                                   random_state=k + 1)
            for i, x in enumerate(X):
                paths.append(f"{tmp}/clip_{k + i:05d}.wav")
                sf.write(paths[-1], x, 16000, subtype="PCM_16")
            y += labels.tolist()
            if k == 0:
                a, b, c = X[0], X[1], X[2]
        sf.write(f"{tmp}/copy.wav", a, 16000, subtype="PCM_16")
        sf.write(f"{tmp}/quieter_shorter.ogg", 0.5 * a[80:], 16000)
        recording = np.concatenate([b, c])
        sf.write(f"{tmp}/window_1.wav", recording[:96000], 16000, subtype="PCM_16")
        sf.write(f"{tmp}/window_2.wav", recording[48000:144000], 16000,
                 subtype="PCM_16")
        paths += [f"{tmp}/{name}" for name in ("copy.wav", "quieter_shorter.ogg",
                                               "window_1.wav", "window_2.wav")]
        y += [y[0], 1 - y[0], y[1], y[1]]
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(f"{p}\n{v}" for p, v in zip(paths, y)))
        runs = {}
        for n in (n_small, n_large):
            code = textwrap.dedent(_AUDIT.format(list=str(listing), n=n, rss=RSS_KB,
                                                 peak=PEAK_KB))
            out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True)
            runs[n] = json.loads(out.stdout.strip().splitlines()[-1])
    print("| audit(n_jobs=2) of | seconds | files per second | peak memory growth (MB) "
          "| duplicate pairs found |")
    print("|---|---|---|---|---|")
    for n, r in runs.items():
        print(f"| {n + 4} files | {r['seconds']:.1f} | {(n + 4) / r['seconds']:.0f} | "
              f"{r['grown_mb']:.0f} | {len(r['found'])} |")
    ratio = runs[n_large]["seconds"] / runs[n_small]["seconds"]
    print(f"\n{n_large / n_small:.0f}x the files took {ratio:.1f}x the time "
          f"(an all-pairs search: {(n_large / n_small) ** 2:.0f}x). Pairs found in "
          f"the {n_large + 4} files:")
    for pair in runs[n_large]["found"]:
        print(f"  {pair}")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-predict", type=int, default=2000)
    parser.add_argument("--n-files", type=int, default=10000)
    parser.add_argument("--n-audit", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--part", choices=("predict", "audit", "both"), default="both")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n_predict, args.n_files, args.n_audit, args.batch_size = 40, 100, 120, 32
    if args.part in ("audit", "both"):
        _audit_part(args)
    if args.part == "audit":
        return
    n_distinct = min(500, args.n_files)

    import soundfile as sf

    import sk_cry
    from sk_cry.datasets import make_cries

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        X, y = make_cries(n_distinct, duration=6.0, random_state=0)
        first = []
        for i, x in enumerate(X):
            first.append(tmp / f"clip_{i:05d}.wav")
            sf.write(first[-1], x, 16000, subtype="PCM_16")
        paths = list(first)
        while len(paths) < max(args.n_files, args.n_predict):
            paths.append(tmp / f"clip_{len(paths):05d}.wav")
            shutil.copyfile(first[len(paths) % n_distinct], paths[-1])
        listing = tmp / "paths.txt"
        listing.write_text("\n".join(map(str, paths)))
        n_fit = 40 if args.smoke else 100
        pipe = sk_cry.make_cnn_pipeline(epochs=2, random_state=0).fit(
            [str(p) for p in first[:n_fit]], y[:n_fit])
        model = sk_cry.save(pipe, tmp / "model.skcry")
        reference = _measure(model, listing, args.n_predict, False, args.batch_size)
        batched = _measure(model, listing, args.n_files, True, args.batch_size)

    import sklearn

    print(f"# scale: {time.strftime('%Y-%m-%d')}, {platform.machine()} "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, sklearn "
          f"{sklearn.__version__}; 6-s clips, default CNN pipeline\n")
    print("| call | files | seconds | files per second | peak memory growth (MB) |")
    print("|---|---|---|---|---|")
    for name, n, r in (("pipeline.predict_proba(paths)", args.n_predict, reference),
                       (f"predict_files(batch_size={args.batch_size})", args.n_files,
                        batched)):
        print(f"| {name} | {n} | {r['seconds']:.1f} | {n / r['seconds']:.0f} | "
              f"{r['grown_mb']:.0f} |")
    rate = (args.n_files / batched["seconds"]) / (args.n_predict / reference["seconds"])
    print(f"\npredict_files: {rate:.2f}x the files per second of predict_proba, with "
          f"{batched['grown_mb']:.0f} MB instead of {reference['grown_mb']:.0f} MB "
          f"for {args.n_files / args.n_predict:.0f}x the files")


if __name__ == "__main__":
    main()
