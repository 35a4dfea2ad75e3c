"""
Cry detection: events in a long recording
=========================================

A monitor first asks whether a baby is crying at all. A *detector* is a
classifier of short windows, ``cry`` against ``background``; run on overlapping
windows of a recording, its probabilities become **events** (start, end, peak)
by documented rules (:class:`sk_cry.core.EventRules`: a threshold with
hysteresis, n-of-m voting, a minimum duration, a merge gap).

This example makes everything from synthetic audio: cries from
:func:`~sk_cry.datasets.make_cries` and a few kinds of background noise. It
builds a training set of windows with :func:`~sk_cry.datasets.make_detection_set`,
trains and scores a detector, writes a test "night" with cries at known times
with :func:`~sk_cry.datasets.make_night`, and finds the events with
:func:`sk_cry.detect`, with the exported bundle, and live. Last, it runs the
detector that ships with sk_cry (:func:`sk_cry.runtime.default_detector`) on
the same night.
"""

# %%
# Cries and background recordings
# -------------------------------
# Cry clips as 8-kHz WAV files (as the reference cries are), background
# recordings as 16-kHz FLAC files in one folder per category, the layout that
# :func:`~sk_cry.datasets.load_background` reads. Both data functions read
# every source at 16 kHz and cut it to 4 kHz, so neither the rate nor the band
# of a file tells its class.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

import sk_cry
from sk_cry import audit, evaluate, make_svm_pipeline, runtime
from sk_cry.core import EventRules
from sk_cry.datasets import load_background, make_cries, make_detection_set, make_night

workdir = tempfile.TemporaryDirectory()
tmp = Path(workdir.name)
rng = np.random.default_rng(0)

X, _ = make_cries(24, sr=8000, duration=3.0, random_state=0)
cries = []
for i, clip in enumerate(X):
    cries.append(tmp / "cries" / f"cry_{i:02d}.wav")
    cries[-1].parent.mkdir(exist_ok=True)
    sf.write(cries[-1], clip, 8000, subtype="PCM_16")
train_cries, night_cries = cries[:18], cries[18:]  # the night's cries are new


