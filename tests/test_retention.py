"""Bounded state: forty mornings of the real scheduler tick (build, fan-out, plan, prune) on every backend, and the
store holds the last thirty days of ledger rows and nothing older; once-keys go with their own expiry.

The store's clock steps through the mornings; Redis expires keys by its own clock, so the mornings are the forty
days up to now, and a morning older than the retention is already past its expiry when Redis looks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.worker import Worker
from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Store, Subscription
from digest.store.redis import RedisStore
from digest.store.sqlite import SqliteStore
from tests.test_delivery import RecordingPoster
from tests.test_store_contract import SteppedClock

MORNINGS = 40
RETENTION_DAYS = 30
CHATS = ("1", "2", "3")


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Store, SteppedClock]]:
    clock = SteppedClock(datetime.now(UTC))
    if request.param == "sqlite":
        store: Store = SqliteStore(tmp_path / "store.sqlite3", retention_days=RETENTION_DAYS, clock=clock)
    else:
        cluster = request.param == "redis-cluster"
        url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        store = RedisStore(url, prefix=prefix, cluster=cluster, retention_days=RETENTION_DAYS, clock=clock)
    yield request.param, store, clock
    await store.close()


async def redis_keys(store: RedisStore) -> list[str]:
    return [key async for key in store._r.scan_iter(match=f"{store.prefix}:*", count=1000)]


async def test_forty_mornings_leave_thirty_days_of_ledger(
    backend: tuple[str, Store, SteppedClock], make_settings: Callable[..., Settings]
) -> None:
    name, store, clock = backend
    now = clock.now
    posted_at = now - timedelta(minutes=5)  # every morning's post time passed five minutes before its tick
    settings = make_settings(
        timezone="UTC",
        post_time=posted_at.time().replace(second=0, microsecond=0),
        retention_days=RETENTION_DAYS,
        delivery_backoff_s=0.0,
        telegram_posts_per_s=1000.0,
    )
    sample: list[Digest] = []

    async def builder(day: date, lang: Any) -> Digest:
        if not sample:
            sample.append((await pipeline.build(settings, store, date(2026, 2, 13), source="sample")).digest)
        digest = sample[0].model_copy(update={"date": day, "lang": lang})
        await store.save_digest(digest)
        return digest

    for chat in CHATS:
        await store.put_subscription(Subscription(platform="telegram", chat_id=chat))
    poster = RecordingPoster()
    worker = Worker(settings, store, {"telegram": poster}, builder=builder, clock=lambda: clock.now)
    mornings = [now - timedelta(days=MORNINGS - 1 - m) for m in range(MORNINGS)]
    days = []
    for morning in mornings:
        clock.now = morning
        report = await worker.tick()
        assert report is not None and report.results["sent"] == len(CHATS), report
        days.append(report.day)
        assert await store.first_time(f"slack:event:{morning.isoformat()}", 3600)  # a retried event's marker
    assert len(poster.posts) == MORNINGS * len(CHATS)  # every morning served every chat, once

    kept = [day for day in days if await store.list_deliveries(day)]
    assert kept == days[-RETENTION_DAYS:]  # the last thirty mornings, nothing older
    for day in days[:-RETENTION_DAYS]:
        assert (await store.delivery_counts(day)).rows == {}
    assert (await store.delivery_counts(days[-1])).rows == {("telegram", "sent"): len(CHATS)}
    figures: dict[str, Any] = {"backend": name, "mornings": MORNINGS, "days_with_rows": len(kept)}
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:
            for table in ("deliveries", "delivery_counts", "delivery_last", "locks"):
                figures[f"{table}_rows"] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        assert figures["deliveries_rows"] == RETENTION_DAYS * len(CHATS)
        assert figures["locks_rows"] <= 2  # this morning's event marker (and at most the leader lock)
    else:
        assert isinstance(store, RedisStore)
        keys = await redis_keys(store)
        ledger = [k for k in keys if ":{day:" in k]
        figures |= {"ledger_keys": len(ledger), "once_keys": sum(":once:" in k for k in keys), "keys": len(keys)}
        # per day: one row per chat, the day's chats and its counts
        assert len(ledger) == RETENTION_DAYS * (len(CHATS) + 2)
        assert figures["once_keys"] <= 1
    print("retention:", json.dumps(figures))
