"""/healthz, /metrics and a static file of `digestbot serve` at 0, 1,000 and 10,000 ledger rows, on both stores;
prints JSON.

    .venv/bin/python bench/health.py [--rows 0,1000,10000] [--requests 300]

For each store and ledger size: a fresh server (its own process: the app of `digestbot serve` under uvicorn, as
`serve` runs it) over a store holding this morning's digest and that many ledger rows of this morning (every one
sent). Then, on keep-alive connections:
- each endpoint alone, one request at a time: p50/p99/max;
- the static file while another connection asks /healthz and /metrics back to back: its latency shows whether a
  health request holds up the requests behind it (a Slack ack waits the same way).
The server also watches its own event loop: a task that sleeps 5 ms and notes how late it wakes
("loop_late_max_ms": anything that kept the loop to itself, but also the OS running other processes on a shared
machine) and how much CPU the loop's thread used meanwhile ("loop_busy_max_ms": an upper bound of the longest
callback, whatever else the machine runs, since a descheduled thread uses no CPU).
Targets: flat across ledger sizes; no request blocks the loop for more than 20 ms (loop_busy_max_ms < 20).
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
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import scheduler  # noqa: E402
from digest import pipeline  # noqa: E402
from digest.settings import Settings  # noqa: E402
from digest.store import open_store  # noqa: E402
from tests.redis_server import PrivateRedis  # noqa: E402

STATIC = "/static/archive.css"
LAG = "/_bench/loop-lag"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": ms(values, 0.5), "p99": ms(values, 0.99), "max": ms(values, 1.0)}


async def fill(env: dict[str, str], rows: int) -> None:
    """This morning's digest and `rows` ledger rows of this morning, each claimed and sent, as a fan-out leaves them."""
    settings = Settings(  # type: ignore[call-arg]
        DIGEST_DATA_DIR=env["DIGEST_DATA_DIR"],
        DIGEST_KEY_PREFIX=env["DIGEST_KEY_PREFIX"],
        REDIS_URL=env.get("REDIS_URL"),
        DIGEST_ARXIV_WEB_BASE_URL=env["DIGEST_ARXIV_WEB_BASE_URL"],
        DIGEST_HTTP_RETRIES=0,
    )
    store = open_store(settings)
    try:
        today = scheduler.edition_day(datetime.now(UTC), settings)
        built = await pipeline.build(settings, store, today, source="sample")
        assert built.digest.date == today
        sem = asyncio.Semaphore(64)

        async def one(n: int) -> None:
            async with sem:
                platform, chat = ("slack", f"C{n:06d}") if n % 2 else ("telegram", str(100_000 + n))
                await store.claim_delivery(platform, chat, today, "bench", 300)
                await store.mark_sent(platform, chat, today, "bench", f"m{n}")

        await asyncio.gather(*(one(n) for n in range(rows)))
    finally:
        await store.close()


async def measure(url: str, requests: int) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:

        async def timed(path: str) -> float:
            start = time.perf_counter()
            async with session.get(url + path) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status}")
            return time.perf_counter() - start

        async def lag() -> dict[str, float]:
            async with session.get(url + LAG) as response:
                return dict(await response.json())

        for path in ("/healthz", "/metrics", STATIC):  # warm: connections, the digest's parse, templates
            for _ in range(5):
                await timed(path)
        await lag()  # starts the server's loop monitor
        alone = {path: [await timed(path) for _ in range(requests)] for path in ("/healthz", "/metrics", STATIC)}
        lag_alone = await lag()
        busy = True

        async def hammer() -> int:
            count = 0
            while busy:
                await timed("/healthz" if count % 2 == 0 else "/metrics")
                count += 1
            return count

        other = asyncio.create_task(hammer())
        beside = []
        for _ in range(requests):
            beside.append(await timed(STATIC))
            await asyncio.sleep(0.002)  # let the other connection's requests in between
        busy = False
        health_requests = await other
        lag_beside = await lag()
    return {
        "healthz_ms": summary(alone["/healthz"]),
        "metrics_ms": summary(alone["/metrics"]),
        "static_ms": summary(alone[STATIC]),
        "static_beside_health_ms": summary(beside),
        "health_requests_meanwhile": health_requests,
        "loop_late_max_ms": max(lag_alone["late_ms"], lag_beside["late_ms"]),
        "loop_busy_max_ms": max(lag_alone["busy_ms"], lag_beside["busy_ms"]),
    }


def serve_with_lag_monitor(port: int) -> None:
    """The child process: the app `digestbot serve` runs, plus a route that reports the loop's worst lateness."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bot.web import create_app
    from digest.settings import load_settings

    settings = load_settings()
    app = create_app(settings, open_store(settings))
    worst = {"late_ms": 0.0, "busy_ms": 0.0}
    monitor: list[asyncio.Task[None]] = []

    async def watch() -> None:
        while True:
            wall, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.005)
            worst["late_ms"] = max(worst["late_ms"], (time.perf_counter() - wall - 0.005) * 1000)
            worst["busy_ms"] = max(worst["busy_ms"], (time.thread_time() - cpu) * 1000)

    async def loop_lag(request: Request) -> JSONResponse:
        if not monitor:
            monitor.append(asyncio.create_task(watch()))
        body = {k: round(v, 2) for k, v in worst.items()}
        worst.update(late_ms=0.0, busy_ms=0.0)
        return JSONResponse(body)

    app.router.routes.append(Route(LAG, loop_lag))
    import gc

    gc.collect()  # as `digestbot serve` does before it listens
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def run_case(backend: str, rows: int, requests: int, redis_url: str | None, tmp: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "REDIS_", "SLACK_", "TELEGRAM_"))}
    env |= {
        "DIGEST_CONFIG": str(ROOT / "tests/data/empty-settings.toml"),
        "DIGEST_DATA_DIR": str(tmp / f"{backend}-{rows}"),
        "DIGEST_KEY_PREFIX": f"bench-health-{os.getpid()}-{rows}",
        "DIGEST_ARXIV_WEB_BASE_URL": "http://127.0.0.1:9",
        "DIGEST_HTTP_RETRIES": "0",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    started = time.monotonic()
    asyncio.run(fill(env, rows))
    filled_s = time.monotonic() - started
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/healthz").json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("digestbot serve did not start") from None
                time.sleep(0.05)
        assert health["deliveries"].get("sent", 0) == rows, health
        result = asyncio.run(measure(url, requests))
    finally:
        server.terminate()
        server.wait(timeout=15)
    return {"store": backend, "ledger_rows": rows, "fill_s": round(filled_s, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="0,1000,10000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        serve_with_lag_monitor(args.serve)
        return
    sizes = [int(n) for n in args.rows.split(",")]
    cases = []
    redis = PrivateRedis()
    redis.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in args.stores.split(","):
                for rows in sizes:
                    url = redis.url if backend == "redis" else None
                    cases.append(run_case(backend, rows, args.requests, url, Path(tmp)))
    finally:
        redis.close()
    worst_busy = max(c["loop_busy_max_ms"] for c in cases)  # type: ignore[type-var]
    worst_health = max(max(c["healthz_ms"]["p99"], c["metrics_ms"]["p99"]) for c in cases)  # type: ignore[index]
    print(
        json.dumps(
            {
                "bench": "health",
                "requests_per_measure": args.requests,
                "cases": cases,
                "worst_health_or_metrics_p99_ms": worst_health,
                "worst_loop_busy_ms": worst_busy,
                "loop_busy_under_20ms": worst_busy < 20,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
