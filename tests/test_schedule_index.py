"""The scheduler reads the schedule index, not every subscription: a tick touches the chats that are due (or about
to be), plans each one's next post after serving it, and follows changes of a chat and of the defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import scheduler
from bot.worker import Worker
from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Delivery, Subscription
from digest.store.sqlite import SqliteStore
from tests.test_delivery import RecordingPoster

KST = ZoneInfo("Asia/Seoul")


class IndexOnlyStore(SqliteStore):
    """The embedded store, refusing the reads that grow with every subscription or every ledger row."""

    async def list_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        raise AssertionError("a scheduler tick read every subscription")

    async def list_deliveries(self, day: date) -> list[Delivery]:
        raise AssertionError("a scheduler tick read a whole day of the ledger")


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(delivery_backoff_s=0.0, telegram_posts_per_s=1000.0, slack_posts_per_s=1000.0)


def builder_for(settings: Settings, store: SqliteStore) -> Callable[[date, Any], Any]:
    async def build(day: date, lang: Any) -> Digest:
        return (await pipeline.build(settings, store, day, source="sample", lang=lang)).digest

    return build


def at_kst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), KST).astimezone(UTC)


async def marks(store: SqliteStore) -> dict[str, float]:
    return {p.sub.chat_id: p.mark for p in await store.due_subscriptions(datetime(9999, 1, 1, tzinfo=UTC))}


async def test_a_tick_serves_the_due_chats_and_plans_their_next_morning(tmp_path: Path, settings: Settings) -> None:
    store = IndexOnlyStore(tmp_path / "store.sqlite3")
    try:
        for n in range(50):  # 08:00 KST, the default
            await store.put_subscription(Subscription(platform="telegram", chat_id=str(n)))
        for n in range(50, 80):  # 09:00 KST
            await store.put_subscription(Subscription(platform="telegram", chat_id=str(n), post_time=time(9, 0)))
        poster = RecordingPoster()
        now = at_kst(date(2026, 2, 14), 8, 5)
        worker = Worker(settings, store, {"telegram": poster}, builder=builder_for(settings, store), clock=lambda: now)
        await worker.tick()
        assert sorted(poster.posts, key=int) == [str(n) for n in range(50)]
        planned = await marks(store)
        tomorrow_8 = at_kst(date(2026, 2, 15), 8).timestamp() * 1000
        today_9 = at_kst(date(2026, 2, 14), 9).timestamp() * 1000
        assert {planned[str(n)] for n in range(50)} == {tomorrow_8}  # served: next morning
        assert {planned[str(n)] for n in range(50, 80)} == {today_9}  # planned, not yet due
        assert await store.due_subscriptions(now) == []  # nothing left for the next tick before 08:30
        now = at_kst(date(2026, 2, 14), 8, 40)  # the 09:00 chats are within the build lead: read, not served
        assert await worker.tick() is None
        now = at_kst(date(2026, 2, 14), 9, 1)
        await worker.tick()
        assert len(poster.posts) == 80 and len(set(poster.posts)) == 80
        assert await store.due_subscriptions(now + timedelta(hours=12)) == []
    finally:
        await store.close()


async def test_a_retried_chat_stays_due_and_a_missed_one_moves_to_its_next_morning(
    tmp_path: Path, settings: Settings
) -> None:
    from bot.platform import RetryLater

    store = IndexOnlyStore(tmp_path / "store.sqlite3")
    try:
        await store.put_subscription(Subscription(platform="telegram", chat_id="flaky"))
        poster = RecordingPoster()
        poster.script["flaky"] = [RetryLater("429")] * 3  # every attempt of this tick fails
        now = at_kst(date(2026, 2, 14), 8, 5)
        settings = settings.model_copy(update={"delivery_retries": 2})
        worker = Worker(settings, store, {"telegram": poster}, builder=builder_for(settings, store), clock=lambda: now)
        await worker.tick()
        assert poster.posts == [] and (await marks(store))["flaky"] == at_kst(date(2026, 2, 14), 8).timestamp() * 1000
        now = at_kst(date(2026, 2, 14), 12, 0)  # the catch-up window (3 h) closed: it waits for tomorrow
        await worker.tick()
        assert (await marks(store))["flaky"] == at_kst(date(2026, 2, 15), 8).timestamp() * 1000
    finally:
        await store.close()


async def test_a_changed_chat_and_changed_defaults_are_planned_again(tmp_path: Path, settings: Settings) -> None:
    store = IndexOnlyStore(tmp_path / "store.sqlite3")
    try:
        await store.put_subscription(Subscription(platform="slack", chat_id="C1"))
        now = at_kst(date(2026, 2, 14), 6, 0)
        worker = Worker(settings, store, {}, builder=builder_for(settings, store), clock=lambda: now)
        await worker.tick()
        assert (await marks(store))["C1"] == at_kst(date(2026, 2, 14), 8).timestamp() * 1000
        await store.put_subscription(Subscription(platform="slack", chat_id="C1", post_time=time(7, 0)))
        await worker.tick()
        assert (await marks(store))["C1"] == at_kst(date(2026, 2, 14), 7).timestamp() * 1000
        await store.put_subscription(Subscription(platform="slack", chat_id="C1"))  # back to the default
        earlier = settings.model_copy(update={"post_time": time(6, 30)})  # the operator moved the default
        await Worker(earlier, store, {}, builder=builder_for(settings, store), clock=lambda: now).tick()
        assert (await marks(store))["C1"] == at_kst(date(2026, 2, 14), 6, 30).timestamp() * 1000
    finally:
        await store.close()


def test_next_post_keeps_the_dst_and_weekday_rules(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    berlin = Subscription(platform="slack", chat_id="C", timezone="Europe/Berlin", post_time=time(2, 30))
    # The night clocks spring forward (2026-03-29, 02:00 -> 03:00 CEST): 02:30 does not exist; 03:00 CEST does.
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert scheduler.next_post(berlin, before, settings) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert scheduler.next_post(berlin, before, settings) == scheduler.slot_for(berlin, date(2026, 3, 28), settings).at  # type: ignore[union-attr]
    mondays = Subscription(platform="slack", chat_id="C", timezone="UTC", post_time=time(9, 0), weekdays=[0])
    tuesday = datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    assert scheduler.next_post(mondays, tuesday, settings) == datetime(2026, 2, 23, 9, 0, tzinfo=UTC)
    served = {date(2026, 2, 22)}  # Monday's post (digest day Sunday) is done: the next Monday's
    monday = datetime(2026, 2, 23, 9, 30, tzinfo=UTC)
    assert scheduler.next_post(mondays, monday, settings) == datetime(2026, 2, 23, 9, 0, tzinfo=UTC)
    assert scheduler.next_post(mondays, monday, settings, served) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    never = Subscription(platform="slack", chat_id="C", weekdays=[])
    assert scheduler.next_post(never, monday, settings) is None
