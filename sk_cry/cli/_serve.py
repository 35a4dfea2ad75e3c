"""``sk-cry serve``: a bundle over HTTP (``sk_cry.service`` on uvicorn). The
limits default to the service's own (its ``DEFAULT_*`` constants)."""

import errno
import sys
from pathlib import Path

from ._common import LibraryDefault, add_command, error, given, is_bundle

__all__ = ["add_parser", "run"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub):
    p = add_command(sub, "serve", "serve an exported bundle over HTTP: POST /predict, "
                    "POST /detect, GET /health, and a page at /",
                    "sk-cry serve cry.skcry-bundle --port 8000")
    p.add_argument("model", help="a bundle (sk-cry export)")
    p.add_argument("--host", default=_LOOPBACK[0],
                   help="address to bind (default %(default)s: this machine only)")
    p.add_argument("--port", type=int, default=8000,
                   help="TCP port (default %(default)s; 0: any free port)")
    p.add_argument("--max-upload", type=int,
                   default=LibraryDefault("sk_cry.service", "DEFAULT_MAX_UPLOAD"),
                   help="bytes an upload may hold (default %(default)s; larger ones "
                   "get 413)")
    p.add_argument("--max-seconds", type=float,
                   default=LibraryDefault("sk_cry.service", "DEFAULT_MAX_SECONDS"),
                   help="seconds of audio a request may hold (default %(default)s; "
                   "longer ones get 413, refused from the header where it says)")
    p.add_argument("--max-concurrent", type=int,
                   default=LibraryDefault("sk_cry.service", "DEFAULT_MAX_CONCURRENT"),
                   help="requests decoded at once (default %(default)s); others wait "
                   "for a free one, then get 503 with Retry-After")
    p.set_defaults(func=run)
    return p


def run(args):
    """Serve a bundle over HTTP on uvicorn."""
    from ..exceptions import SkCryError

    try:
        import uvicorn  # noqa: F401  (the serve extra, checked before the model loads)

        from ..service import make_app, run_server
    except ImportError as exc:
        return error("serve", f"{exc}: pip install \"sk-cry[serve]\"")
    if not is_bundle(args.model):
        return error("serve", f"{args.model} is not an exported bundle; export a saved "
                     "pipeline first: sk-cry export MODEL OUT.skcry-bundle")
    try:
        from ..runtime import load

        model = load(args.model)
    except (SkCryError, OSError) as exc:
        return error("serve", exc)
    try:
        app = make_app(model, name=Path(args.model).name,
                       **given(args, "max_upload", "max_seconds", "max_concurrent"))
    except SkCryError as exc:  # a limit that is not positive
        return error("serve", exc)
    try:
        sock = _listening_socket(args.host, args.port)
    except OSError as exc:
        return error("serve", exc)
    if args.host not in _LOOPBACK:
        print(f"sk-cry serve: listening on {args.host}: reachable from other machines, "
              "with no authentication", file=sys.stderr)
    port = sock.getsockname()[1]
    print(f"serving {args.model} on http://{args.host}:{port}/ (Ctrl-C stops)",
          flush=True)
    run_server(app, sock)
    return 0


def _listening_socket(host, port):
    """A socket bound to ``host:port``, made before anything says "serving": a
    bad host, a port out of range or in use is an ``OSError`` that says which."""
    import socket

    if not 0 <= port <= 65535:
        raise OSError(f"--port {port}: a TCP port is 0-65535 (0: any free port)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OSError(f"--host {host}: not an address of this machine ({exc.strerror})"
                      ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = ("in use by another program; choose another --port"
               if exc.errno == errno.EADDRINUSE else f"{exc.strerror}; choose another "
               "--host or --port")
        raise OSError(f"cannot listen on {host}:{port}: {why}") from None
    return sock
