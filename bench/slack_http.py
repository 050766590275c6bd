"""2,000 signed `/paper N SECTION` requests to `digestbot serve` on loopback, 50 in flight; prints JSON.

Measures the HTTP ack (what Slack's 3 s limit is about; target p99 < 100 ms) and the time until the
respond() call reaches the fake Slack's response_url. Run: .venv/bin/python bench/slack_http.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.base import ServerThread
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_support import SECRET, command_body, signed_headers

SECTIONS = ["risks", "actions", "dev", "points", "abstract", "links", "summary", "tags"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def fire(url: str, fake: FakeSlack, total: int, in_flight: int) -> tuple[list[float], dict[str, float], float]:
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    gate = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(n: int) -> None:
            body = command_body("/paper", f"{n % 5 + 1} {SECTIONS[n % len(SECTIONS)]}", fake)
            hook = body.split("response%2F", 1)[1].split("&", 1)[0]
            headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(SECRET, body)}
            async with gate:
                start = time.monotonic()
                sent_at[hook] = start
                response = await client.post(f"{url}/slack/events", content=body, headers=headers)
                acks.append(time.monotonic() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"ack {response.status_code}: {response.text[:200]}")

        began = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(total)))
        elapsed = time.monotonic() - began
    return acks, sent_at, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=50)
    args = parser.parse_args()
    digestbot = str(Path(sys.executable).with_name("digestbot"))
    fake = FakeSlack()
    with tempfile.TemporaryDirectory() as tmp, ServerThread(fake.app) as fake_server:
        fake.url = fake_server.url  # type: ignore[attr-defined]
        env = os.environ | {
            "DIGEST_CONFIG": str(Path(__file__).resolve().parents[1] / "tests/data/empty-settings.toml"),
            "DIGEST_DATA_DIR": tmp,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_BASE_URL": fake.api_url,
        }
        env.pop("REDIS_URL", None)
        subprocess.run(
            [digestbot, "build", "--date", "2026-02-13", "--source", "sample"], env=env, check=True, capture_output=True
        )
        port = free_port()
        server = subprocess.Popen(
            [digestbot, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("digestbot serve did not start")
                time.sleep(0.05)
            acks, sent_at, elapsed = asyncio.run(fire(url, fake, args.requests, args.in_flight))
            deadline = time.monotonic() + 60  # the answers go out after the acks; wait for the last ones
            arrived: dict[str, float] = {}
            while len(arrived) < args.requests and time.monotonic() < deadline:
                time.sleep(0.1)
                arrived = {c.path.rsplit("/", 1)[1]: c.at for c in list(fake.calls) if c.path.startswith("/response/")}
        finally:
            server.terminate()
            server.wait(timeout=10)
    to_respond = [arrived[h] - sent_at[h] for h in sent_at if h in arrived]
    print(
        json.dumps(
            {
                "bench": "slack_http",
                "requests": args.requests,
                "in_flight": args.in_flight,
                "throughput_rps": round(args.requests / elapsed, 1),
                "ack_ms": {"p50": pct(acks, 0.50), "p99": pct(acks, 0.99), "max": round(max(acks) * 1000, 2)},
                "respond_ms": {
                    "received": len(to_respond),
                    "p50": pct(to_respond, 0.50) if to_respond else None,
                    "p99": pct(to_respond, 0.99) if to_respond else None,
                },
                "ack_p99_under_100ms": pct(acks, 0.99) < 100,
                "mean_ack_ms": round(statistics.mean(acks) * 1000, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
