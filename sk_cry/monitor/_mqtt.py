"""Cry events to an MQTT broker, as Home Assistant's MQTT discovery expects
them (``pip install "sk-cry[monitor]"``: paho-mqtt)."""

import json
import logging
import re
import ssl
import threading
import time

from .. import __version__
from ..exceptions import ParameterError, SkCryError

__all__ = ["MQTTSink"]

logger = logging.getLogger("sk_cry.monitor")

DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's default


def _node_id(name):
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "sk_cry"


class MQTTSink:
    """Publish cry events to an MQTT broker, with Home Assistant discovery.

    On every connection it publishes (retained, QoS 1) the discovery configs of
    a ``binary_sensor`` "Baby crying" (``device_class`` ``sound``) and, with
    ``reason=True``, a ``sensor`` "Cry reason", under
    ``homeassistant/<component>/<node>/<object>/config``, and ``online`` on the
    availability topic, whose last will is ``offline``. Topics, for
    ``base = sk_cry/<node>``:

    - ``<base>/crying``: ``ON`` when an event starts, ``OFF`` when it ends
      (retained); ``<base>/crying/attributes``: its JSON attributes (id,
      probability (the peak so far), mean, started_at, ended_at, model);
    - ``<base>/reason`` and ``<base>/reason/attributes``: the event's reason and
      its probabilities (with ``reason=True``);
    - ``<base>/events``: every event document (:func:`event_document`), not
      retained, for automations and logs;
    - ``<base>/availability``: ``online`` / ``offline``;
    - ``<base>/dropped``: how many event documents were not queued (retained).

    Everything is published with QoS 1 (at least once: a receiver may see a
    document twice after a reconnection, and drops a repeated ``(id, type)``).
    While the broker is away the client reconnects with backoff (1 s doubling
    to ``max_backoff``) and holds up to ``max_queued`` messages, which reach
    the broker, in order, once it is back; past that, new event documents are
    dropped and counted on ``<base>/dropped``, and once the queue has drained
    the current state is published again. Home Assistant's birth message
    (``online`` on ``homeassistant/status``) makes it publish the discovery
    configs again.

    Parameters
    ----------
    host : str
    port : int, default=1883
    name : str, default="Baby monitor"
        The device's name in Home Assistant; ``node`` is its lower-case slug.
    model : str
        The detector's SHA-256 (shown as the device's model).
    reason : bool, default=False
        Announce the "Cry reason" sensor.
    username, password : str or None
        Broker credentials (the password is never printed or logged).
    tls : bool, default=False
        Connect over TLS, checking the broker's certificate against ``ca_certs``
        (None: the system's CAs).
    ca_certs, certfile, keyfile : str or None
        CA bundle, and a client certificate and key.
    max_queued : int, default=10000
    max_backoff : int, default=30
    """

    def __init__(self, host, port=1883, *, name="Baby monitor", model="", reason=False,
                 username=None, password=None, tls=False, ca_certs=None, certfile=None,
                 keyfile=None, max_queued=10000, max_backoff=30, keepalive=30):
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise SkCryError("MQTT needs paho-mqtt: pip install \"sk-cry[monitor]\""
                             ) from exc
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ParameterError(f"MQTT port {port!r} is not a port number (1-65535)")
        self.host, self.port, self.name = host, port, name
        self.node = _node_id(name)
        self.base = f"sk_cry/{self.node}"
        self.model, self.reason = model, bool(reason)
        self.dropped, self._mqtt, self._closing = 0, mqtt, False
        self.max_queued = int(max_queued)
        self._dropped_said, self._stale = 0, False
        self._state = {"crying": "OFF", "attributes": {}, "reason": None,
                       "reason_attributes": {}}
        self._lock = threading.Lock()
        self._published = self._acknowledged = 0  # QoS 1 messages queued / acked
        self._connected = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"sk_cry-{self.node}", clean_session=True)
        client.reconnect_delay_set(1, int(max_backoff))
        client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        if username is not None:
            client.username_pw_set(username, password)
        if tls or ca_certs or certfile:
            try:
                client.tls_set(ca_certs=ca_certs, certfile=certfile, keyfile=keyfile,
                               cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ValueError, ssl.SSLError) as exc:
                raise ParameterError(f"MQTT TLS settings cannot be used: {exc}") from exc
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        self._failing = False  # said once per run of failed connections
        self._client = client
        client.connect_async(host, port, keepalive=keepalive)
        client.loop_start()

    def __repr__(self):
        return f"MQTTSink({self.host}:{self.port}, {self.base})"

    @property
    def connected(self):
        """Whether the broker is connected now."""
        return self._connected.is_set()

    def wait_connected(self, timeout=None):
        """Wait until connected; returns whether it is."""
        return self._connected.wait(timeout)

    # --- what is published ----------------------------------------------------
    def _device(self):
        return {"identifiers": [f"sk_cry_{self.node}"], "name": self.name,
                "manufacturer": "sk_cry", "model": f"cry detector {self.model[:12]}",
                "sw_version": __version__}

    def discovery(self):
        """``{topic: config}`` of the Home Assistant discovery messages."""
        common = {"availability_topic": f"{self.base}/availability",
                  "payload_available": "online", "payload_not_available": "offline",
                  "device": self._device()}
        configs = {f"{DISCOVERY_PREFIX}/binary_sensor/{self.node}/crying/config": {
            "name": "Baby crying", "unique_id": f"sk_cry_{self.node}_crying",
            "device_class": "sound", "state_topic": f"{self.base}/crying",
            "payload_on": "ON", "payload_off": "OFF",
            "json_attributes_topic": f"{self.base}/crying/attributes", **common}}
        if self.reason:
            configs[f"{DISCOVERY_PREFIX}/sensor/{self.node}/reason/config"] = {
                "name": "Cry reason", "unique_id": f"sk_cry_{self.node}_reason",
                "icon": "mdi:emoticon-cry-outline", "state_topic": f"{self.base}/reason",
                "json_attributes_topic": f"{self.base}/reason/attributes", **common}
        return configs

    def _publish(self, topic, payload, *, retain):
        if not isinstance(payload, str):
            payload = json.dumps(payload)
        # never under self._lock: paho calls _on_publish holding its own lock
        self._client.publish(topic, payload, qos=1, retain=retain)
        with self._lock:  # paho acknowledges each queued QoS 1 message once
            self._published += 1

    def unacknowledged(self):
        """How many published messages the broker has not acknowledged yet."""
        with self._lock:
            return self._published - self._acknowledged

    def _announce(self):
        """Discovery, availability, the dropped count and the current state: a
        broker that restarted may have lost its retained messages. (Messages
        queued while it was away follow these, in order, so the last state
        wins.)"""
        for topic, config in self.discovery().items():
            self._publish(topic, config, retain=True)
        self._publish(f"{self.base}/availability", "online", retain=True)
        self._say_dropped()
        self._publish_state()

    def _say_dropped(self):
        self._dropped_said = self.dropped
        self._publish(f"{self.base}/dropped", str(self.dropped), retain=True)

    def _publish_state(self):
        state = dict(self._state)
        self._publish(f"{self.base}/crying/attributes", state["attributes"], retain=True)
        self._publish(f"{self.base}/crying", state["crying"], retain=True)
        if self.reason and state["reason"] is not None:
            self._publish(f"{self.base}/reason/attributes", state["reason_attributes"],
                          retain=True)
            self._publish(f"{self.base}/reason", state["reason"], retain=True)

    def send(self, document):
        """Publish an event document's state changes and the document itself;
        returns at once (paho's network thread delivers)."""
        attributes = {"id": document["id"], "probability": document["peak"],
                      "mean": document["mean"], "started_at": document["started_at"],
                      "ended_at": document["ended_at"], "model": document["model"]}
        state = "ON" if document["type"] == "start" else "OFF"
        self._state.update(crying=state, attributes=attributes)
        if self.reason and document["reason"] is not None:
            self._state.update(reason=str(document["reason"]), reason_attributes={
                "id": document["id"], **document["reason_probabilities"]})
        if self.unacknowledged() >= self.max_queued:  # the broker has been away long
            self.dropped += 1
            self._stale = True  # the state is said again once the queue is empty
            return
        if self.dropped != self._dropped_said:
            self._say_dropped()
        self._publish(f"{self.base}/events", document, retain=False)
        self._publish(f"{self.base}/crying/attributes", attributes, retain=True)
        self._publish(f"{self.base}/crying", state, retain=True)
        if self.reason and document["reason"] is not None:
            self._publish(f"{self.base}/reason/attributes",
                          self._state["reason_attributes"], retain=True)
            self._publish(f"{self.base}/reason", self._state["reason"], retain=True)

    def close(self, timeout=30.0):
        """Say ``offline``, wait up to ``timeout`` seconds for the broker to
        acknowledge what is queued, then disconnect; returns the number of
        messages not acknowledged."""
        self._publish(f"{self.base}/availability", "offline", retain=True)
        deadline = time.monotonic() + timeout
        while (left := self.unacknowledged()) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        return left

    # --- paho's callbacks (its network thread) ----------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("MQTT broker %s:%d refused the connection: %s", self.host,
                         self.port, reason_code)
            return
        logger.info("MQTT connected to %s:%d", self.host, self.port)
        self._failing = False
        client.subscribe(f"{DISCOVERY_PREFIX}/status", qos=1)
        self._announce()
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self._connected.is_set() and not self._closing:
            logger.warning("MQTT broker %s:%d went away (%s); reconnecting", self.host,
                           self.port, reason_code)
        self._connected.clear()

    def _on_connect_fail(self, client, userdata):
        if not self._failing:  # paho keeps the reason to itself
            logger.warning("MQTT cannot connect to %s:%d (is the broker there; with "
                           "TLS, is its certificate signed by the CA given?); "
                           "retrying with backoff", self.host, self.port)
        self._failing = True

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._lock:
            self._acknowledged += 1
            drained = self._published == self._acknowledged
        if drained and self._stale:  # messages were dropped: the last word is now's
            self._stale = False
            self._say_dropped()
            self._publish_state()

    def _on_message(self, client, userdata, message):
        if message.topic == f"{DISCOVERY_PREFIX}/status" and message.payload == b"online":
            self._announce()  # Home Assistant restarted: tell it again
