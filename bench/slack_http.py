"""2,000 signed `/paper N SECTION` requests to `digestbot serve` on loopback, 50 in flight; prints JSON.

Measures the HTTP ack (what Slack's 3 s limit is about; target p99 < 100 ms) and the time until the
respond() call reaches the fake Slack's response_url. Run: .venv/bin/python bench/slack_http.py [--requests N]

Three processes, so that each clock reads what it claims to:
- `digestbot serve`, the system under test;
- the fake Slack (this file with --fake-slack), which only receives the respond() calls and notes when each
  arrived (time.monotonic(): CLOCK_MONOTONIC is one clock for every process on Linux, so its stamps compare
  with the send times taken here);
- the load generator (this process): 50 workers on one aiohttp session with 50 keep-alive connections, every
  body signed before the clock starts. An ack is timed from just before the request is written to the end of
  the response body.

The first version ran the fake Slack in a thread of the load generator and drove the load with httpx: the
fake's uvicorn and the generator then shared one GIL, and httpx's connection pool alone (its per-request
scan of every connection, `has_expired`/`is_idle`) kept the generator's loop busy, so an ack that the server
had already written waited in the generator's queue before it was timed. That version measured the bench as
much as the server (py-spy: the generator process at 100 % of a core, over half of it in httpcore's pool).

Before the measured 2,000, one wave of --warmup requests (default 50, one per connection) is sent and
answered: the first request of a fresh server makes bolt's auth.test call and warms every code path, which
a deployed server did long before the morning. `--warmup 0` measures a cold start.

A fourth process serves a bare ASGI app (200 and two bytes, whatever the request) under the same uvicorn settings
as `digestbot serve`. The measured requests alternate between the two in rounds (--rounds, default 10) with the
same bodies and the same load, so a noisy moment of this shared machine hits both alike; `vs_bare` is the ratio
of `digestbot serve`'s ack latency to the bare app's: what bolt, the signature check and our listener add.
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

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.slack_support import SECRET, command_body, signed_headers

SECTIONS = ["risks", "actions", "dev", "points", "abstract", "links", "summary", "tags"]
ARRIVALS = "/_bench/arrivals"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def serve_fake_slack(port: int) -> None:
    """The fake Slack alone in this process, plus GET /_bench/arrivals: {response hook: monotonic arrival}."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    fake = FakeSlack()
    fake.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]

    async def arrivals(request: Request) -> JSONResponse:
        return JSONResponse(
            {c.path.rsplit("/", 1)[1]: c.at for c in list(fake.calls) if c.path.startswith("/response/")}
        )

    fake.app.router.routes.append(Route(ARRIVALS, arrivals))
    uvicorn.run(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)


def serve_bare_app(port: int) -> None:
    """The yardstick: the smallest ASGI app, under uvicorn exactly as `digestbot serve` runs it."""
    import uvicorn

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")


