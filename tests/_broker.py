"""The monitor's receivers, real and on loopback ports: a Mosquitto broker on a
free 127.0.0.1 port (Debian's ``mosquitto``), which can be stopped and started
again on the same port with its retained messages and persistent sessions
kept; an MQTT subscriber that records what arrives; and a webhook receiver that
can fail, hang, then recover. Used by tests/test_monitor.py and
benchmarks/monitor.py."""

import getpass
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["Mosquitto", "Receiver", "Subscriber", "free_port", "have_mosquitto",
           "make_certificates"]


def have_mosquitto():
    return shutil.which("mosquitto") is not None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(folder):
    """``(ca, certificate, key)``: a CA and a certificate for 127.0.0.1 that it
    signed, made with ``openssl``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=sk-cry test CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt")
    return folder / "ca.crt", folder / "server.crt", folder / "server.key"


class Mosquitto:
    """``mosquitto -c <folder>/mosquitto.conf`` on ``127.0.0.1:port``.

    ``users``: ``{name: password}`` for a password file (anonymous clients are
    then refused); ``tls``: ``(ca, certificate, key)`` files, for TLS only.
    """

    def __init__(self, folder, *, users=None, tls=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        # started as root, mosquitto drops to the user "mosquitto", who could not
        # read the password file or write the persistence in a private folder
        lines = [f"user {getpass.getuser()}", f"listener {self.port} 127.0.0.1",
                 *([f"cafile {tls[0]}", f"certfile {tls[1]}", f"keyfile {tls[2]}"]
                   if tls else []),
                 "persistence true",
                 f"persistence_location {self.folder}/", "log_dest none"]
        if users:
            passwords = self.folder / "passwords"
            passwords.touch(mode=0o600)
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        (self.folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.process.stderr.read()}")
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s")

    def stop(self):
        """SIGTERM: mosquitto saves its retained messages and sessions, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self, pause=1.0):
        self.stop()
        time.sleep(pause)
        self.start()


class Subscriber:
    """A persistent-session MQTT client subscribed to ``topics`` (QoS 1) that
    keeps every message as ``(topic, payload str, retain)`` in ``messages``."""

    def __init__(self, port, topics=("#",), client_id="sk-cry-test-subscriber", *,
                 username=None, password=None):
        import paho.mqtt.client as mqtt

        self.messages, self.lock = [], threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False)
        self.client.reconnect_delay_set(1, 2)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.topics = list(topics)

        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe([(t, 1) for t in self.topics])

        def on_subscribe(client, userdata, mid, reason_codes, properties):
            self.subscribed.set()

        def on_message(client, userdata, message):
            with self.lock:
                self.messages.append((message.topic, message.payload.decode(),
                                      bool(message.retain)))

        self.client.on_connect, self.client.on_message = on_connect, on_message
        self.client.on_subscribe = on_subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("the subscriber did not subscribe within 10 s")

    def on(self, topic):
        """Payloads received on ``topic``, in order."""
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def events(self, base):
        """The event documents received on ``<base>/events``."""
        return [json.loads(p) for p in self.on(f"{base}/events")]

    def wait_for(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver on a loopback port: each POST waits ``hang`` seconds,
    then is answered 503 while ``failing`` or among the first ``failures``
    tries, else 200 with its JSON body kept in ``received``. ``tries`` and
    ``refused`` count the POSTs and the 503s."""

    def __init__(self, failures=0, hang=0.0):
        self.received, self.failures, self.hang = [], failures, hang
        self.failing, self.tries, self.refused = False, 0, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.tries += 1
                if outer.hang:
                    time.sleep(outer.hang)
                if outer.failing or outer.tries <= outer.failures:
                    outer.refused += 1
                    self.send_response(503)
                else:
                    outer.received.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        """Where to POST (a path like a Home Assistant webhook's secret ID)."""
        return f"http://127.0.0.1:{self.server_address[1]}/api/webhook/secret-id"
