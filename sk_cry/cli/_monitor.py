"""``sk-cry monitor``: listen and tell Home Assistant (MQTT), webhooks and a clip
folder when a baby cries (``sk_cry.monitor``), on the runtime alone."""

import json
import logging
import os
import sys
import tomllib

from ._common import LibraryDefault, add_command, resolved
from ._events import detection_settings, event_line

__all__ = ["PASSWORD_ENV", "add_parser", "run"]

PASSWORD_ENV = "SK_CRY_MQTT_PASSWORD"


def _library(name, parameter):
    return LibraryDefault("sk_cry.monitor", name, parameter)


# option -> (default, type); a TOML config holds the same names (underscores).
# The library's defaults are its own (the classes' keyword defaults).
_OPTIONS = {
    "model": (None, str), "reason": (None, str), "settings": (None, str),
    "device": (None, str), "file": (None, str),
    "speed": (LibraryDefault("sk_cry.runtime", "played", "speed"), float),
    "hop": (None, float), "mqtt": (None, str),
    "mqtt_name": (_library("MQTTSink", "name"), str),
    "mqtt_username": (None, str), "mqtt_password_file": (None, str),
    "mqtt_tls": (False, bool), "mqtt_ca": (None, str), "mqtt_cert": (None, str),
    "mqtt_key": (None, str), "webhook": ([], list),
    "webhook_timeout": (_library("WebhookSink", "timeout"), float),
    "save_clips": (None, str),
    "pre_roll": (_library("ClipRecorder", "pre_roll"), float),
    "post_roll": (_library("ClipRecorder", "post_roll"), float),
    "max_clips": (_library("ClipRecorder", "max_clips"), int),
    "max_mb": (_library("ClipRecorder", "max_mb"), float),
    "flush_timeout": (_library("Monitor.close", "timeout"), float),
    "json": (False, bool),
}


def _shown_default(name):
    """An option's argparse default: the library's, so that the help shows it
    (``%(default)s``); None where the command has none of its own to show."""
    default = _OPTIONS[name][0]
    return default if isinstance(default, LibraryDefault) else None


def add_parser(sub):
    p = add_command(sub, "monitor", "listen (a microphone, or a file) and send each cry "
                    "event to Home Assistant over MQTT, to webhooks and to a clip "
                    "folder, one line per event on stdout as well (exit status 0; 1 "
                    "when some events could not be delivered before it stopped; 2 on a "
                    "usage error)",
                    "sk-cry monitor --mqtt 192.168.1.10 --save-clips clips/")
    p.add_argument("--config", default=None, help="a TOML file of these options "
                   "(names with underscores: mqtt_name = \"Nursery\"); flags win")
    where = p.add_argument_group("listening")
    where.add_argument("--model", help="a detector bundle (default: sk_cry's)")
    where.add_argument("--reason", help="a reason bundle that labels each event")
    where.add_argument("--settings", help="event rules from sk-cry calibrate")
    where.add_argument("--device", help="input device, number or name (default: the "
                       "system's; python -m sounddevice lists them)")
    where.add_argument("--file", help="listen to this file instead of a microphone")
    where.add_argument("--speed", type=float, default=_shown_default("speed"),
                       help="with --file: that many times faster than recorded (0: as "
                       "fast as it can; default %(default)s)")
    where.add_argument("--hop", type=float, help="seconds between windows (default: "
                       "the detector's)")
    where.add_argument("--json", action="store_true", default=None,
                       help="print each event document as a JSON line")
    mqtt = p.add_argument_group("MQTT (Home Assistant discovery)")
    mqtt.add_argument("--mqtt", metavar="HOST[:PORT]", help="the broker (MQTT's "
                      "standard port unless given)")
    mqtt.add_argument("--mqtt-name", default=_shown_default("mqtt_name"),
                      help="the device's name in Home Assistant (default "
                      "\"%(default)s\")")
    mqtt.add_argument("--mqtt-username")
    mqtt.add_argument("--mqtt-password-file", help=f"a file holding the password (or "
                      f"set {PASSWORD_ENV}); never on the command line")
    mqtt.add_argument("--mqtt-tls", action="store_true", default=None,
                      help="connect over TLS (the system's CAs unless --mqtt-ca)")
    mqtt.add_argument("--mqtt-ca", help="CA certificate file (implies TLS)")
    mqtt.add_argument("--mqtt-cert", help="client certificate file")
    mqtt.add_argument("--mqtt-key", help="client key file")
    hook = p.add_argument_group("webhooks")
    hook.add_argument("--webhook", action="append", metavar="URL",
                      help="POST each event start and end as JSON here (repeatable)")
    hook.add_argument("--webhook-timeout", type=float,
                      default=_shown_default("webhook_timeout"), help="seconds per try "
                      "(default %(default)s; failed tries are repeated with backoff)")
    clips = p.add_argument_group("clips")
    clips.add_argument("--save-clips", metavar="DIR", help="keep each event's audio "
                       "(WAV) and a JSON sidecar here")
    clips.add_argument("--pre-roll", type=float, default=_shown_default("pre_roll"),
                       help="seconds before the event (default %(default)s)")
    clips.add_argument("--post-roll", type=float, default=_shown_default("post_roll"),
                       help="seconds after it (default %(default)s)")
    clips.add_argument("--max-clips", type=int, default=_shown_default("max_clips"),
                       help="clips kept, oldest removed first (default %(default)s)")
    clips.add_argument("--max-mb", type=float, default=_shown_default("max_mb"),
                       help="megabytes kept (default %(default)s)")
    p.add_argument("--flush-timeout", type=float, default=_shown_default("flush_timeout"),
                   help="seconds to deliver what is queued when listening stops "
                   "(default %(default)s)")
    p.set_defaults(func=run)
    return p