def wait_for_answers(fake: FakeSlack, hooks: set[str], timeout_s: float = 60.0) -> dict[str, float]:
    """The fake's arrival times once every one of `hooks` has been answered (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    arrived: dict[str, float] = {}
    while not hooks <= arrived.keys() and time.monotonic() < deadline:
        time.sleep(0.1)
        arrived = httpx.get(fake.url + ARRIVALS).json()  # type: ignore[attr-defined]
    return arrived


def wait_until_up(url: str, what: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


async def fire(url: str, fake: FakeSlack, total: int, in_flight: int) -> tuple[list[float], dict[str, float], float]:
    requests: list[tuple[str, str, dict[str, str]]] = []
    for n in range(total):
        body = command_body("/paper", f"{n % 5 + 1} {SECTIONS[n % len(SECTIONS)]}", fake)
        hook = body.split("response%2F", 1)[1].split("&", 1)[0]
        headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(SECRET, body)}
        requests.append((hook, body, headers))
    pending = iter(requests)
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            for hook, body, headers in pending:  # one shared iterator: each request is sent once
                start = time.monotonic()
                sent_at[hook] = start
                async with session.post(f"{url}/slack/events", data=body, headers=headers) as response:
                    text = await response.text()
                acks.append(time.monotonic() - start)
                if response.status != 200:
                    raise RuntimeError(f"ack {response.status}: {text[:200]}")

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.monotonic() - began
    return acks, sent_at, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=50, help="requests sent and answered before measuring")
    parser.add_argument("--rounds", type=int, default=10, help="alternations between serve and the bare app")
    parser.add_argument("--fake-slack", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--bare-app", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.fake_slack:
        serve_fake_slack(args.fake_slack)
        return
    if args.bare_app:
        serve_bare_app(args.bare_app)
        return
    digestbot = str(Path(sys.executable).with_name("digestbot"))
    fake = FakeSlack()  # here only to make the response_url of each request; it serves in its own process
    fake_port = free_port()
    fake.url = f"http://127.0.0.1:{fake_port}"  # type: ignore[attr-defined]
    fake_server = subprocess.Popen([sys.executable, __file__, "--fake-slack", str(fake_port)])
    bare_port = free_port()
    bare_server = subprocess.Popen([sys.executable, __file__, "--bare-app", str(bare_port)])
    with tempfile.TemporaryDirectory() as tmp:
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
            wait_until_up(fake.url + ARRIVALS, "the fake Slack")  # type: ignore[attr-defined]
            wait_until_up(f"{url}/healthz", "digestbot serve")
            bare_url = f"http://127.0.0.1:{bare_port}"
            wait_until_up(bare_url, "the bare app")
            if args.warmup:
                # One wave over fresh connections first, answered before the clock starts: a deployed server
                # has made its first auth.test and warmed its code paths long before the morning's commands.
                _, warm_sent, _ = asyncio.run(fire(url, fake, args.warmup, min(args.in_flight, args.warmup)))
                wait_for_answers(fake, set(warm_sent))
                asyncio.run(fire(bare_url, fake, args.warmup, min(args.in_flight, args.warmup)))
            acks, bare_acks, sent_at, elapsed = [], [], {}, 0.0
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                round_acks, round_sent, round_s = asyncio.run(fire(url, fake, per_round, args.in_flight))
                acks += round_acks
                sent_at |= round_sent
                elapsed += round_s
                bare_acks += asyncio.run(fire(bare_url, fake, per_round, args.in_flight))[0]
            arrived = wait_for_answers(fake, set(sent_at))
        finally:
            for child in (server, fake_server, bare_server):
                child.terminate()
                child.wait(timeout=10)
    to_respond = [arrived[h] - sent_at[h] for h in sent_at if h in arrived]
    print(
        json.dumps(
            {
                "bench": "slack_http",
                "requests": len(acks),
                "in_flight": args.in_flight,
                "rounds": args.rounds,
                "throughput_rps": round(len(acks) / elapsed, 1),
                "ack_ms": {"p50": pct(acks, 0.50), "p99": pct(acks, 0.99), "max": round(max(acks) * 1000, 2)},
                "respond_ms": {
                    "received": len(to_respond),
                    "p50": pct(to_respond, 0.50) if to_respond else None,
                    "p99": pct(to_respond, 0.99) if to_respond else None,
                },
                "ack_p99_under_100ms": pct(acks, 0.99) < 100,
                "mean_ack_ms": round(statistics.mean(acks) * 1000, 2),
                "bare_app_ack_ms": {
                    "p50": pct(bare_acks, 0.50),
                    "p99": pct(bare_acks, 0.99),
                    "mean": round(statistics.mean(bare_acks) * 1000, 2),
                },
                "vs_bare": {
                    "p50_ratio": round(pct(acks, 0.50) / pct(bare_acks, 0.50), 2),
                    "p99_ratio": round(pct(acks, 0.99) / pct(bare_acks, 0.99), 2),
                    "mean_ratio": round(statistics.mean(acks) / statistics.mean(bare_acks), 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
