"""The monitor: event documents with IDs, a real Mosquitto broker (discovery,
states, availability, a restart mid-night, a password), a real HTTP receiver
that fails then recovers, clips on disk, calibration, the command line."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from _broker import Mosquitto, Receiver, Subscriber, have_mosquitto, make_certificates
from _detector import SR, night, noise, svm_detector

from sk_cry import ParameterError, runtime
from sk_cry.monitor import ClipRecorder, Monitor, WebhookSink, calibrate, redacted

needs_broker = pytest.mark.skipif(not have_mosquitto(), reason="needs Debian's mosquitto")
paho = pytest.importorskip("paho.mqtt.client")


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    path = tmp_path_factory.mktemp("detector") / "svm.skcry-bundle"
    svm_detector(path)
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("night") / "night.wav"
    return path, night(path)


class _MQTT:
    """The brokers and subscribers of one test, stopped and closed after it."""

    def __init__(self, folder):
        self.folder, self.made = folder, []

    def broker(self, **options):
        self.made.append(Mosquitto(self.folder / f"broker{len(self.made)}", **options))
        return self.made[-1]

    def subscriber(self, port, **options):
        self.made.append(Subscriber(port, **options))
        return self.made[-1]


@pytest.fixture
def mqtt(tmp_path):
    made = _MQTT(tmp_path)
    yield made
    for thing in reversed(made.made):
        (thing.close if isinstance(thing, Subscriber) else thing.stop)()


def _monitor_cli(*argv, env=None, **popen):
    return subprocess.Popen([sys.executable, "-m", "sk_cry", "monitor", *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, **popen)


def _run(*argv, env=None, timeout=120):
    process = _monitor_cli(*argv, env=env)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_each_event_is_a_start_and_an_end_with_one_id(detector, recording):
    path, onsets = recording
    model = runtime.load(detector)
    watch = Monitor(model, source_name="night.wav")
    documents = list(watch.run(runtime.played(path, speed=0)))
    assert [d["type"] for d in documents] == ["start", "end"] * len(onsets)
    ids = [d["id"] for d in documents]
    assert ids[0::2] == ids[1::2] and len(set(ids)) == len(onsets)
    (batch,) = model.detect([path])
    for (start, end), event, onset in zip(zip(documents[0::2], documents[1::2]),
                                          batch.events, onsets):
        assert start["start"] == end["start"] == pytest.approx(event.start, abs=1e-3)
        assert end["end"] == pytest.approx(event.end, abs=1e-3)
        assert abs(event.start - onset) < 2
        assert start["ended_at"] is None and end["ended_at"] > end["started_at"]
        assert end["model"] == model.sha256 and end["source"] == "night.wav"


def test_clips_hold_the_event_with_its_rolls_and_a_sidecar(detector, recording, tmp_path):
    path, onsets = recording
    clips = ClipRecorder(tmp_path / "clips", pre_roll=3, post_roll=2)
    ends = [d for d in Monitor(runtime.load(detector), clips=clips).run(
        runtime.played(path, speed=0)) if d["type"] == "end"]
    assert len(clips.written) == len(onsets)
    whole, _ = sf.read(path, dtype="float32")
    for wav, end in zip(clips.written, ends):
        side = json.loads(wav.with_suffix(".json").read_text())
        assert side["id"] == end["id"] and side["peak"] == end["peak"]
        assert side["clip"]["begins_at"] == pytest.approx(end["start"] - 3, abs=1e-3)
        audio, rate = sf.read(wav, dtype="float32")
        assert rate == SR and side["clip"]["seconds"] == pytest.approx(audio.size / SR)
        assert audio.size / SR == pytest.approx(end["end"] + 2 - (end["start"] - 3),
                                                abs=2 / SR)
        first = int(round(side["clip"]["begins_at"] * SR))  # the same samples (16-bit)
        assert np.abs(audio - whole[first:first + audio.size]).max() < 1e-4
        starts = [w[0] for w in side["windows"]]
        assert starts == sorted(starts) and starts[0] >= side["clip"]["begins_at"]
        assert max(p for _, p in side["windows"] if p is not None) == \
            pytest.approx(end["peak"], abs=1e-4)


def test_clips_are_bounded_oldest_first_and_sorted_ones_kept(detector, recording,
                                                             tmp_path):
    path, onsets = recording
    folder = tmp_path / "clips"
    (folder / "cry").mkdir(parents=True)
    (folder / "cry" / "cry-19990101-000000-kept.wav").write_bytes(b"sorted by the user")
    clips = ClipRecorder(folder, pre_roll=1, post_roll=1, max_clips=2)
    list(Monitor(runtime.load(detector), clips=clips).run(runtime.played(path, speed=0)))
    left = sorted(p.name for p in folder.glob("cry-*"))
    assert len(clips.written) == 3 and len(left) == 4  # two clips and their sidecars
    assert {p.name for p in clips.written[1:]} <= set(left)
    assert (folder / "cry" / "cry-19990101-000000-kept.wav").exists()
    small = ClipRecorder(tmp_path / "small", pre_roll=1, post_roll=1, max_mb=0.5)
    list(Monitor(runtime.load(detector), clips=small).run(runtime.played(path, speed=0)))
    kept = list((tmp_path / "small").glob("cry-*"))
    assert sum(p.stat().st_size for p in kept) <= 0.5e6 and kept
    with pytest.raises(ParameterError, match="pre_roll"):
        ClipRecorder(tmp_path, pre_roll=-1)


def test_sorted_clips_train_a_model_with_sk_cry_train(detector, recording, tmp_path):
    """The relabel-and-retrain loop: clips sorted into class folders are what
    ``sk-cry train`` takes."""
    path, _ = recording
    clips = ClipRecorder(tmp_path / "clips", pre_roll=0, post_roll=0)
    list(Monitor(runtime.load(detector), clips=clips).run(runtime.played(path, speed=0)))
    rng = np.random.default_rng(3)
    for k, wav in enumerate(clips.written * 2):  # each cry twice, as a user might keep
        (tmp_path / "sorted" / "cry").mkdir(parents=True, exist_ok=True)
        (tmp_path / "sorted" / "cry" / f"{k}-{wav.name}").write_bytes(wav.read_bytes())
        (tmp_path / "sorted" / "not_cry").mkdir(exist_ok=True)
        sf.write(tmp_path / "sorted" / "not_cry" / f"tv-{k}.wav",
                 noise(rng, 3 * SR, level=0.2), SR)
    out = subprocess.run([sys.executable, "-m", "sk_cry", "train", tmp_path / "sorted",
                          "--model", "svm", "--duration", "2", "-o", tmp_path / "m.skcry",
                          "--quiet"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m.skcry").stat().st_size > 0


def _until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _documents(n):
    return [{"id": f"s-{k // 2}", "type": ("start", "end")[k % 2]} for k in range(n)]


def test_a_webhook_that_fails_then_recovers_gets_every_document_in_order():
    receiver = Receiver(failures=3)
    sink = WebhookSink(receiver.url, timeout=2, max_backoff=0.2)
    for document in _documents(6):
        sink.send(document)
    assert sink.close(timeout=20) == 0
    assert receiver.received == _documents(6) and receiver.tries == 9
    assert sink.delivered == 6 and sink.dropped == 0
    receiver.shutdown()


def test_a_webhook_never_blocks_the_loop_and_drops_past_its_bound():
    receiver = Receiver(hang=1.0)
    sink = WebhookSink(receiver.url, timeout=0.3, max_backoff=0.1, max_queued=3)
    began = time.monotonic()
    for document in _documents(10):
        sink.send(document)
    assert time.monotonic() - began < 0.1  # a slow receiver does not hold the loop
    assert sink.dropped == 7
    receiver.hang = 0
    assert sink.close(timeout=20) == 0
    # tries that timed out on the client may still have arrived: at least once
    unique = list(dict.fromkeys((d["id"], d["type"]) for d in receiver.received))
    assert unique == [(d["id"], d["type"]) for d in _documents(3)]
    assert receiver.received[-3]["dropped"] == 7  # said with the next delivery
    receiver.shutdown()


def test_a_webhook_rejection_is_skipped_and_urls_are_redacted(caplog):
    sink = WebhookSink("http://127.0.0.1:9/x", timeout=0.2, max_backoff=0.05)
    sink.send({"id": "a", "type": "start"})
    assert sink.close(timeout=0.5) == 1  # nobody listens on port 9: not delivered
    assert "secret" not in redacted("https://u:secret@ha.local:8123/api/webhook/secret")
    assert redacted("https://ha.local:8123/api/webhook/x") == "https://ha.local:8123/..."
    with pytest.raises(ParameterError, match="http"):
        WebhookSink("file:///etc/passwd")


@needs_broker
def test_home_assistant_gets_discovery_states_and_availability(detector, recording, mqtt):
    path, onsets = recording
    broker = mqtt.broker()
    listener = mqtt.subscriber(broker.port, topics=["homeassistant/#", "sk_cry/#"])
    code, out, err = _run("--model", detector, "--file", path, "--speed", "0",
                          "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-name",
                          "Nursery", "--json")
    assert code == 0, err
    base = "sk_cry/nursery"
    assert listener.wait_for(
        lambda s: s.on(f"{base}/availability")[-1:] == ["offline"])
    (config,) = map(json.loads, listener.on(
        "homeassistant/binary_sensor/nursery/crying/config"))
    assert config["name"] == "Baby crying" and config["device_class"] == "sound"
    assert config["state_topic"] == f"{base}/crying"
    assert config["availability_topic"] == f"{base}/availability"
    assert config["device"]["name"] == "Nursery"
    assert listener.on(f"{base}/crying") == ["OFF"] + ["ON", "OFF"] * len(onsets)
    events = listener.events(base)
    printed = [json.loads(line) for line in out.splitlines()[1:-1]]
    assert events == printed and len(events) == 2 * len(onsets)
    attributes = json.loads(listener.on(f"{base}/crying/attributes")[-1])
    assert attributes["id"] == events[-1]["id"] and attributes["model"]
    assert listener.on(f"{base}/availability")[0] == "online"


@needs_broker
def test_a_broker_restart_mid_night_loses_no_event(detector, recording, mqtt):
    path, onsets = recording
    broker = mqtt.broker()
    listener = mqtt.subscriber(broker.port, topics=["sk_cry/#"])
    from sk_cry.monitor import MQTTSink

    model = runtime.load(detector)
    sink = MQTTSink("127.0.0.1", broker.port, model=model.sha256, max_backoff=1)
    assert sink.wait_connected(10)
    sent = []
    for document in Monitor(model, sinks=[sink]).run(runtime.played(path, speed=0)):
        sent.append(document)
        if len(sent) == 1:  # once the broker has the first, it goes away for
            assert _until(lambda: sink.unacknowledged() == 0)  # the next five
            broker.stop()
    time.sleep(0.5)
    broker.start()
    assert sink.close(timeout=30) == 0
    base = "sk_cry/baby_monitor"
    assert listener.wait_for(lambda s: len(s.events(base)) >= len(sent)), \
        [(d["id"], d["type"]) for d in listener.events(base)]
    got = {(d["id"], d["type"]) for d in listener.events(base)}
    assert got == {(d["id"], d["type"]) for d in sent}
    assert listener.on(f"{base}/crying")[-1] == "OFF"
    assert listener.on(f"{base}/availability")[-1] == "offline"
    assert listener.on(f"{base}/dropped")[-1] == "0"


@needs_broker
def test_a_reason_model_gets_its_sensor_and_a_full_queue_is_counted(
        detector, recording, mqtt):
    path, onsets = recording
    from sk_cry.monitor import MQTTSink

    broker = mqtt.broker()
    listener = mqtt.subscriber(broker.port, topics=["homeassistant/#", "sk_cry/#"])
    model = runtime.load(detector)  # heard again as the "reason" model
    sink = MQTTSink("127.0.0.1", broker.port, model=model.sha256, reason=True,
                    max_queued=40, max_backoff=1)
    assert sink.wait_connected(10)
    sent = list(Monitor(model, sinks=[sink], reason=model).run(
        runtime.played(path, speed=0)))
    base = "sk_cry/baby_monitor"
    assert listener.wait_for(lambda s: len(s.events(base)) == len(sent))
    (config,) = map(json.loads, listener.on(
        "homeassistant/sensor/baby_monitor/reason/config"))
    assert config["name"] == "Cry reason" and config["state_topic"] == f"{base}/reason"
    assert listener.on(f"{base}/reason")[-1] == sent[-1]["reason"] == "cry"
    reasons = json.loads(listener.on(f"{base}/reason/attributes")[-1])
    assert reasons["id"] == sent[-1]["id"] and set(reasons) == {"id", "background",
                                                                "cry"}
    assert _until(lambda: sink.unacknowledged() == 0)
    broker.stop()  # away: 40 messages fit, an event document takes 5 or 7
    for document in sent * 3:
        sink.send(document)
    assert sink.dropped > 0
    broker.start()
    assert sink.close(timeout=30) == 0
    assert listener.wait_for(
        lambda s: s.on(f"{base}/dropped")[-1:] == [str(sink.dropped)])


@needs_broker
def test_the_last_will_says_offline_when_the_monitor_dies(detector, recording, mqtt):
    path, _ = recording
    broker = mqtt.broker()
    listener = mqtt.subscriber(broker.port, topics=["sk_cry/#"])
    process = _monitor_cli("--model", detector, "--file", path, "--speed", "1",
                           "--mqtt", f"127.0.0.1:{broker.port}")
    base = "sk_cry/baby_monitor"
    assert listener.wait_for(lambda s: s.on(f"{base}/availability") == ["online"], 60)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert listener.wait_for(lambda s: s.on(f"{base}/availability")[-1] == "offline")


@needs_broker
def test_a_password_from_a_file_or_the_environment_is_used_and_never_shown(
        detector, recording, mqtt, tmp_path):
    path, onsets = recording
    secret = "correct-horse-battery"
    broker = mqtt.broker(users={"monitor": secret, "test": "t"})
    listener = mqtt.subscriber(broker.port, topics=["sk_cry/#"], username="test",
                               password="t")
    (tmp_path / "password").write_text(secret + "\n")
    code, out, err = _run("--model", detector, "--file", path, "--speed", "0",
                          "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-username",
                          "monitor", "--mqtt-password-file", tmp_path / "password")
    assert code == 0, err
    events = "sk_cry/baby_monitor/events"
    assert listener.wait_for(lambda s: len(s.on(events)) == 2 * len(onsets))
    code, out2, err2 = _run("--model", detector, "--file", path, "--speed", "0",
                            "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-username",
                            "monitor", env={"SK_CRY_MQTT_PASSWORD": secret})
    assert code == 0, err2
    assert listener.wait_for(lambda s: len(s.on(events)) == 4 * len(onsets))
    code, _, err4 = _run("--model", detector, "--file", path, "--speed", "0",
                         "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-username",
                         "monitor", "--flush-timeout", "2",
                         env={"SK_CRY_MQTT_PASSWORD": "wrong"})
    assert code == 1 and "refused" in err4 and "not delivered" in err4
    (tmp_path / "bad.toml").write_text(f'mqtt_password = "{secret}"\n')
    code, out3, err3 = _run("--config", tmp_path / "bad.toml")
    assert code == 2 and "password" in err3
    for text in (out, err, out2, err2, out3, err3, err4):
        assert secret not in text


@needs_broker
def test_tls_checks_the_brokers_certificate(detector, recording, mqtt, tmp_path):
    path, onsets = recording
    ca, certificate, key = make_certificates(tmp_path / "tls")
    broker = mqtt.broker(tls=(ca, certificate, key))
    code, out, err = _run("--model", detector, "--file", path, "--speed", "0",
                          "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-ca", ca)
    assert code == 0, err
    assert "connected" in err and "not delivered" not in err
    other, _, _ = make_certificates(tmp_path / "other")  # a CA that did not sign it
    code, out, err = _run("--model", detector, "--file", path, "--speed", "0",
                          "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-ca", other,
                          "--flush-timeout", "1")
    assert code == 1 and "not delivered" in err and "connected to" not in err
    assert err.count("cannot connect") == 1


def test_a_config_file_sets_options_and_flags_win(detector, recording, tmp_path):
    path, onsets = recording
    receiver = Receiver()
    (tmp_path / "monitor.toml").write_text(
        f'model = "{detector}"\nfile = "{path}"\nspeed = 0\n'
        f'webhook = ["{receiver.url}"]\nsave_clips = "{tmp_path / "clips"}"\n'
        'pre_roll = 1\npost_roll = 1\n')
    code, out, err = _run("--config", tmp_path / "monitor.toml", "--post-roll", "0")
    assert code == 0, err
    assert out.count("cry started") == len(onsets) and "secret-id" not in out + err
    assert len(receiver.received) == 2 * len(onsets)
    side = json.loads(next((tmp_path / "clips").glob("*.json")).read_text())
    assert side["clip"]["pre_roll"] == 1 and side["clip"]["post_roll"] == 0
    (tmp_path / "typo.toml").write_text('pre_rol = 3\n')
    code, out, err = _run("--config", tmp_path / "typo.toml")
    assert code == 2 and "pre_rol" in err and "Traceback" not in err
    code, out, err = _run("--model", detector, "--file", tmp_path / "missing.wav")
    assert code == 2 and "missing.wav" in err and "Traceback" not in err
    receiver.shutdown()


def test_calibration_keeps_the_rooms_false_alarms_under_the_goal(detector, recording,
                                                                 tmp_path):
    """A room whose hum sounds a little like crying: calibrated rules raise no
    alarm there and still find the cries."""
    path, onsets = recording
    model = runtime.load(detector)
    rng = np.random.default_rng(5)
    from sk_cry.datasets import make_cries

    cries, _ = make_cries(6, duration=3.0, noise=0.0, random_state=11)
    room = []
    for k in range(3):  # 2 minutes each, with faint cry-like sounds (a TV)
        x = noise(rng, 120 * SR, level=0.05)
        for j, onset in enumerate((20, 70)):
            x[onset * SR:onset * SR + cries[0].size] += 0.04 * cries[2 * k + j]
        room.append(tmp_path / f"room{k}.wav")
        sf.write(room[-1], x, SR, subtype="PCM_16")
    before = sum(len(d.events) for d in model.detect(room))
    result = calibrate(model, room, false_alarms_per_hour=0)
    assert result.rules is not None and result.false_alarms_per_hour == 0
    assert result.hours == pytest.approx(6 / 60)
    out = subprocess.run([sys.executable, "-m", "sk_cry", "calibrate", detector, *room,
                          "--false-alarms-per-hour", "0", "-o", tmp_path / "room.json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "warning" in out.stderr and "an hour" in out.stderr  # 6 min is not enough
    hop, rules = runtime.read_settings(tmp_path / "room.json", model)
    assert rules == result.rules
    after = sum(len(d.events) for d in model.detect(room, rules=rules))
    assert before > 0 and after == 0
    (found,) = model.detect([path], rules=rules)
    assert len(found.events) == len(onsets)
    detect = subprocess.run([sys.executable, "-m", "sk_cry", "detect", *room, "--model",
                             detector, "--settings", tmp_path / "room.json", "--format",
                             "json"], capture_output=True, text=True, timeout=120)
    assert detect.returncode == 0
    assert all(not r["events"] for r in json.loads(detect.stdout))
    with pytest.raises(ParameterError, match="calibrated for the model"):
        runtime.read_settings(tmp_path / "room.json", runtime.default_detector())
