"""/healthz and /metrics over real HTTP, on both backends: they report the ledger from the counts the store keeps
as rows change, and never read the rows (a store that refuses those reads serves them all the same)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot import scheduler
from bot.web import create_app
from digest.settings import Settings
from digest.store.base import Delivery, Store, Subscription
from digest.store.redis import RedisStore
from digest.store.sqlite import SqliteStore
from tests.fakes.base import ServerThread


class CountsOnlySqlite(SqliteStore):
    async def list_deliveries(self, day: date) -> list[Delivery]:
        raise AssertionError("read a whole day of the ledger")

    async def list_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        raise AssertionError("read every subscription")


class CountsOnlyRedis(RedisStore):
    async def list_deliveries(self, day: date) -> list[Delivery]:
        raise AssertionError("read a whole day of the ledger")

    async def list_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        raise AssertionError("read every subscription")


@pytest.fixture(params=["sqlite", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, make_settings: Callable[..., Settings]
) -> tuple[Callable[[], Store], Settings]:
    """A way to open the store (each event loop opens its own: the server runs on its own thread), and settings."""
    if request.param == "sqlite":
        return (lambda: CountsOnlySqlite(tmp_path / "store.sqlite3")), make_settings()
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return (lambda: CountsOnlyRedis(url, prefix=prefix)), make_settings(redis_url=url)


async def write_a_morning(store: Store, today: date) -> None:
    yesterday = today - timedelta(days=1)
    try:
        await store.claim_delivery("telegram", "1", yesterday, "w", 60)
        await store.mark_sent("telegram", "1", yesterday, "w", "m0")
        for chat in ("1", "2", "3"):
            await store.claim_delivery("telegram", chat, today, "w", 60)
        await store.mark_sent("telegram", "1", today, "w", "m1")
        await store.mark_failed("telegram", "2", today, "w", "retry: 429")
        await store.claim_delivery("slack", "C1", today, "w", 60)
        await store.mark_sent("slack", "C1", today, "w", "ts1")
    finally:
        await store.close()


def test_healthz_and_metrics_report_this_mornings_ledger_from_its_counts(
    backend: tuple[Callable[[], Store], Settings],
) -> None:
    open_store, settings = backend
    today = scheduler.edition_day(datetime.now(UTC), settings)
    asyncio.run(write_a_morning(open_store(), today))
    app = create_app(settings, open_store())
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        health = http.get("/healthz")
        metrics = http.get("/metrics").text
    assert health.status_code == 200
    body = health.json()
    assert body["deliveries"] == {"day": today.isoformat(), "sent": 2, "failed": 1, "claimed": 1}
    assert body["last_delivery"]["day"] == today.isoformat()
    assert (body["last_delivery"]["platform"], body["last_delivery"]["chat_id"]) == ("slack", "C1")
    assert body["last_build"] is None
    assert 'digest_deliveries_today{platform="telegram",status="sent"} 1' in metrics
    assert 'digest_deliveries_today{platform="telegram",status="failed"} 1' in metrics
    assert 'digest_deliveries_today{platform="telegram",status="claimed"} 1' in metrics
    assert 'digest_deliveries_today{platform="slack",status="sent"} 1' in metrics
