"""A baby monitor on the runtime: live audio through a cry detector, each event
sent to Home Assistant over MQTT (``pip install "sk-cry[monitor]"``), to
webhooks, and kept as a clip; and the calibration of its event rules to a
room. ``sk-cry monitor`` and ``sk-cry calibrate`` run them.

::

    from sk_cry import runtime
    from sk_cry.monitor import ClipRecorder, Monitor, MQTTSink
    detector = runtime.default_detector()
    monitor = Monitor(detector, sinks=[MQTTSink("127.0.0.1", model=detector.sha256)],
                      clips=ClipRecorder("clips"))
    for document in monitor.run(runtime.microphone()):
        print(document["type"], document["started_at"])
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "._monitor": ["Monitor", "event_document"], "._clips": ["ClipRecorder"],
    "._mqtt": ["MQTTSink"], "._webhook": ["WebhookSink", "redacted"],
    "._calibrate": ["Calibration", "calibrate"]})
