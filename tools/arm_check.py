"""The Python half of ``tools/arm_check.sh`` (read its header first): bundles
exported on x86_64, measured by the runtime on each machine, and compared.

    python tools/arm_check.py export WORK          # x86_64, needs sk-cry[train]
    python tools/arm_check.py measure WORK OUT.json  # any machine, runtime only
    python tools/arm_check.py compare X86.json ARM.json OUT.json [--tol 1e-5]

``export`` trains a CNN (``make_cnn_pipeline(epochs=2)``) and an SVM
(``make_svm_pipeline()``) on synthetic cries (``make_cries``), exports both and
writes the audio the measurement reads: 12 clips at 16, 8 and 44.1 kHz (some
stereo, some FLAC), one unreadable file, and a 40-s recording at 22.05 kHz
(resampled on reading) with three cries, noise and 8 s of digital silence.

``measure`` imports ``sk_cry.runtime`` alone and records, for both bundles,
``predict_files`` of the clips (labels, probabilities, the unreadable file's
error) and ``predict_windows`` of the recording (6-s windows every 3 s), and
``detect`` of the recording by the shipped default detector: its probability
over time, and the events of single windows above 0.5 with the CNN bundle as
the reason model.

``compare`` writes the largest absolute difference of any probability for each
model, and whether labels, silent windows, read errors and events agree, and
exits 1 when a difference exceeds ``--tol`` or anything else disagrees.
"""

import argparse
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path

SR = 16000
_CLIP_RATES = (16000, 8000, 44100)
_LONG_RATE = 22050
_PACKAGES = ("numpy", "soundfile", "soxr", "ducc0", "ai-edge-litert")
_TRAINING_STACK = ("tensorflow", "keras", "scikeras", "sklearn", "librosa", "scipy",
                   "joblib")


def export(work):
    """Train both models on synthetic cries, export them, and write the audio."""
    import numpy as np
    import soundfile as sf
    import soxr

    import sk_cry
    from sk_cry.datasets import make_cries

    work.mkdir(parents=True, exist_ok=True)
    X, y = make_cries(24, duration=6.0, random_state=3)
    train = []
    for i, x in enumerate(X):
        train.append(work / "train" / f"train_{i:02d}.wav")
        train[-1].parent.mkdir(exist_ok=True)
        sf.write(train[-1], x, SR)
    cnn = sk_cry.make_cnn_pipeline(epochs=2, random_state=0).fit(train, y)
    sk_cry.export(cnn, work / "cnn.skcry-bundle")
    svm = sk_cry.make_svm_pipeline().fit(train, y)
    sk_cry.export(svm, work / "svm.skcry-bundle")

    clips = work / "clips"
    clips.mkdir(exist_ok=True)
    X, _ = make_cries(12, duration=6.0, random_state=7)
    for i, x in enumerate(X):
        rate = _CLIP_RATES[i % len(_CLIP_RATES)]
        wave = x if rate == SR else soxr.resample(x, SR, rate)
        if i % 5 == 4:
            wave = np.stack([wave, 0.5 * wave], axis=1)
        sf.write(clips / f"clip_{i:02d}.{'flac' if i % 7 == 6 else 'wav'}", wave, rate)
    (clips / "zz_unreadable.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot audio")

    rng = np.random.default_rng(0)
    night = 0.003 * rng.standard_normal(40 * SR).astype(np.float32)
    cries, _ = make_cries(3, duration=6.0, random_state=11)
    for start, cry in zip((3, 13, 31), cries):
        night[start * SR:start * SR + len(cry)] += cry
    night[22 * SR:30 * SR] = 0.0  # a silent window: skipped, not classified
    sf.write(work / "night.wav", soxr.resample(night, SR, _LONG_RATE), _LONG_RATE)


def _versions():
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _probabilities(mapping):
    return None if mapping is None else {str(k): float(v) for k, v in mapping.items()}


def _error_type(error):
    # the message names the file by its path on that machine: keep the type
    return None if error is None else error.split(":")[0]


