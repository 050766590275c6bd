"""Stored bodies carry their schema version, and a body without one (the first version) is upgraded on read."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from redis.asyncio import Redis

from digest.models import Brief, Digest
from digest.store import schema
from digest.store.base import Delivery, DeliveryLedger, DigestStore, SpendStore, Store, Subscription, SubscriptionStore
from digest.store.redis import RedisStore
from digest.store.sqlite import SqliteStore

DAY = date(2026, 2, 13)


def test_every_kind_is_versioned_and_an_unversioned_body_is_version_one() -> None:
    sub = Subscription(platform="a-new-platform", chat_id="1", topics=["rl"])
    stored = json.loads(schema.dump(sub))
    assert stored[schema.VERSION_KEY] == schema.version_of(Subscription) >= 2
    assert schema.load(Subscription, stored) == sub
    del stored[schema.VERSION_KEY]  # as the first version wrote it
    assert schema.load(Subscription, json.dumps(stored)) == sub
    for kind in (Digest, Brief, Subscription, Delivery):
        assert schema.version_of(kind) >= 2


def test_a_body_from_a_newer_bot_is_refused_rather_than_misread() -> None:
    body = {"platform": "x", "chat_id": "1", schema.VERSION_KEY: schema.version_of(Subscription) + 1}
    with pytest.raises(ValueError, match="newer"):
        schema.load(Subscription, body)


def test_an_upgrade_step_runs_on_read(monkeypatch: pytest.MonkeyPatch) -> None:
    current, steps = schema.UPGRADES[Subscription]

    def rename(body: dict) -> dict:  # what a future rename would do: old field -> new field
        body = dict(body)
        body["topics"] = body.pop("interests", [])
        return body

    monkeypatch.setitem(schema.UPGRADES, Subscription, (current + 1, {**steps, current: rename}))
    old = {"platform": "x", "chat_id": "1", "interests": ["audio"], schema.VERSION_KEY: current}
    assert schema.load(Subscription, old).topics == ["audio"]


async def test_both_backends_write_the_version_and_satisfy_each_protocol(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    sqlite_store = SqliteStore(tmp_path / "store.sqlite3")
    redis_store = RedisStore(redis_url, prefix=redis_prefix)
    try:
        for store in (sqlite_store, redis_store):
            for protocol in (Store, DigestStore, SubscriptionStore, DeliveryLedger, SpendStore):
                assert isinstance(store, protocol)
            await store.put_subscription(Subscription(platform="telegram", chat_id="7"))
            assert await store.claim_delivery("telegram", "7", DAY, "me", 60)
            await store.mark_sent("telegram", "7", DAY, "me", "m1")
        await sqlite_store.close()
        with sqlite3.connect(tmp_path / "store.sqlite3") as db:
            for table in ("subscriptions", "deliveries"):
                (body,) = db.execute(f"SELECT body FROM {table}").fetchone()
                assert json.loads(body)[schema.VERSION_KEY] >= 2
        raw = Redis.from_url(redis_url, decode_responses=True)
        try:
            assert json.loads(await raw.get(redis_store._sub_key("telegram", "7")))[schema.VERSION_KEY] >= 2
            row = redis_store._row_key("telegram", "7", DAY.isoformat())
            assert int(await raw.hget(row, schema.VERSION_KEY)) >= 2
            await raw.delete(*[k async for k in raw.scan_iter(match=f"{redis_prefix}:*")])
        finally:
            await raw.aclose()
    finally:
        await sqlite_store.close()
        await redis_store.close()
