"""The scheduler's tick at 10,000 subscriptions, on both stores; prints JSON.

    .venv/bin/python bench/scheduler.py [--subs 10000] [--due 100]

Each store holds `--subs` subscriptions posting at 08:00 KST (the default) except `--due` chats that post at
07:00, a built digest, and a tick at 07:05 KST that has planned every chat once already (the first tick after
an upgrade, or after the defaults change, plans all of them: reported as `first_tick_ms`). Measured:
- `idle_tick_ms`: a tick when nothing is due (the next 08:00 is further away than the build lead);
- `due_tick_ms`: a tick with the `--due` chats due, through a fan-out to a poster that answers at once, and
  `due_tick_overhead_ms`: that tick less the fan-out's own time (what the tick reads and writes around the
  posts: the index, the builds check, the plans); `fanout_start_ms`: reading the due chats' ledger rows;
- `scan_all_ms`: what a tick cost before the index, for comparison: read every subscription and compute every
  chat's slots (`list_subscriptions` + `scheduler.due`).
Target: a tick under 50 ms at 10,000 subscriptions, whatever the number of chats that are not due.
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
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import scheduler
from bot.worker import Worker
from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Store, Subscription
from digest.store.redis import RedisStore
from digest.store.sqlite import SqliteStore
from tests.redis_server import PrivateRedis

KST = ZoneInfo("Asia/Seoul")
DAY = date(2026, 2, 13)


class QuickPoster:
    async def post_digest(self, chat_id: str, digest: Digest, **_: Any) -> str:
        return f"m-{chat_id}"


def ms(seconds: list[float]) -> dict[str, float]:
    values = [s * 1000 for s in seconds]
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


async def bench(store: Store, settings: Settings, subs: int, due: int) -> dict[str, object]:
    digest = (await pipeline.build(settings, store, DAY, source="sample")).digest
    for n in range(subs):
        early = n < due
        await store.put_subscription(
            Subscription(platform="telegram", chat_id=str(n), post_time=time_of_day(7, 0) if early else None)
        )
    clock = [datetime.combine(DAY + timedelta(days=1), time_of_day(5, 0), KST).astimezone(UTC)]

    async def builder(day: date, lang: Any) -> Digest:
        return digest

    worker = Worker(settings, store, {"telegram": QuickPoster()}, builder=builder, clock=lambda: clock[0])
    started = time.perf_counter()
    await worker.tick()  # 05:00: every chat planned (nothing due yet)
    first = time.perf_counter() - started
    idle = []
    for _ in range(10):  # 05:10 .. 05:19: nothing due, nothing within the build lead
        clock[0] += timedelta(minutes=1)
        started = time.perf_counter()
        await worker.tick()
        idle.append(time.perf_counter() - started)
    clock[0] = datetime.combine(DAY + timedelta(days=1), time_of_day(7, 5), KST).astimezone(UTC)
    started = time.perf_counter()
    await store.deliveries_of(DAY, [("telegram", str(n)) for n in range(due)])
    fanout_start = time.perf_counter() - started
    started = time.perf_counter()
    report = await worker.tick()  # 07:05: the early chats are due
    due_tick = time.perf_counter() - started
    assert report is not None and report.results["sent"] == due, report and report.results
    after = []
    for _ in range(5):  # 07:06..: the early chats are served, the rest post at 08:00 (beyond the lead)
        clock[0] += timedelta(minutes=1)
        started = time.perf_counter()
        await worker.tick()
        after.append(time.perf_counter() - started)
    scan = []
    for _ in range(3):
        started = time.perf_counter()
        everyone = await store.list_subscriptions()
        scheduler.due(clock[0], everyone, settings)
        scan.append(time.perf_counter() - started)
    return {
        "subscriptions": subs,
        "due_chats": due,
        "first_tick_ms": round(first * 1000, 1),
        "idle_tick_ms": ms(idle),
        "due_tick_ms": round(due_tick * 1000, 1),
        "due_tick_overhead_ms": round((due_tick - report.seconds) * 1000, 1),
        "fanout_start_ms": round(fanout_start * 1000, 2),
        "tick_after_serving_ms": ms(after),
        "scan_all_ms": ms(scan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    redis = PrivateRedis()
    redis.start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                DIGEST_DATA_DIR=Path(tmp),
                DIGEST_ARXIV_WEB_BASE_URL="http://127.0.0.1:9",
                DIGEST_HTTP_RETRIES=0,
                sections={"telegram": {"posts_per_s": 10_000.0}},
            )

            async def one(store: Store) -> dict[str, object]:
                try:
                    return await bench(store, settings, args.subs, args.due)
                finally:
                    await store.close()

            sqlite = SqliteStore(Path(tmp) / "store.sqlite3")
            results.append({"store": "sqlite", **asyncio.run(one(sqlite))})
            redis_store = RedisStore(redis.url, prefix=f"bench-sched-{os.getpid()}")
            results.append({"store": "redis", **asyncio.run(one(redis_store))})
    finally:
        redis.close()
    worst = max(
        max(r["idle_tick_ms"]["max"], r["tick_after_serving_ms"]["max"], r["due_tick_overhead_ms"])  # type: ignore[index]
        for r in results
    )
    print(
        json.dumps(
            {"bench": "scheduler", "results": results, "worst_tick_ms": worst, "under_50ms": worst < 50}, indent=2
        )
    )


if __name__ == "__main__":
    main()