def background(kind, seconds=30, sr=16000):
    t = np.arange(seconds * sr) / sr
    if kind == "hiss":  # white noise
        x = rng.standard_normal(t.size)
    elif kind == "rumble":  # brown noise: traffic, a washing machine
        x = np.cumsum(rng.standard_normal(t.size))
        x -= np.convolve(x, np.ones(801) / 801, mode="same")
    elif kind == "fan":  # a hum and its harmonics, in noise
        x = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8))
        x += 0.3 * rng.standard_normal(t.size)
    else:  # "music": random notes of a few partials
        notes = rng.choice([262, 294, 330, 392, 440, 523, 587, 659], size=seconds * 4)
        f0 = np.repeat(notes, sr // 4)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        x = sum(np.sin(k * phase) / k ** 2 for k in range(1, 5))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


for kind in ("hiss", "rumble", "fan", "music"):
    for take in range(2):
        path = tmp / "background" / kind / f"{kind}_{take}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, background(kind), 16000, subtype="PCM_16")
bg = load_background(tmp / "background")
print(len(bg.paths), "background recordings:", sorted(set(bg.categories.tolist())))

# %%
# A training set of windows
# -------------------------
# Negatives are the background recordings cut into 2-s windows; positives are
# 2-s crops of the cries, each mixed into a window of one background recording
# at a random cry-to-background ratio (-5 to 20 dB), so that the detector must
# learn the cry, not the room. A positive's group is its background recording:
# grouped CV keeps a recording and the cries mixed into it on one side.
windows = make_detection_set(train_cries, bg.paths, tmp / "windows",
                             background_groups=bg.groups,
                             background_categories=bg.categories,
                             window=2.0, hop=2.0, babble=False, random_state=0)
print(np.bincount(windows.target), windows.target_names.tolist())
print(audit(windows.paths, windows.target, windows.groups))

# %%
# Train and score the detector
# ----------------------------
# Grouped cross-validation scores the detector on background recordings it has
# not heard.
detector = make_svm_pipeline(duration=2.0)
result = evaluate(detector, windows.paths, windows.target, groups=windows.groups,
                  cv=4)
print(result)
labels = windows.target_names[windows.target]  # "background" and "cry"
detector.fit(windows.paths, labels)

# %%
# A night with cries at known times
# ---------------------------------
# Two minutes of the background recordings one after another, with cry events
# (one or two new clips back to back) at random times, and an annotation CSV.
night = make_night(night_cries, bg.paths, tmp / "nights",
                   background_groups=bg.groups, duration=120.0,
                   cries_per_hour=150, cry_clips=(1, 2), random_state=1)
for a in night.annotations:
    print(f"cry from {a['onset']:6.2f} to {a['offset']:6.2f} s, SNR {a['snr_db']:5.1f} dB")

# %%
# Events
# ------
# :func:`sk_cry.detect` cuts windows of the detector's 2 s every ``hop`` seconds
# and applies the rules: here a window votes "cry" at a probability of 0.5, two
# votes among three windows open an event, events shorter than 1 s are dropped
# and events less than 1 s apart are merged.
rules = EventRules(threshold=0.5, n=2, m=3, min_duration=1.0, merge_gap=1.0)
(found,) = sk_cry.detect(detector, night.paths, hop=0.5, rules=rules)
for e in found.events:
    print(f"event from {e.start:6.2f} to {e.end:6.2f} s, peak {e.peak:.2f}, "
          f"mean {e.mean:.2f}")

# %%
# The window probabilities behind them, against the annotations:
(windowed,) = sk_cry.predict_windows(detector, night.paths, window=2.0, hop=0.5)
fig, ax = plt.subplots(figsize=(9, 3.2))
for i, a in enumerate(night.annotations):
    ax.axvspan(a["onset"], a["offset"], color="C3", alpha=0.2,
               label="annotated cry" if i == 0 else None)
for i, e in enumerate(found.events):
    ax.plot([e.start, e.end], [1.04, 1.04], color="k", linewidth=4,
            label="detected event" if i == 0 else None)
ax.plot([w.start + 1.0 for w in windowed.windows],
        [np.nan if w.silent else w.probabilities["cry"] for w in windowed.windows],
        color="C0", linewidth=1, label="P(cry), 2-s windows")
ax.axhline(rules.threshold, color="gray", linestyle=":", linewidth=1)
ax.set_xlabel("time (s)")
ax.set_ylim(-0.02, 1.1)
ax.legend(loc="lower right", fontsize="small", ncols=3)
fig.tight_layout()

# %%
# The same events from the bundle, and live
# -----------------------------------------
# Exported with its ``detection`` settings, the detector runs on a device; its
# windows share one STFT. ``listen_events`` gives the events of live audio as
# they start and end: here the night is played as fast as it can be read
# (:func:`sk_cry.runtime.played`, a stand-in for
# :func:`~sk_cry.runtime.microphone` that runs the same code).
sk_cry.export(detector, tmp / "detector.skcry-bundle",
              detection={"hop": 0.5, "rules": rules.to_dict()})
bundle = runtime.load(tmp / "detector.skcry-bundle")
(from_bundle,) = bundle.detect(night.paths)
print([(round(e.start, 2), round(e.end, 2)) for e in from_bundle.events])
for kind, event in bundle.listen_events(runtime.played(night.paths[0], speed=0)):
    if kind == "start":
        print(f"start of an event at {event.start:6.2f} s")
    else:
        print(f"  end of the event:   {event.start:6.2f} to {event.end:6.2f} s")

# %%
# The default detector
# --------------------
# sk_cry ships a detector trained on real cries against real household,
# outdoor, animal, music and speech recordings. It was not trained on synthetic
# cries, so what it finds here says little about real nights; its measured
# event scores and limits (by cry-to-background ratio and background category)
# are in ``benchmarks/RESULTS.md``.
default = runtime.default_detector()
print(default, default.detection)
(by_default,) = default.detect(night.paths)
for e in by_default.events:
    print(f"event from {e.start:6.2f} to {e.end:6.2f} s, peak {e.peak:.2f}")

# %%
# Against the annotations: a cry is found when an event overlaps it, and an
# event that overlaps no cry is a false alarm.


def score(events, annotations):
    def overlaps(e, a):
        return e.start < a["offset"] and a["onset"] < e.end

    found = sum(any(overlaps(e, a) for e in events) for a in annotations)
    false = sum(not any(overlaps(e, a) for a in annotations) for e in events)
    return f"{found} of {len(annotations)} cries found, {false} false alarm(s)"


print("trained here:", score(found.events, night.annotations))
print("default:     ", score(by_default.events, night.annotations))

# %%
workdir.cleanup()
