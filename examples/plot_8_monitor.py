"""
A monitor: events to a webhook, clips, and calibration to a room
================================================================

:class:`sk_cry.monitor.Monitor` listens with a detector and hands every cry
event, as a JSON document with an ID, to its sinks without waiting on them:
here a webhook receiver on this machine and a folder of clips
(:class:`~sk_cry.monitor.ClipRecorder`). A file played as fast as it can stands
in for the microphone (the same code path). Last,
:func:`~sk_cry.monitor.calibrate` finds the event rules that keep a room's false
alarms under a rate. Home Assistant over MQTT (:class:`~sk_cry.monitor.MQTTSink`)
works the same way and needs a broker: see the user guide.
"""

# %%
# A detector and a night
# ----------------------
# An SVM on 2-s windows, synthetic cries against noise, exported with its
# detection settings; a 60-s recording with cries at 12 s and 38 s.
import http.server
import json
import tempfile
import threading
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

import sk_cry
from sk_cry import runtime
from sk_cry.datasets import make_cries
from sk_cry.monitor import ClipRecorder, Monitor, WebhookSink, calibrate

tmp = Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
sr = 16000


def noise(seconds, level):
    x = np.convolve(rng.standard_normal(int(seconds * sr)), np.ones(8) / 8, "same")
    return (level * x / np.abs(x).max()).astype(np.float32)


cries, _ = make_cries(40, duration=2.0, noise=0.0, random_state=0)
X = np.concatenate([0.3 * cries + np.stack([noise(2, 0.02) for _ in range(40)]),
                    np.stack([noise(2, rng.uniform(0.01, 0.3)) for _ in range(40)])])
y = np.array(["cry"] * 40 + ["background"] * 40)
svm = sk_cry.make_svm_pipeline(duration=2.0).fit(X, y)
sk_cry.export(svm, tmp / "detector.skcry-bundle", detection={"hop": 0.5})
detector = runtime.load(tmp / "detector.skcry-bundle")

night = noise(60, 0.05)
for onset, cry in zip((12, 38), make_cries(2, duration=4.0, noise=0.0,
                                           random_state=7)[0]):
    night[onset * sr:onset * sr + cry.size] += 0.5 * cry
sf.write(tmp / "night.wav", night, sr, subtype="PCM_16")

# %%
# A webhook receiver
# ------------------
# Any HTTP endpoint that takes a POSTed JSON document: Home Assistant's
# webhook trigger, a notification service, or this little server.
received = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/api/webhook/nursery"

# %%
# Listening
# ---------
# ``run`` yields each document once the sinks have it queued; ``close`` gives
# them time to deliver what they hold.
clips = ClipRecorder(tmp / "clips", pre_roll=2, post_roll=2)
monitor = Monitor(detector, sinks=[WebhookSink(url)], clips=clips,
                  source_name="night.wav")
for document in monitor.run(runtime.played(tmp / "night.wav", speed=0)):
    print(document["type"], document["id"], document["start"], document["end"],
          document["peak"])
print("undelivered:", monitor.close())
print("the webhook received", [(d["id"], d["type"]) for d in received])
server.shutdown()

# %%
# The clips
# ---------
# Each event's audio with its pre- and post-roll, and a sidecar with the event
# document and the probability of every window the clip covers.
fig, axes = plt.subplots(1, len(clips.written), figsize=(9, 2.6), sharey=True)
for ax, wav in zip(np.atleast_1d(axes), clips.written):
    side = json.loads(wav.with_suffix(".json").read_text())
    audio, rate = sf.read(wav)
    t0 = side["clip"]["begins_at"]
    ax.plot(t0 + np.arange(audio.size) / rate, audio / np.abs(audio).max(), lw=0.3,
            color="0.7")
    starts, probs = zip(*[(s + 1.0, p) for s, p in side["windows"] if p is not None])
    ax.plot(starts, probs, ".-", label="p(cry), window centres")
    ax.axvspan(side["start"], side["end"], alpha=0.2, color="tab:orange", label="event")
    ax.set_title(wav.name, fontsize=8)
    ax.set_xlabel("seconds")
axes[0].legend(fontsize=7, loc="lower left")
fig.tight_layout()

# %%
# Calibration to a room
# ---------------------
# Ten minutes of a "room" whose hum carries faint cry-like sounds (a television
# in the next room): the detector's own rules raise false alarms there;
# :func:`~sk_cry.monitor.calibrate` tries rules from the most sensitive and
# keeps the first that raises none (a real calibration wants an hour or more).
room = noise(600, 0.05)
tv = make_cries(8, duration=3.0, noise=0.0, random_state=11)[0]
for k, onset in enumerate(range(30, 600, 75)):
    room[onset * sr:onset * sr + tv[k].size] += 0.08 * tv[k]
sf.write(tmp / "room.wav", room, sr, subtype="PCM_16")
print("events in the room, detector's rules:",
      len(detector.detect([tmp / "room.wav"])[0].events))
result = calibrate(detector, [tmp / "room.wav"], false_alarms_per_hour=0)
print("chosen:", result.rules)
print("events in the room, calibrated:",
      len(detector.detect([tmp / "room.wav"], rules=result.rules)[0].events))
print("cries still found in the night:",
      len(detector.detect([tmp / "night.wav"], rules=result.rules)[0].events))
runtime.write_settings(tmp / "room.json", detector, rules=result.rules,
                       calibration=result.to_dict())  # for --settings
