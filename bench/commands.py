"""Latency of "/paper N SECTION" answered from a warm Redis store, next to a bare Redis GET in the same run.

    .venv/bin/python bench/commands.py [--calls 10000] [--redis-url redis://127.0.0.1:6379/0]

Without --redis-url (or REDIS_URL) it starts a private redis-server on loopback. Prints one JSON object.
Target: answer p99 <= 3 x the bare GET's p99 (the p50 and mean ratios are reported beside it). Both loops run
in-process on one asyncio loop and one client configuration, interleaved in rounds so a noisy moment hits both
alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.commands.engine import answer
from digest import pipeline
from digest.settings import Settings
from digest.store.redis import RedisStore
from tests.redis_server import PrivateRedis

DAY, TODAY = date(2026, 2, 13), date(2026, 2, 14)
SECTIONS = ("risks", "actions", "dev", "summary", "points", "리스크", "links", "all")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float]:
    us = [s * 1e6 for s in samples]
    return {
        "p50_us": round(pct(us, 0.50), 1),
        "p99_us": round(pct(us, 0.99), 1),
        "mean_us": round(statistics.fmean(us), 1),
    }


async def bench(url: str, calls: int) -> dict[str, object]:
    prefix = f"bench-{os.getpid()}"
    store = RedisStore(url, prefix=prefix)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(DIGEST_DATA_DIR=Path(tmp))  # type: ignore[call-arg]
        await pipeline.build(settings, store, DAY, source="sample")
    raw = store._r  # the same client and pool the store uses: the bare GET gets every advantage the store has
    bare_key = store._key("bench-key")
    await raw.set(bare_key, "x" * 64)
    texts = [f"/paper {1 + i % 5} {SECTIONS[i % len(SECTIONS)]}" for i in range(calls)]
    for text in texts[:500]:  # warm: parse cache, script SHA, connections
        await answer(text, store, today=TODAY)
        await raw.get(bare_key)

    get_s: list[float] = []
    answer_s: list[float] = []
    kinds: set[str] = set()
    clock = time.perf_counter
    for start in range(0, calls, 1000):  # interleave rounds of each
        for _ in texts[start : start + 1000]:
            t0 = clock()
            await raw.get(bare_key)
            get_s.append(clock() - t0)
        for text in texts[start : start + 1000]:
            t0 = clock()
            reply = await answer(text, store, today=TODAY)
            answer_s.append(clock() - t0)
            kinds.add(reply.kind)

    keys = [k async for k in raw.scan_iter(match=f"{prefix}:*")]
    if keys:
        await raw.delete(*keys)
    await store.close()
    get, ans = summary(get_s), summary(answer_s)
    return {
        "bench": "commands",
        "calls": calls,
        "command": "/paper N SECTION (N 1-5, 8 sections), warm store",
        "reply_kinds": sorted(kinds),
        "redis_get": get,
        "answer": ans,
        "p50_ratio": round(ans["p50_us"] / get["p50_us"], 2),
        "mean_ratio": round(ans["mean_us"] / get["mean_us"], 2),
        "p99_ratio": round(ans["p99_us"] / get["p99_us"], 2),
        "target_p99_ratio": 3.0,
        "met": ans["p99_us"] <= 3.0 * get["p99_us"],
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args()
    server = None
    url = args.redis_url
    if not url:
        server = PrivateRedis()
        server.start()
        url = server.url
    try:
        print(json.dumps(asyncio.run(bench(url, args.calls)), ensure_ascii=False))
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