def measure(work, out):
    """Run the runtime over the exported bundles and audio; write ``out``."""
    from sk_cry import runtime
    from sk_cry.core import best_rfft

    seconds = {}
    start = time.perf_counter()
    clips = sorted(str(p) for p in (work / "clips").iterdir())
    night = str(work / "night.wav")
    result = {"machine": platform.machine(), "python": platform.python_version(),
              "versions": _versions(), "rfft": best_rfft().__name__, "models": {}}
    for name in ("cnn", "svm"):
        model = runtime.load(work / f"{name}.skcry-bundle")
        files = model.predict_files(clips)
        (recording,) = model.predict_windows([night], window=6.0, hop=3.0)
        result["models"][name] = {
            "classes": [str(c) for c in model.classes_],
            "files": [{"name": Path(r.path).name, "label": None if r.label is None
                       else str(r.label), "probabilities": _probabilities(r.probabilities),
                       "error": _error_type(r.error), "silent": bool(r.silent)}
                      for r in files],
            "windows": [{"start": w.start, "silent": bool(w.silent),
                         "probabilities": _probabilities(w.probabilities)}
                        for w in recording.windows],
            "recording": _probabilities(recording.probabilities)}
        seconds[name] = time.perf_counter() - start
        start = time.perf_counter()
    # The shipped rules find no event in synthetic cries (the detector learnt
    # real ones); single windows above 0.5 do, with the CNN giving the reasons.
    # A window within round-off of 0.5 could open an event on one machine only:
    # threshold_margin says how far the nearest one is.
    (found,) = runtime.default_detector().detect(
        [night], rules={"threshold": 0.5, "n": 1, "m": 1}, windows=True,
        reason=runtime.load(work / "cnn.skcry-bundle"))
    result["models"]["detector"] = found.to_dict()
    result["models"]["detector"].pop("path")
    result["threshold_margin"] = min(abs(p - 0.5) for _, p in found.windows if p is not None)
    seconds["detector"] = time.perf_counter() - start
    result["seconds"] = seconds
    result["training_stack_imported"] = sorted(
        {m.split(".")[0] for m in sys.modules} & set(_TRAINING_STACK))
    Path(out).write_text(json.dumps(result, indent=1))


def _diff(a, b, where, worst):
    """Walk two measurements side by side: floats into ``worst`` (their largest
    absolute difference), anything else must be equal. The floats are
    probabilities and times (window starts, event bounds, durations); a time
    that differs does so by a window or more, far above any tolerance."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            raise AssertionError(f"{where}: {a!r} against {b!r}")
        worst[0] = max(worst[0], abs(float(a) - float(b)))
    elif isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            raise AssertionError(f"{where}: keys {sorted(a)} against {sorted(b)}")
        for key in a:
            _diff(a[key], b[key], f"{where}.{key}", worst)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise AssertionError(f"{where}: {len(a)} items against {len(b)}")
        for i, (u, v) in enumerate(zip(a, b)):
            _diff(u, v, f"{where}[{i}]", worst)
    elif a != b:
        raise AssertionError(f"{where}: {a!r} against {b!r}")


def compare(reference, other, out, tol):
    """Largest |delta p| per model, and whether everything else agrees."""
    ref, oth = (json.loads(Path(p).read_text()) for p in (reference, other))
    report = {"machines": [ref["machine"], oth["machine"]], "tolerance": tol,
              "versions": {ref["machine"]: ref["versions"], oth["machine"]: oth["versions"]},
              "rfft": [ref["rfft"], oth["rfft"]],
              "seconds": {ref["machine"]: ref["seconds"], oth["machine"]: oth["seconds"]},
              "training_stack_imported": oth["training_stack_imported"],
              "threshold_margin": ref["threshold_margin"],
              "max_abs_diff": {}, "disagreements": []}
    for name in ref["models"]:
        worst = [0.0]
        try:
            _diff(ref["models"][name], oth["models"][name], name, worst)
        except AssertionError as exc:
            report["disagreements"].append(str(exc))
        report["max_abs_diff"][name] = worst[0]
    if oth["training_stack_imported"]:
        report["disagreements"].append(
            f"the runtime imported {oth['training_stack_imported']}")
    report["ok"] = (not report["disagreements"]
                    and max(report["max_abs_diff"].values()) <= tol)
    Path(out).write_text(json.dumps(report, indent=1))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("work", type=Path)
    p = sub.add_parser("measure")
    p.add_argument("work", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("compare")
    p.add_argument("reference", type=Path)
    p.add_argument("other", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--tol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.work)
    elif args.command == "measure":
        measure(args.work, args.out)
    else:
        report = compare(args.reference, args.other, args.out, args.tol)
        for name, diff in report["max_abs_diff"].items():
            print(f"  {name:8s} max |delta p| {diff:.1e}")
        for line in report["disagreements"]:
            print(f"  DISAGREES {line}")
        print(f"  {' vs '.join(report['machines'])}: "
              f"{'agree' if report['ok'] else 'DIFFER'} (tolerance {args.tol:g})")
        return 0 if report["ok"] else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
