"""Windows that share one STFT against windows cut as clips, with the default
detector on a generated night of real recordings.

    python benchmarks/shared_frames.py [--minutes 60]
    python benchmarks/shared_frames.py --smoke     # synthetic, 2 minutes

``BundleModel.detect`` computes a recording's frames once (``FrameWindows``)
and cuts every window from them; ``predict_windows`` transforms each window as
a clip. The two differ in a window's edge frames (the recording's neighbouring
samples against zeros) and in where a window starts (on the frame grid, within
16 ms). This script measures both sides on the same night: seconds, the
probabilities of windows that start at the same sample, and the events (the
detector's own rules, through ``sk_cry.core.find_events`` for the clips).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SEED_CRY  # noqa: E402


def night_of(args, work):
    """A generated night: the shared data's cries in its background recordings
    (or, with --smoke, synthetic cries in noise)."""
    from sk_cry.datasets import load_background, make_night

    if args.smoke:
        import soundfile as sf

        from sk_cry.datasets import make_cries

        X, _ = make_cries(6, duration=6.0, random_state=0)
        cries = []
        for i, x in enumerate(X):
            cries.append(str(work / f"cry_{i}.wav"))
            sf.write(cries[-1], x, 16000)
        noise = np.random.default_rng(0).normal(0, 0.05, 16000 * 30).astype(np.float32)
        (work / "bg").mkdir()
        sf.write(work / "bg" / "noise.flac", noise, 16000)
        bg = load_background(work / "bg")
    else:
        cries = sorted(str(p) for p in SEED_CRY.glob("*/*.wav"))
        bg = load_background(SEED_CRY.parent / "background")
    return make_night(cries, bg.paths, work / "night", background_groups=bg.groups,
                      duration=60.0 * args.minutes, cries_per_hour=20, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.minutes = 2.0
    import platform

    import ai_edge_litert

    from sk_cry import __version__, runtime
    from sk_cry.runtime import on_frame_grid
    from sk_cry.core import EventRules, find_events
    from sk_cry.io import file_blocks, resample_blocks

    work = Path(tempfile.mkdtemp(prefix="sk-cry-frames-"))
    night = night_of(args, work)
    path = night.paths[0]
    model = runtime.default_detector()
    rules = EventRules.from_dict(model.detection["rules"])
    # detect puts the windows on the frame grid; the clips are cut on it too
    hop = on_frame_grid(model.detection["hop"], frame=model._frame)
    model.detect([path])  # warm: the first call pays for the interpreter's set-up
    t = time.perf_counter()
    (shared,) = model.detect([path])
    shared_s = time.perf_counter() - t
    t = time.perf_counter()
    (clips,) = model.predict_windows([path], window=model.duration, hop=hop)
    clips_s = time.perf_counter() - t

    # window probabilities: the bundle's own scorer over shared frames (a private
    # method: the public detect returns events, not windows)
    rate, blocks = file_blocks(path)
    scored = {round(s, 4): p for s, p, _ in model._scored(
        resample_blocks(blocks, rate, model.sr, model.max_bandwidth), hop, 1, {})}
    alone = {round(w.start, 4): None if w.silent else w.probabilities["cry"]
             for w in clips.windows}
    same = [(scored[s], p) for s, p in alone.items()
            if s in scored and p is not None and scored[s] is not None]
    diffs = np.abs(np.array([a - b for a, b in same]))
    events = find_events([w.start for w in clips.windows],
                         [np.nan if w.silent else w.probabilities["cry"]
                          for w in clips.windows],
                         window=model.duration, rules=rules, duration=clips.duration)
    paired = list(zip(events, shared.events))
    print(f"# benchmarks/shared_frames.py, {time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, Python {platform.python_version()}, sk_cry "
          f"{__version__}, ai-edge-litert {ai_edge_litert.__version__}")
    print(f"default detector ({model.duration:g}-s windows every {hop:g} s, rules "
          f"{rules.to_dict()}) on a {args.minutes:g}-min night of "
          f"{len(night.annotations)} planted cries, {len(clips.windows)} windows\n")
    print("| | each window a clip (`predict_windows`) | frames shared (`detect`) | ratio |")
    print("|---|---|---|---|")
    print(f"| seconds | {clips_s:.2f} | {shared_s:.2f} | {clips_s / shared_s:.1f}x faster |")
    print(f"| events | {len(events)} | {len(shared.events)} | |")
    print(f"\nwindows starting at the same sample: {len(diffs)}; |p_shared - p_clip|: "
          f"median {np.median(diffs):.1e}, 99th percentile "
          f"{np.percentile(diffs, 99):.1e}, max {diffs.max():.1e}")
    if len(events) == len(shared.events):
        starts = max((abs(a.start - b.start) for a, b in paired), default=0.0)
        ends = max((abs(a.end - b.end) for a, b in paired), default=0.0)
        print(f"the same {len(events)} events; their starts differ by at most "
              f"{starts:.3f} s, their ends by at most {ends:.3f} s")
    else:
        print("the events differ: " + str([(round(e.start, 2), round(e.end, 2))
                                            for e in events]) + " against " +
              str([(round(e.start, 2), round(e.end, 2)) for e in shared.events]))


if __name__ == "__main__":
    main()
