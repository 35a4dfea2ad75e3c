"""The exported bundle on sk_cry.runtime against the full pipeline, in one run.

A default CNN pipeline (2 epochs on 100 six-second ``make_cries`` clips: the
weights do not change the costs) is saved with ``sk_cry.save`` and exported with
``sk_cry.export``. Then, each in fresh interpreters:

- bundle size against the saved pipeline's;
- import and load: ``from sk_cry import runtime; runtime.load(bundle)`` against
  ``import sk_cry; sk_cry.load(saved)`` (median seconds of ``--repeats`` runs,
  and the resident memory after it);
- one 6-s WAV file to a label, ``model.predict([path])``, median and p90 of
  ``--clips`` calls after two warm-up calls;
- a 1-hour 16 kHz recording (600 ``make_cries`` clips end to end, written block
  by block), ``predict_windows`` with 6-s windows every 3 s: seconds, windows
  per second and peak memory growth over the resident memory before the call;
- on the bundle, the same windows with their frames computed once per
  recording (``model.detect``, the cry-event path: :class:`sk_cry.core.FrameWindows`)
  against ``predict_windows``, which transforms each window as a clip.

    python benchmarks/runtime.py            # ~2 min on 2 cores
    python benchmarks/runtime.py --smoke    # a 2-minute recording, fewer calls
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import PEAK_KB, RSS_KB

_LOAD = {
    "runtime": "from sk_cry import runtime\nmodel = runtime.load({model!r})",
    "pipeline": "import sk_cry\nmodel = sk_cry.load({model!r})",
}
_WINDOWS = {
    "runtime": "model.predict_windows([{long!r}], window=6.0, hop=3.0)",
    "pipeline": "sk_cry.predict_windows(model, [{long!r}], window=6.0, hop=3.0)",
}

_PROBE = """
import json, time
start = time.perf_counter()
{load}
loaded = time.perf_counter() - start
rss_loaded = {rss} / 1024
times = []
for _ in range({clips} + 2):
    t = time.perf_counter()
    label = model.predict([{clip!r}])[0]
    times.append(time.perf_counter() - t)
out = {{"load_s": loaded, "rss_mb": rss_loaded, "clip_s": times[2:]}}
if {windows}:
    before = {rss}
    t = time.perf_counter()
    (rec,) = {call}
    out["long_s"] = time.perf_counter() - t
    out["n_windows"] = len(rec.windows)
    out["long_grown_mb"] = ({peak} - before) / 1024
    if hasattr(model, "detect"):
        open("/proc/self/clear_refs", "w").write("5")  # the peak starts again here
        before = {rss}
        t = time.perf_counter()
        model.detect([{long!r}], hop=3.0)
        out["detect_s"] = time.perf_counter() - t
        out["detect_grown_mb"] = ({peak} - before) / 1024
print(json.dumps(out))
"""


def _probe(kind, model, clip, long, clips, windows):
    code = _PROBE.format(load=_LOAD[kind].format(model=str(model)), rss=RSS_KB,
                         peak=PEAK_KB, long=str(long),
                         clips=clips, clip=str(clip), windows=windows,
                         call=_WINDOWS[kind].format(long=str(long)))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_long(path, minutes):
    """``minutes`` of 16-kHz cries, 6-s clips end to end, written as they are made."""
    import soundfile as sf

    from sk_cry.datasets import make_cries

    with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        for k in range(0, int(minutes * 10), 50):
            X, _ = make_cries(min(50, int(minutes * 10) - k), duration=6.0,
                              random_state=1000 + k)
            f.write(X.reshape(-1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.clips, args.minutes = 1, 10, 2.0

    import numpy as np
    import soundfile as sf

    import sk_cry
    from sk_cry.datasets import make_cries

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        X, y = make_cries(100, duration=6.0, random_state=0)
        paths = []
        for i, x in enumerate(X):
            paths.append(str(tmp / f"clip_{i:03d}.wav"))
            sf.write(paths[-1], x, 16000, subtype="PCM_16")
        pipe = sk_cry.make_cnn_pipeline(epochs=2, random_state=0).fit(paths, y)
        saved = sk_cry.save(pipe, tmp / "model.skcry")
        bundle = tmp / "model.skcry-bundle"
        sk_cry.export(pipe, bundle)
        long = tmp / "hour.wav"
        _write_long(long, args.minutes)
        runs = {kind: [] for kind in _LOAD}
        for r in range(args.repeats):  # alternate, so that drift hits both
            for kind, model in (("runtime", bundle), ("pipeline", saved)):
                runs[kind].append(_probe(kind, model, paths[0], long, args.clips,
                                         windows=r == 0))
        print(json.dumps({k: [{a: b for a, b in r.items() if a != "clip_s"} for r in v] for k, v in runs.items()}))
        sizes = {"runtime": os.path.getsize(bundle), "pipeline": os.path.getsize(saved)}

    import ai_edge_litert
    import sklearn
    import tensorflow as tf

    print(f"# runtime: {time.strftime('%Y-%m-%d')}, {platform.machine()} "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy "
          f"{np.__version__}, ai-edge-litert {ai_edge_litert.__version__}, TF "
          f"{tf.__version__}, sklearn {sklearn.__version__}\n")
    stats = {}
    for kind, rs in runs.items():
        clip = np.concatenate([r["clip_s"] for r in rs]) * 1000
        first = rs[0]
        stats[kind] = dict(
            size_kb=sizes[kind] / 1024, load_s=float(np.median([r["load_s"] for r in rs])),
            rss_mb=float(np.median([r["rss_mb"] for r in rs])),
            clip_med=float(np.median(clip)), clip_p90=float(np.percentile(clip, 90)),
            long_s=first["long_s"], wps=first["n_windows"] / first["long_s"],
            grown=first["long_grown_mb"], n_windows=first["n_windows"])
    rows = [("file size (KB)", "size_kb", "{:.0f}", False),
            ("import + load (s)", "load_s", "{:.2f}", False),
            ("resident memory after load (MB)", "rss_mb", "{:.0f}", False),
            ("one 6-s file to a label, median (ms)", "clip_med", "{:.2f}", False),
            ("one 6-s file to a label, p90 (ms)", "clip_p90", "{:.2f}", False),
            (f"{args.minutes:g}-min recording, windows of 6 s every 3 s (s)", "long_s",
             "{:.2f}", False),
            ("windows per second", "wps", "{:.0f}", True),
            ("memory growth on that recording (MB)", "grown", "{:.0f}", False)]
    print("| | bundle on sk_cry.runtime | saved pipeline | ratio |")
    print("|---|---|---|---|")
    for name, key, fmt, higher_better in rows:
        a, b = stats["runtime"][key], stats["pipeline"][key]
        ratio = (a / b if higher_better else b / a) if min(a, b) > 0 else float("nan")
        print(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {ratio:.1f}x |")
    print(f"\n({stats['runtime']['n_windows']} windows; ratio: how many times better "
          "the runtime is, the pipeline's figure over the runtime's, or the inverse "
          "for windows per second)")
    first = runs["runtime"][0]
    print(f"\nsame bundle, same {args.minutes:g}-min recording, 6-s windows every 3 s:\n")
    print("| | each window a clip (`predict_windows`) | frames shared (`detect`) | ratio |")
    print("|---|---|---|---|")
    print(f"| seconds | {first['long_s']:.2f} | {first['detect_s']:.2f} | "
          f"{first['long_s'] / first['detect_s']:.1f}x faster |")
    print(f"| memory growth (MB) | {first['long_grown_mb']:.0f} | "
          f"{first['detect_grown_mb']:.0f} | |")


if __name__ == "__main__":
    main()
