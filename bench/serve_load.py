"""Archive pages under load: 4,500 requests to `/d/<date>` and `/` of a `digestbot serve` on loopback, 500 in
flight, each on a new connection (as 500 browsers arriving at once would); prints JSON.

    .venv/bin/python bench/serve_load.py [--requests 4500] [--in-flight 500] [--redis]

Counts every request that did not get a complete 200 (connection refused or reset, timeout, a 5xx) by kind:
the target is 0. Embedded store by default (`--redis` starts a private redis-server and serves from it).
The load generator is a process of its own (this one), the server another, so neither measures the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redis_server import PrivateRedis  # noqa: E402

DAYS = ("2026-02-13", "2026-02-10", "2026-01-08")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


async def fire(url: str, total: int, in_flight: int, timeout_s: float, keep_alive: bool) -> dict[str, object]:
    paths = [f"/d/{DAYS[n % len(DAYS)]}" if n % 3 else "/" for n in range(total)]
    pending = iter(paths)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    # A new connection per request: what the accept queue and the server's connection handling must absorb.
    connector = aiohttp.TCPConnector(limit=in_flight, force_close=not keep_alive)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for path in pending:
                start = time.monotonic()
                try:
                    async with session.get(url + path) as response:
                        await response.read()
                        statuses[response.status] += 1
                        if response.status != 200:
                            errors[f"http {response.status}"] += 1
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.monotonic() - start)

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.monotonic() - began
    return {
        "requests": total,
        "in_flight": in_flight,
        "ok": statuses[200],
        "failed": sum(errors.values()),
        "errors": dict(errors),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 2),
        "requests_per_s": round(total / elapsed, 1),
        "latency_ms": {"p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99), "max": pct(latencies, 1.0)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4500)
    parser.add_argument("--in-flight", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--redis", action="store_true", help="serve from a private redis-server")
    parser.add_argument("--keep-alive", action="store_true", help="reuse connections instead of one per request")
    args = parser.parse_args()
    digestbot = str(Path(sys.executable).with_name("digestbot"))
    redis = PrivateRedis() if args.redis else None
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "REDIS_", "SLACK_", "TELEGRAM_"))}
        env |= {
            "DIGEST_CONFIG": str(ROOT / "tests/data/empty-settings.toml"),
            "DIGEST_DATA_DIR": tmp,
            "DIGEST_ARXIV_WEB_BASE_URL": "http://127.0.0.1:9",  # no full text: the pages are what is measured
            "DIGEST_HTTP_RETRIES": "0",
        }
        if redis is not None:
            redis.start()
            env["REDIS_URL"] = redis.url
        for day in DAYS:
            for lang in ("ko", "en"):
                cmd = [digestbot, "build", "--date", day, "--source", "sample", "--lang", lang, "--no-llm"]
                subprocess.run(cmd, env=env, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(
            [digestbot, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(url + "/healthz")
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("digestbot serve did not start") from None
                    time.sleep(0.05)
            result = asyncio.run(fire(url, args.requests, args.in_flight, args.timeout, args.keep_alive))
        finally:
            server.terminate()
            server.wait(timeout=15)
            if redis is not None:
                redis.close()
    result = {
        "bench": "serve_load",
        "store": "redis" if args.redis else "sqlite",
        "connections": "keep-alive" if args.keep_alive else "one per request",
        **result,
    }
    result["zero_failed"] = result["failed"] == 0
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["zero_failed"] else 1)


if __name__ == "__main__":
    main()