def _configured(args):
    """The options: flags, then the ``--config`` file, then the defaults (the
    library's looked up now)."""
    from ..exceptions import ParameterError

    config = {}
    if args.config is not None:
        try:
            with open(args.config, "rb") as f:
                config = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ParameterError(f"cannot read the config {args.config}: {exc}") from exc
        config = {k.replace("-", "_"): v for k, v in config.items()}
        if "mqtt_password" in config:
            raise ParameterError(f"{args.config}: a password does not go in the config; "
                                 f"put it in a file (mqtt_password_file) or in "
                                 f"{PASSWORD_ENV}")
        unknown = sorted(set(config) - set(_OPTIONS))
        if unknown:
            raise ParameterError(f"{args.config}: unknown option(s) {unknown}; the "
                                 f"options are {sorted(_OPTIONS)}")
    for name, (default, kind) in _OPTIONS.items():
        value = getattr(args, name, None)
        if value is None or isinstance(value, LibraryDefault):  # not given
            value = resolved(config.get(name, default))
            if kind is list and isinstance(value, str):
                value = [value]
            if name == "device" and type(value) is int:  # device = 2: a number
                value = str(value)
            ok = isinstance(value, kind) or value is None or (
                kind is float and isinstance(value, int) and not isinstance(value, bool))
            if kind is list and ok:
                ok = all(isinstance(item, str) for item in value)
            if not ok:
                what = {list: "a list of strings", str: "a string", bool: "true or false",
                        int: "an integer", float: "a number"}[kind]
                raise ParameterError(f"{args.config}: {name} = {value!r} must be {what}")
        setattr(args, name, value)
    return args


def _password(args):
    if args.mqtt_password_file is not None:
        from ..exceptions import ParameterError

        try:
            with open(args.mqtt_password_file, encoding="utf-8") as f:
                return f.read().rstrip("\r\n")
        except OSError as exc:
            raise ParameterError(f"cannot read the MQTT password file "
                                 f"{args.mqtt_password_file}: {exc.strerror}") from exc
    return os.environ.get(PASSWORD_ENV)


def _broker(spec):
    """``(host, port)`` of ``--mqtt``: MQTTSink's port unless the spec names one."""
    from ..exceptions import ParameterError

    host, _, port = spec.rpartition(":") if spec.count(":") == 1 else (spec, "", "")
    if not port:
        return spec, _library("MQTTSink", "port").value
    if not port.isdigit():
        raise ParameterError(f"--mqtt {spec!r}: the port must be a number (HOST:PORT)")
    return host, int(port)


def _detector(args):
    """``(model, reason, hop, rules)`` from the options."""
    from ..runtime import default_detector, load

    model = default_detector() if args.model in (None, "default") else load(args.model)
    reason = None if args.reason is None else load(args.reason)
    return (model, reason, *detection_settings(model, "bundle", args))


def run(args):
    """Listen and send every cry event to the sinks the options name."""
    from ..exceptions import SkCryError
    from ..monitor import ClipRecorder, Monitor, MQTTSink, WebhookSink, redacted
    from ..runtime import microphone, played

    logging.basicConfig(level=logging.INFO, format="sk-cry monitor: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("sk_cry.monitor").setLevel(logging.INFO)
    sinks, said = [], []
    try:
        _configured(args)
        if args.device is not None and str(args.device).isdigit():
            args.device = int(args.device)
        model, reason, hop, rules = _detector(args)
        if args.mqtt is not None:
            host, port = _broker(args.mqtt)
            sinks.append(MQTTSink(host, port, name=args.mqtt_name, model=model.sha256,
                                  reason=reason is not None, username=args.mqtt_username,
                                  password=_password(args), tls=args.mqtt_tls,
                                  ca_certs=args.mqtt_ca, certfile=args.mqtt_cert,
                                  keyfile=args.mqtt_key))
            said.append(f"MQTT {host}:{port} as \"{args.mqtt_name}\"")
        for url in args.webhook:
            sinks.append(WebhookSink(url, timeout=args.webhook_timeout))
            said.append(f"webhook {redacted(url)}")
        clips = None
        if args.save_clips is not None:
            clips = ClipRecorder(args.save_clips, pre_roll=args.pre_roll,
                                 post_roll=args.post_roll, max_clips=args.max_clips,
                                 max_mb=args.max_mb)
            said.append(f"clips to {args.save_clips}")
        watch = Monitor(model, sinks=sinks, clips=clips, hop=hop, rules=rules,
                        reason=reason, source_name=args.file or "microphone")
        source = (played(args.file, speed=args.speed) if args.file is not None
                  else microphone(args.device))
    except (SkCryError, OSError) as exc:
        for sink in sinks:
            sink.close(0)
        print(f"sk-cry monitor: error: {exc}", file=sys.stderr)
        return 2
    print(f"monitoring {args.file or 'the microphone'} with the detector "
          f"{model.sha256[:12]}: {', '.join(said) or 'stdout only'} (Ctrl-C stops)",
          flush=True)
    events = 0
    try:
        for document in watch.run(source):
            events += document["type"] == "end"
            print(json.dumps(document) if args.json
                  else event_line(document["type"], document, document["id"]), flush=True)
    except KeyboardInterrupt:
        pass
    except SkCryError as exc:
        print(f"sk-cry monitor: error: {exc}", file=sys.stderr)
        watch.close(args.flush_timeout)
        return 2
    left = watch.close(args.flush_timeout)
    for sink, count in left.items():
        print(f"sk-cry monitor: {sink!r}: {count} message(s) not delivered within "
              f"{args.flush_timeout:g} s", file=sys.stderr)
    print(f"stopped: {events} cry event(s)", flush=True)
    return 1 if left else 0
