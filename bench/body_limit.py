"""Oversized request bodies against `digestbot serve`: the server's peak memory, its log, and /healthz meanwhile.

Sends --floods badly signed 10 MB bodies (Content-Length declared) to /slack/events, then one 100 MB chunked body to
/slack/events and one to /telegram/webhook, each client writing its whole body as fast as the server takes it,
while /healthz is asked every 50 ms. Prints JSON: the statuses, the server's peak RSS (VmHWM from /proc, the
same figure `/usr/bin/time -v` reports as "Maximum resident set size") before and after, the bytes the
server logged, and /healthz's p50/max time.

Run: .venv/bin/python bench/body_limit.py [--floods 44]   (Linux: reads /proc/PID/status)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.slack import BOT_TOKEN
from tests.fakes.telegram import TOKEN
from tests.slack_support import SECRET as SLACK_SECRET
from tests.telegram_support import SECRET as TELEGRAM_SECRET

MB = 1_000_000
PIECE = b"text=" + b"x" * (65536 - 5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc (not Linux?)")


def body(total: int, chunked: bool) -> Iterator[bytes]:
    """Exactly `total` bytes of payload, in 64 KB pieces (chunks when `chunked`)."""
    left = total
    while left:
        piece = PIECE[:left]
        left -= len(piece)
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


def flood(port: int, path: str, total: int, *, chunked: bool) -> tuple[int, int]:
    """POST `total` bytes the way a flooding client does (writing on while the answer comes): (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    # A forged signature with a current timestamp: the request is refused only once its body has been checked.
    forged = f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
    kind = "application/x-www-form-urlencoded" if path.startswith("/slack") else "application/json"
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {kind}\r\n{forged}{framing}\r\n\r\n"
    sock.sendall(head.encode())
    sent = 0

    def write() -> None:
        nonlocal sent
        try:
            for piece in body(total, chunked):
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass

    writer = threading.Thread(target=write)
    writer.start()
    response = b""
    while b"\r\n" not in response:
        data = sock.recv(4096)
        if not data:
            break
        response += data
    writer.join()  # the client goes on writing: the server discards what follows its answer
    sock.close()
    return int(response.split(b" ", 2)[1]), sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--floods", type=int, default=44, help="badly signed 10 MB bodies to /slack/events")
    args = parser.parse_args()
    digestbot = str(Path(sys.executable).with_name("digestbot"))
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "DIGEST_CONFIG": str(Path(__file__).resolve().parents[1] / "tests/data/empty-settings.toml"),
            "DIGEST_DATA_DIR": tmp,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_BASE_URL": "http://127.0.0.1:9/api/",  # never called: nothing here is signed
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        }
        env.pop("REDIS_URL", None)
        port = free_port()
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [digestbot, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=log
            )
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        httpx.get(url + "/healthz")
                        break
                    except httpx.HTTPError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                rss_before = peak_rss_mb(server.pid)
                health_s: list[float] = []
                done = threading.Event()

                def watch() -> None:
                    with httpx.Client(base_url=url, timeout=30) as client:
                        while not done.is_set():
                            start = time.monotonic()
                            client.get("/healthz")
                            health_s.append(time.monotonic() - start)
                            time.sleep(0.05)

                watcher = threading.Thread(target=watch)
                watcher.start()
                began = time.monotonic()
                declared = [flood(port, "/slack/events", 10 * MB, chunked=False) for _ in range(args.floods)]
                streamed = [
                    flood(port, path, 100 * MB, chunked=True) for path in ("/slack/events", "/telegram/webhook")
                ]
                took = time.monotonic() - began
                done.set()
                watcher.join()
                rss_after = peak_rss_mb(server.pid)
            finally:
                server.terminate()
                server.wait(timeout=60)
        logged = log_path.read_bytes()
    print(
        json.dumps(
            {
                "bench": "body_limit",
                "declared_10mb_bodies": {
                    "count": len(declared),
                    "statuses": sorted({status for status, _ in declared}),
                    "client_sent_mb": round(sum(sent for _, sent in declared) / MB, 1),
                },
                "chunked_100mb_bodies": [
                    {"path": path, "status": status, "client_sent_mb": round(sent / MB, 1)}
                    for path, (status, sent) in zip(("/slack/events", "/telegram/webhook"), streamed, strict=True)
                ],
                "seconds": round(took, 1),
                "server_peak_rss_mb": {"before": rss_before, "after": rss_after},
                "server_log_bytes": len(logged),
                "server_log_lines": logged.count(b"\n"),
                "body_in_log": b"xxxxxxxxxxxxxxxx" in logged,
                "healthz_ms": {
                    "samples": len(health_s),
                    "p50": round(statistics.median(health_s) * 1000, 1),
                    "max": round(max(health_s) * 1000, 1),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
