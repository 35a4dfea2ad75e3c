"""A night survived: an 8-hour generated night through ``sk-cry monitor``, as fast
as it can, with the MQTT broker restarted twice and the webhook failing for ten
minutes of the night.

The night is seed-cry's cries planted in the shared background recordings
(:func:`sk_cry.datasets.make_night`, 12 cries an hour at 5-20 dB SNR, hours
joined into one FLAC). ``sk-cry monitor`` (the default detector, ``--json``)
hears it with a real Mosquitto broker (Debian's; ``tests/_broker.py`` starts it)
and a real HTTP webhook receiver on loopback ports. The harness reads the
monitor's event lines as they come: when the night reaches 2 h and 5 h it stops
the broker for 3 s and starts it again; from 3 h to 3 h 10 min the webhook
answers 503.

It prints: the planted cries the detector found (a cry is found when an event
overlaps it, 2-s collar) and the events it announced; every announced event's
start and end counted at the MQTT subscriber and at the webhook (unique IDs,
missing, repeats); the monitor's resident memory, threads and open files at the
start, a tenth into the run, at their peak and at the end; and the speed in
hours of audio per minute.

    python benchmarks/monitor.py [--hours 8] [--json out.json]
    python benchmarks/monitor.py --smoke     # synthetic, a few minutes of night
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _broker import Mosquitto, Receiver, Subscriber  # noqa: E402
from _common import SEED_CRY, machine  # noqa: E402

BACKGROUND = SEED_CRY.parent / "background"
HOUR = 3600.0


def sources(args, work):
    """``(cry paths, background paths, background groups)``."""
    from sk_cry.datasets import load_background

    if not args.smoke:
        background = load_background(BACKGROUND)
        return (sorted(str(p) for p in SEED_CRY.glob("*/*.wav")), background.paths,
                background.groups)
    import soundfile as sf

    from sk_cry.datasets import make_cries

    rng = np.random.default_rng(0)
    X, _ = make_cries(10, duration=4.0, noise=0.0, random_state=0)
    cries = []
    for i, x in enumerate(X):
        cries.append(str(work / f"cry_{i}.wav"))
        sf.write(cries[-1], x, 16000)
    noise = []
    for i in range(4):
        noise.append(str(work / f"bg_{i}.flac"))
        t = np.arange(16000 * 30) / 16000
        sf.write(noise[-1], (0.05 * rng.standard_normal(t.size) + 0.05 * np.sin(
            2 * np.pi * rng.uniform(100, 900) * t)).astype(np.float32), 16000)
    return cries, noise, None


def make_long_night(args, work):
    """One FLAC of ``args.hours`` hours and its planted cries ``[(onset, offset)]``."""
    import soundfile as sf

    from sk_cry.datasets import make_night

    cries, background, groups = sources(args, work)
    n, hour = max(1, int(np.ceil(args.hours))), min(HOUR, args.hours * HOUR)
    nights = make_night(cries, background, work / "hours", background_groups=groups,
                        n_nights=n, duration=hour, cries_per_hour=12,
                        snr_db=(5.0, 20.0), random_state=args.seed)
    path = work / "night.flac"
    planted = []
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, format="FLAC",
                      subtype="PCM_16") as out:
        for k, part in enumerate(nights.paths):
            for block in sf.blocks(part, blocksize=1 << 20, dtype="float32"):
                out.write(block)
            name = Path(part).name
            planted += [(k * hour + float(a["onset"]), k * hour + float(a["offset"]))
                        for a in nights.annotations if a["file"] == name]
    return path, sorted(planted), n * hour


def proc_sample(pid):
    """``(rss MB, threads, open files)`` of a running process."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"]),
            len(os.listdir(f"/proc/{pid}/fd")))


def run(args, work, path, seconds):
    broker = Mosquitto(work / "broker")
    subscriber = Subscriber(broker.port, topics=["sk_cry/#"])
    receiver = Receiver()
    command = [sys.executable, "-m", "sk_cry", "monitor", "--file", str(path),
               "--speed", "0", "--json", "--mqtt", f"127.0.0.1:{broker.port}",
               "--webhook", receiver.url, "--webhook-timeout", "2", "--save-clips",
               str(work / "clips"), "--max-clips", "50", "--flush-timeout", "120"]
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    samples, done = [], threading.Event()

    def sample():
        while not done.is_set():
            try:
                samples.append((time.perf_counter(), *proc_sample(process.pid)))
            except (FileNotFoundError, ProcessLookupError, KeyError):
                break
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    restarts_at = [t * seconds / 8 for t in (2, 5)]
    failing_span = (3 * seconds / 8, 3 * seconds / 8 + 600 * seconds / (8 * HOUR))
    printed, listening_at, restarts, failed_wall = [], None, [], [None, None]
    during = 0  # updates announced while the webhook failed
    restarting = []
    for line in process.stdout:
        if line.startswith("monitoring"):
            listening_at = time.perf_counter()
            continue
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        printed.append(document)
        heard = document["end"] if document["type"] == "end" else document["start"]
        if restarts_at and heard >= restarts_at[0]:
            restarts.append(restarts_at.pop(0))
            thread = threading.Thread(target=broker.restart, kwargs={"pause": 3.0})
            thread.start()
            restarting.append(thread)
        if failed_wall[0] is None and heard >= failing_span[0]:
            receiver.failing, failed_wall[0] = True, time.perf_counter()
        elif receiver.failing and heard >= failing_span[1]:
            receiver.failing, failed_wall[1] = False, time.perf_counter()
        during += receiver.failing
    stderr = process.stderr.read()
    process.wait()
    wall = time.perf_counter() - began
    if receiver.failing:  # the night ended inside the failing span
        receiver.failing, failed_wall[1] = False, time.perf_counter()
    done.set()
    sampler.join()
    for thread in restarting:
        thread.join()
    expected = {(d["id"], d["type"]) for d in printed}
    base = "sk_cry/baby_monitor"
    subscriber.wait_for(lambda s: expected <= {(d["id"], d["type"])
                                               for d in s.events(base)}, 60)
    at_broker = [(d["id"], d["type"]) for d in subscriber.events(base)]
    at_hook = [(d["id"], d["type"]) for d in receiver.received]
    subscriber.close()
    broker.stop()
    receiver.shutdown()
    return dict(printed=printed, at_broker=at_broker, at_hook=at_hook, samples=samples,
                listening_at=listening_at, wall=wall, returncode=process.returncode,
                stderr=stderr, restarts=restarts, failed_wall=failed_wall,
                refused=receiver.refused, failing_span=failing_span, during=during,
                clips=len(list((work / "clips").glob("*.wav"))))


