"""``sk-cry serve`` on loopback: latency and throughput of ``POST /predict``.

A default CNN pipeline (2 epochs on 60 six-second ``make_cries`` clips) is
exported; ``sk-cry serve`` runs it in its own process on 127.0.0.1. Measured in
the same run:

- the reference approach: the runtime in this process, ``model.predict_windows``
  on the same 6-s WAV file (what the service does per request, without HTTP);
- ``POST /predict`` of that file as the raw body: median and p99 over
  ``--requests`` sequential requests (a kept-alive ``http.client`` connection);
- throughput with 8 concurrent clients (threads, one connection each);

and every answer's probabilities are compared with the runtime's own for the
file it sent (40 different clips, round-robin). Then the limits, at their
defaults (20 MB, 600 s of audio, 2 requests decoded at once):

- the server's peak resident memory (VmHWM, reset before) while ``--burst``
  clients (8) each upload a maximum-size recording at once: 600 s of 16-kHz
  16-bit WAV, 19.2 MB, under both limits;
- the time to refuse an hour of silence in a 180-KB FLAC (413, from its
  header), against the reference: ``predict_windows`` decoding it in process,
  what the service did before it had a limit on seconds.

    python benchmarks/serve.py            # ~1 min on 2 cores
    python benchmarks/serve.py --smoke    # 50 requests, 60-s uploads in the burst
"""

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(connection, body):
    connection.request("POST", "/predict", body=body,
                       headers={"Content-Type": "audio/wav"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def _rss_mb(pid, field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process in MB; None off Linux."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    line = next(x for x in status.read_text().splitlines() if x.startswith(field))
    return int(line.split()[1]) / 1024


def _burst(port, body, clients):
    """``clients`` connections each POST ``body`` at once: statuses, seconds."""
    statuses = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        statuses.append(_post(conn, body)[0])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--burst", type=int, default=8,
                        help="clients uploading a maximum-size recording at once")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    burst_seconds = 600  # the service's DEFAULT_MAX_SECONDS
    if args.smoke:
        args.requests, burst_seconds = 50, 60

    import numpy as np
    import soundfile as sf

    import sk_cry
    from sk_cry import runtime
    from sk_cry.datasets import make_cries

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        X, y = make_cries(60, duration=6.0, random_state=0)
        paths = []
        for i, x in enumerate(X):
            paths.append(tmp / f"clip_{i:02d}.wav")
            sf.write(paths[-1], x, 16000, subtype="PCM_16")
        pipe = sk_cry.make_cnn_pipeline(epochs=2, random_state=0).fit(
            [str(p) for p in paths[:20]], y[:20])
        bundle = tmp / "cry.skcry-bundle"
        sk_cry.export(pipe, bundle)
        model = runtime.load(bundle)
        clips = paths[20:]
        bodies = [p.read_bytes() for p in clips]
        truth = [model.predict_windows([p])[0].probabilities for p in clips]
        # a maximum-size upload: the clips end to end, then again, to the limit
        signal = np.resize(np.concatenate(X), 16000 * burst_seconds)
        long_wav = tmp / "long.wav"
        sf.write(long_wav, signal, 16000, subtype="PCM_16")
        big = long_wav.read_bytes()
        hour = tmp / "hour.flac"
        sf.write(hour, np.zeros(16000 * 3600, np.float32), 16000)
        hour_kb = hour.stat().st_size / 1e3
        t = time.perf_counter()
        model.predict_windows([hour])
        hour_in_process = time.perf_counter() - t

        in_process = []
        for _ in range(min(args.requests, 200)):
            t = time.perf_counter()
            model.predict_windows([clips[0]])
            in_process.append(time.perf_counter() - t)

        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "sk_cry", "serve", str(bundle),
                                   "--port", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        try:
            for _ in range(200):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/health")
                    c.getresponse().read()
                    break
                except OSError:
                    time.sleep(0.05)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            worst = 0.0
            for k in range(10):  # warm-up, and the answers checked
                status, body = _post(connection, bodies[k % len(bodies)])
            latency = []
            for k in range(args.requests):
                t = time.perf_counter()
                status, body = _post(connection, bodies[0])
                latency.append(time.perf_counter() - t)
                assert status == 200
            worst = max(worst, max(abs(body["probabilities"][n] - truth[0][n])
                                   for n in truth[0]))

            done, errors = [0] * args.clients, []

            def client(index):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                nonlocal worst
                for k in range(index, args.requests, args.clients):
                    j = k % len(bodies)
                    status, body = _post(conn, bodies[j])
                    if status != 200:
                        errors.append(status)
                        continue
                    worst = max(worst, max(abs(body["probabilities"][n] - truth[j][n])
                                           for n in truth[j]))
                    done[index] += 1

            threads = [threading.Thread(target=client, args=(i,))
                       for i in range(args.clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start

            rss_before = _rss_mb(server.pid, "VmRSS")
            clear = Path(f"/proc/{server.pid}/clear_refs")
            if clear.exists():
                clear.write_text("5")  # resets VmHWM to the current RSS
            burst, burst_s = _burst(port, big, args.burst)
            rss_peak = _rss_mb(server.pid, "VmHWM")
            refusals = []
            # a new connection: the server closes one idle for 5 s (keep-alive)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(20):
                t = time.perf_counter()
                status, body = _post(connection, hour.read_bytes())
                refusals.append(time.perf_counter() - t)
                assert status == 413, body
        finally:
            server.terminate()
            server.wait(timeout=10)

    import ai_edge_litert
    import starlette
    import uvicorn

    ms = np.asarray(latency) * 1000
    local = np.asarray(in_process) * 1000
    print(f"# serve: {time.strftime('%Y-%m-%d')}, {platform.machine()} "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, starlette "
          f"{starlette.__version__}, uvicorn {uvicorn.__version__}, ai-edge-litert "
          f"{ai_edge_litert.__version__}\n")
    print("| one 6-s WAV | median (ms) | p99 (ms) |")
    print("|---|---|---|")
    print(f"| runtime in process (`predict_windows`) | {np.median(local):.2f} | "
          f"{np.percentile(local, 99):.2f} |")
    print(f"| `POST /predict` on loopback, {args.requests} requests | "
          f"{np.median(ms):.2f} | {np.percentile(ms, 99):.2f} |")
    print(f"\nHTTP adds {np.median(ms) - np.median(local):.2f} ms to the median "
          f"({np.median(ms) / np.median(local):.2f}x the in-process time); "
          f"{args.clients} concurrent clients: {sum(done) / seconds:.0f} requests/s, "
          f"{len(errors)} errors; largest |difference| from the runtime's own "
          f"probabilities over {sum(done) + args.requests} answers: {worst:.1e}")

    def mb(value):
        return "n/a" if value is None else f"{value:.0f}"

    refuse = np.median(refusals) * 1000
    print("\n| limits (defaults: 20 MB, 600 s of audio, 2 decoded at once) | |")
    print("|---|---|")
    print(f"| server RSS before the burst (MB) | {mb(rss_before)} |")
    print(f"| peak RSS, {args.burst} concurrent {burst_seconds}-s WAV uploads of "
          f"{len(big) / 1e6:.1f} MB (MB) | {mb(rss_peak)} |")
    print("| their answers, wall time | "
          + ", ".join(f"{burst.count(c)} x {c}" for c in sorted(set(burst)))
          + f", {burst_s:.1f} s |")
    print(f"| 413 to an hour of silence in a {hour_kb:.0f}-KB FLAC, "
          f"median of 20 (ms) | {refuse:.1f} |")
    print(f"| reference: `predict_windows` decoding it in process (ms) | "
          f"{hour_in_process * 1000:.0f} |")
    print(f"\nthe hour is refused in {refuse / 1000 / hour_in_process:.3f}x the time "
          "decoding it took")


if __name__ == "__main__":
    main()