def delivery(expected, got):
    unique = set(got)
    return {"unique": len(unique & expected), "missing": len(expected - unique),
            "repeats": len(got) - len(unique)}


def report(args, planted, seconds, result):
    printed = result["printed"]
    ends = [d for d in printed if d["type"] == "end"]
    expected = {(d["id"], d["type"]) for d in printed}
    found = sum(any(e["start"] - 2 <= b and e["end"] + 2 >= a for e in ends)
                for a, b in planted)
    false = sum(not any(e["start"] - 2 <= b and e["end"] + 2 >= a for a, b in planted)
                for e in ends)
    samples = [s for s in result["samples"] if s[0] >= (result["listening_at"] or 0)]
    rss, threads, fds = ([s[i] for s in samples] for i in (1, 2, 3))
    broker, hook = delivery(expected, result["at_broker"]), delivery(expected,
                                                                     result["at_hook"])
    lost_wall = (result["failed_wall"][1] or 0) - (result["failed_wall"][0] or 0)
    figures = {
        "hours": seconds / HOUR, "wall_s": result["wall"],
        "hours_per_minute": seconds / HOUR / (result["wall"] / 60),
        "planted": len(planted), "found": found, "events": len(ends),
        "false_alarms": false, "updates": len(expected), "mqtt": broker, "webhook": hook,
        "webhook_refused_tries": result["refused"], "webhook_failing_wall_s": lost_wall,
        "webhook_updates_during_outage": result["during"],
        "broker_restarts_at_h": [r / HOUR for r in result["restarts"]],
        "rss_mb": [rss[0], rss[len(rss) // 10], max(rss), rss[-1]],
        "threads": [threads[0], threads[len(rss) // 10], max(threads), threads[-1]],
        "open_files": [fds[0], fds[len(rss) // 10], max(fds), fds[-1]],
        "clips_kept": result["clips"],
        "returncode": result["returncode"], "machine": machine(),
    }
    print(f"\n{figures['hours']:.1f} h night, {len(planted)} planted cries; monitor exit "
          f"status {result['returncode']}, {result['wall']:.0f} s: "
          f"{figures['hours_per_minute']:.1f} h of audio per minute")
    print(f"  detector: {found}/{len(planted)} planted cries found, {len(ends)} events, "
          f"{false} not on a planted cry")
    at = ", ".join(f"{h:.2f} h" for h in figures["broker_restarts_at_h"])
    print(f"  broker restarted at {at}"
          f" (3 s down each); webhook 503 for {lost_wall:.1f} s of wall time "
          f"(night {result['failing_span'][0] / HOUR:.2f}-"
          f"{result['failing_span'][1] / HOUR:.2f} h): {result['during']} updates "
          f"announced meanwhile, {result['refused']} tries refused")
    print(f"  {'':16} {'sent':>6} {'unique':>7} {'missing':>8} {'repeats':>8}")
    for name, d in (("MQTT subscriber", broker), ("webhook", hook)):
        print(f"  {name:16} {len(expected):6d} {d['unique']:7d} {d['missing']:8d} "
              f"{d['repeats']:8d}")
    print(f"  {'':16} {'start':>8} {'at 10 %':>8} {'peak':>8} {'end':>8}")
    for name, values, fmt in (("RSS MB", figures["rss_mb"], "8.1f"),
                              ("threads", figures["threads"], "8d"),
                              ("open files", figures["open_files"], "8d")):
        print(f"  {name:16} " + " ".join(f"{v:{fmt}}" for v in values))
    print(f"  clips kept: {result['clips']} (--max-clips 50)")
    if result["returncode"] != 0:
        print(result["stderr"][-2000:])
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--smoke", action="store_true",
                        help="synthetic sources and a few minutes of night")
    args = parser.parse_args(argv)
    if args.smoke:
        args.hours = 0.1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        path, planted, seconds = make_long_night(args, work)
        print(f"night: {seconds / HOUR:.1f} h, {len(planted)} cries, written in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        figures = report(args, planted, seconds, run(args, work, path, seconds))
    ok = (figures["returncode"] == 0 and figures["mqtt"]["missing"] == 0
          and figures["webhook"]["missing"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
