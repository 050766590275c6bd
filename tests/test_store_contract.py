"""The Store contract: the same test functions against the embedded SQLite store, a real Redis server and a real
Redis Cluster of three masters (every script and transaction must touch one slot there)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import aiosqlite
import pytest

from digest.fulltext.model import FullText, NoFullText, Section, Table
from digest.models import Digest, Figure
from digest.store.base import SPEND_KEEP_DAYS, NextPost, Store, Subscription
from digest.store.redis import RedisStore, safe_url
from digest.store.sqlite import SqliteStore

DAY = date(2026, 2, 13)


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def store(request, tmp_path):
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.sqlite3")
    elif request.param == "redis":
        s = RedisStore(request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix"))
    else:
        url = request.getfixturevalue("redis_cluster_url")
        s = RedisStore(url, prefix=request.getfixturevalue("redis_prefix"), cluster=True)
    yield s
    await s.close()


@pytest.fixture(scope="module")
def digest(tmp_path_factory) -> Digest:
    """The sample day, built offline once."""
    from digest import pipeline
    from digest.settings import Settings

    settings = Settings(DIGEST_DATA_DIR=tmp_path_factory.mktemp("var"))  # type: ignore[call-arg]

    async def build() -> Digest:
        s = SqliteStore(tmp_path_factory.mktemp("build") / "s.sqlite3")
        try:
            return (await pipeline.build(settings, s, DAY, source="sample")).digest
        finally:
            await s.close()

    return asyncio.run(build())


def on(digest: Digest, day: date, lang: str = "ko") -> Digest:
    return digest.model_copy(update={"date": day, "lang": lang})


async def test_a_digest_round_trips_and_latest_follows_the_newest(store, digest):
    assert await store.find_digest("ko") is None
    assert await store.latest_date("ko") is None
    await store.save_digest(digest)
    await store.save_digest(on(digest, date(2026, 2, 10)))
    assert await store.get_digest(DAY, "ko") == digest
    assert await store.find_digest("ko") == digest
    assert await store.find_digest("ko", date(2026, 2, 10)) == on(digest, date(2026, 2, 10))
    assert await store.latest_date("ko") == DAY
    assert await store.list_dates("ko") == [DAY, date(2026, 2, 10)]
    assert await store.list_dates("en") == []
    assert await store.get_digest(date(2026, 2, 11), "ko") is None


async def test_saving_again_replaces_the_digest_and_readers_see_the_new_one(store, digest):
    await store.save_digest(digest)
    assert (await store.find_digest("ko")) == digest  # now cached in process by the Redis backend
    changed = digest.model_copy(update={"daily_actions": ["something new"]})
    await store.save_digest(changed)
    assert (await store.find_digest("ko")).daily_actions == ["something new"]  # type: ignore[union-attr]
    assert (await store.get_digest(DAY, "ko")).daily_actions == ["something new"]  # type: ignore[union-attr]
    assert await store.list_dates("ko") == [DAY]


async def test_published_ids_covers_the_window_in_any_language(store, digest):
    await store.save_digest(on(digest, date(2026, 2, 10), "en"))
    await store.save_digest(on(digest, date(2026, 2, 1)))
    ids = {i.paper.id for i in digest.items}
    assert await store.published_ids(date(2026, 2, 13), 7) == ids
    assert await store.published_ids(date(2026, 2, 10), 7) == set()  # the day itself is not "before"
    assert await store.published_ids(date(2026, 2, 13), 2) == set()


async def test_briefs_round_trip(store, digest):
    brief = digest.items[0].brief
    assert await store.get_brief("k1") is None
    await store.put_brief("k1", brief)
    assert await store.get_brief("k1") == brief


async def test_the_spend_of_a_day_adds_up_atomically_and_days_are_separate(store):
    assert await store.get_spend(DAY) == 0
    assert await store.add_spend(DAY, 0.25) == pytest.approx(0.25)
    assert await store.add_spend(DAY, -0.05) == pytest.approx(0.20)  # a reservation given back
    totals = await asyncio.gather(*(store.add_spend(DAY, 0.01) for _ in range(20)))
    assert max(totals) == pytest.approx(0.40) and len({round(t, 9) for t in totals}) == 20  # no lost update
    assert await store.get_spend(DAY) == pytest.approx(0.40)
    assert await store.get_spend(date(2026, 2, 14)) == 0
    assert await store.add_spend(date(2026, 2, 14), 0.000123) == pytest.approx(0.000123)
    assert await store.get_spend(DAY) == pytest.approx(0.40)


async def test_the_spend_of_a_day_is_kept_for_a_few_days_only(store):
    await store.add_spend(DAY, 1.0)
    if isinstance(store, RedisStore):
        ttl = await store._r.ttl(store._key("spend", DAY.isoformat()))
        assert 2 * 86400 < ttl <= SPEND_KEEP_DAYS * 86400
    else:
        await store.add_spend(date(2026, 2, 13 + SPEND_KEEP_DAYS + 1), 0.5)
        assert await store.get_spend(DAY) == 0


async def test_subscriptions_put_list_move_delete(store):
    slack = Subscription(platform="slack", chat_id="C1", post_time=time(9, 30), topics=["llm"], team_id="T1")
    tg = Subscription(platform="telegram", chat_id="-100", lang="en", timezone="UTC")
    await store.put_subscription(tg)
    await store.put_subscription(slack)
    assert await store.get_subscription("slack", "C1") == slack
    assert await store.list_subscriptions() == [slack, tg]
    assert await store.list_subscriptions("telegram") == [tg]
    await store.claim_delivery("telegram", "-100", DAY, "w1", 60)
    await store.mark_sent("telegram", "-100", DAY, "w1", "m1")
    assert await store.move_subscription("telegram", "-100", "-1001") is True
    assert await store.get_subscription("telegram", "-100") is None
    moved = await store.get_subscription("telegram", "-1001")
    assert moved == tg.model_copy(update={"chat_id": "-1001"})
    assert await store.get_delivery("telegram", "-100", DAY) is None
    row = await store.get_delivery("telegram", "-1001", DAY)
    assert row is not None and (row.status, row.message_id, row.chat_id) == ("sent", "m1", "-1001")
    assert [(d.platform, d.chat_id) for d in await store.list_deliveries(DAY)] == [("telegram", "-1001")]
    assert await store.move_subscription("telegram", "-404", "-405") is False
    assert await store.delete_subscription("slack", "C1") is True
    assert await store.delete_subscription("slack", "C1") is False
    assert await store.list_subscriptions("slack") == []


async def test_a_claim_is_exclusive_until_it_expires_and_sent_is_final(store):
    assert await store.claim_delivery("slack", "C1", DAY, "a", 60) is True
    assert await store.claim_delivery("slack", "C1", DAY, "b", 60) is False
    assert await store.claim_delivery("slack", "C1", DAY, "a", 60) is True  # the owner may claim again
    row = await store.get_delivery("slack", "C1", DAY)
    assert row is not None and (row.status, row.owner, row.attempts) == ("claimed", "a", 2)
    assert row.expires_at is not None and row.expires_at > datetime.now(row.expires_at.tzinfo)
    await store.mark_sent("slack", "C1", DAY, "a", "ts-1")
    assert await store.claim_delivery("slack", "C1", DAY, "a", 60) is False
    await store.mark_failed("slack", "C1", DAY, "b", "late failure")  # never downgrades a sent row
    row = await store.get_delivery("slack", "C1", DAY)
    assert row is not None and (row.status, row.message_id, row.error, row.expires_at) == ("sent", "ts-1", None, None)


# A claim's expiry is set in the past (a negative TTL) rather than waited for: no wall-clock margin to miss.
EXPIRED = -1.0


async def test_an_expired_claim_is_taken_over_and_a_failed_row_is_retried(store):
    assert await store.claim_delivery("slack", "C2", DAY, "a", EXPIRED) is True
    assert await store.claim_delivery("slack", "C2", DAY, "b", 60) is True
    await store.mark_failed("slack", "C2", DAY, "b", "429")
    row = await store.get_delivery("slack", "C2", DAY)
    assert row is not None and (row.status, row.error, row.attempts, row.expires_at) == ("failed", "429", 2, None)
    assert await store.claim_delivery("slack", "C2", DAY, "c", 60) is True
    row = await store.get_delivery("slack", "C2", DAY)
    assert row is not None and (row.status, row.owner, row.attempts, row.error) == ("claimed", "c", 3, "429")
    assert [d.chat_id for d in await store.list_deliveries(DAY)] == ["C2"]
    assert await store.list_deliveries(date(2026, 2, 14)) == []


async def test_only_the_claims_owner_records_progress_and_a_takeover_keeps_it(store):
    assert await store.mark_progress("telegram", "-7", DAY, "a", "h1", 1, 60) is False  # nothing claimed
    assert await store.claim_delivery("telegram", "-7", DAY, "a", EXPIRED) is True
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.progress, row.message_id, row.took_over) == (0, None, None)
    assert await store.mark_progress("telegram", "-7", DAY, "b", "x", 1, 60) is False  # not b's claim
    # Past the claim's expiry but nobody took it over: still a's, and the progress extends the claim.
    assert await store.mark_progress("telegram", "-7", DAY, "a", "h1", 3, 60) is True
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.status, row.owner, row.progress, row.message_id) == ("claimed", "a", 3, "h1")
    assert row.expires_at is not None and row.expires_at > datetime.now(row.expires_at.tzinfo)
    assert await store.claim_delivery("telegram", "-7", DAY, "b", 60) is False  # extended: still live
    # a records its progress once more and dies: the claim lapses (its expiry set in the past, not waited for).
    assert await store.mark_progress("telegram", "-7", DAY, "a", "h1", 3, EXPIRED) is True
    assert await store.claim_delivery("telegram", "-7", DAY, "b", 60) is True  # a died: b takes over
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.owner, row.progress, row.message_id, row.took_over) == ("b", 3, "h1", "a")
    assert await store.mark_progress("telegram", "-7", DAY, "a", "h1", 4, 60) is False  # a is fenced off
    assert await store.mark_progress("telegram", "-7", DAY, "b", "h1", 5, 60) is True
    await store.mark_failed("telegram", "-7", DAY, "b", "retry: 502")
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.status, row.progress, row.message_id) == ("failed", 5, "h1")  # a retry resumes
    assert await store.mark_progress("telegram", "-7", DAY, "b", "h1", 6, 60) is False  # not claimed any more
    assert await store.claim_delivery("telegram", "-7", DAY, "c", 60) is True
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.progress, row.message_id, row.took_over) == (
        5,
        "h1",
        None,
    )  # a retry, not a takeover
    assert await store.mark_progress("telegram", "-7", DAY, "c", None, 0, 60) is True  # a reset (the chat moved)
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.progress, row.message_id) == (0, None)
    assert await store.mark_progress("telegram", "-7", DAY, "c", "h2", 6, 60) is True
    await store.mark_sent("telegram", "-7", DAY, "c", "h2")
    row = await store.get_delivery("telegram", "-7", DAY)
    assert row is not None and (row.status, row.progress, row.message_id, row.expires_at) == ("sent", 6, "h2", None)
    assert await store.mark_progress("telegram", "-7", DAY, "c", "h2", 7, 60) is False  # sent is final


async def test_a_claim_by_the_same_owner_is_not_a_takeover(store):
    assert await store.claim_delivery("slack", "C5", DAY, "a", EXPIRED) is True
    assert await store.claim_delivery("slack", "C5", DAY, "a", 60) is True
    row = await store.get_delivery("slack", "C5", DAY)
    assert row is not None and row.took_over is None and row.attempts == 2


async def test_locks_compare_before_they_renew_or_release(store):
    assert await store.acquire_lock("leader", "t1", 60) is True
    assert await store.acquire_lock("leader", "t2", 60) is False
    assert await store.acquire_lock("leader", "t1", 60) is True
    assert await store.renew_lock("leader", "t2", 60) is False
    assert await store.renew_lock("leader", "t1", 60) is True
    assert await store.release_lock("leader", "t2") is False
    assert await store.release_lock("leader", "t1") is True
    assert await store.release_lock("leader", "t1") is False
    assert await store.renew_lock("leader", "t1", 60) is False
    # Lock and once-key expiry is the Redis server's own, so these wait; only ever longer than the TTL, so a
    # slow machine cannot change the outcome.
    assert await store.acquire_lock("short", "t1", 0.05) is True
    await asyncio.sleep(0.15)
    assert await store.acquire_lock("short", "t2", 60) is True


async def test_first_time_is_true_once_per_ttl(store):
    assert await store.first_time("evt-1", 60) is True
    assert await store.first_time("evt-1", 60) is False
    assert await store.first_time("evt-2", 0.05) is True
    await asyncio.sleep(0.15)
    assert await store.first_time("evt-2", 60) is True


async def test_ping(store):
    await store.ping()


async def test_two_prefixes_share_one_redis_without_seeing_each_other(redis_url, redis_prefix, digest):
    a, b = RedisStore(redis_url, prefix=redis_prefix + "-a"), RedisStore(redis_url, prefix=redis_prefix + "-b")
    try:
        await a.save_digest(digest)
        assert await b.find_digest("ko") is None
        assert await a.acquire_lock("leader", "x", 60) and await b.acquire_lock("leader", "y", 60)
    finally:
        await a.close()
        await b.close()


def test_the_password_never_appears_in_messages():
    assert safe_url("redis://user:s3cret@host:6380/0") == "redis://user:***@host:6380/0"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


async def test_migrate_sqlite_to_redis_keeps_everything(tmp_path, redis_url, redis_prefix, digest):
    from digest.store.migrate import sqlite_to_redis

    source = SqliteStore(tmp_path / "s.sqlite3")
    target = RedisStore(redis_url, prefix=redis_prefix)
    try:
        await source.save_digest(digest)
        await source.put_brief("k", digest.items[0].brief)
        await source.put_subscription(Subscription(platform="telegram", chat_id="-1", topics=["rl"]))
        await source.claim_delivery("telegram", "-1", DAY, "w", 60)
        await source.mark_sent("telegram", "-1", DAY, "w", "42")
        await source.claim_delivery("slack", "C9", DAY, "w", 600)
        counts = await sqlite_to_redis(source, target)
        assert counts == {"digests": 1, "briefs": 1, "subscriptions": 1, "deliveries": 2}
        assert await target.find_digest("ko") == digest
        assert await target.get_brief("k") == digest.items[0].brief
        assert await target.list_subscriptions() == await source.list_subscriptions()
        assert await target.list_deliveries(DAY) == await source.list_deliveries(DAY)
        assert await target.claim_delivery("slack", "C9", DAY, "other", 60) is False  # the live claim came along
    finally:
        await source.close()
        await target.close()


async def test_sqlite_find_digest_reuses_its_parse_until_another_process_replaces_the_digest(tmp_path, digest):
    reader, writer = SqliteStore(tmp_path / "store.sqlite3"), SqliteStore(tmp_path / "store.sqlite3")
    try:
        await writer.save_digest(digest)
        first = await reader.find_digest("ko")
        assert first == digest
        assert await reader.find_digest("ko") is first  # the same stored body: parsed once
        assert await reader.find_digest("ko", DAY) is first
        await writer.save_digest(digest.model_copy(update={"daily_actions": ["something new"]}))
        assert (await reader.find_digest("ko")).daily_actions == ["something new"]  # type: ignore[union-attr]
        assert await reader.find_digest("en") is None
    finally:
        await reader.close()
        await writer.close()


async def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(redis_url, redis_prefix, digest):
    store = RedisStore(redis_url, prefix=redis_prefix, max_connections=4)
    try:
        await store.save_digest(digest)
        # A fan-out asks for far more at once than the pool holds; each call must wait its turn, not raise.
        results = await asyncio.gather(*(store.get_delivery("slack", f"C{n}", digest.date) for n in range(200)))
        assert results == [None] * 200
    finally:
        await store.close()


def _full_text(version: int = 1, title: str = "Evolving Programmatic Skill Networks") -> FullText:
    return FullText(
        paper_id="2601.03509",
        version=version,
        source="html",
        url=f"https://arxiv.org/html/2601.03509v{version}",
        title=title,
        abstract="We study continual skill acquisition.",
        sections=[Section(number="1", heading="Introduction", anchor="S1", paragraphs=["Agents 한국어 ü.", "Two."])],
        figures=[Figure(number="1", caption="Overview.", image_url="https://arxiv.org/html/2601.03509v1/x1.png")],
        tables=[Table(number="1", caption="Tasks.", text="a | b")],
    )


async def test_a_full_text_is_kept_per_paper_and_version(store):
    assert await store.get_fulltext("2601.03509", 1) is None
    text = _full_text()
    await store.put_fulltext(text, 60)
    assert await store.get_fulltext("2601.03509", 1) == text
    assert await store.get_fulltext("2601.03509", 2) is None
    assert await store.get_fulltext("2601.03510", 1) is None
    await store.put_fulltext(_full_text(version=2, title="Retitled"), 60)
    assert (await store.get_fulltext("2601.03509", 1)) == text
    assert (await store.get_fulltext("2601.03509", 2)).title == "Retitled"  # type: ignore[union-attr]
    replaced = text.model_copy(update={"title": "Parsed again"})
    await store.put_fulltext(replaced, 60)
    assert await store.get_fulltext("2601.03509", 1) == replaced


async def test_no_full_text_is_remembered_until_it_expires(store):
    missing = NoFullText(paper_id="2601.03986", version=1, reason="no HTML rendering (HTTP 404); no PDF (HTTP 404)")
    await store.put_fulltext(missing, 60)
    assert await store.get_fulltext("2601.03986", 1) == missing
    await store.put_fulltext(missing, 0.05)
    await asyncio.sleep(0.15)
    assert await store.get_fulltext("2601.03986", 1) is None


async def test_a_full_text_is_stored_compressed_and_a_damaged_body_is_a_miss(store):
    text = _full_text().model_copy(
        update={"sections": [Section(heading="Long", paragraphs=["The same sentence again. " * 400] * 20)]}
    )
    await store.put_fulltext(text, 60)
    if isinstance(store, SqliteStore):
        row = await store._one("SELECT length(body) FROM fulltexts WHERE paper_id = ?", ("2601.03509",))
        stored = int(row[0])  # type: ignore[index, arg-type]
        async with store._write() as db:
            await db.execute("UPDATE fulltexts SET body = ? WHERE paper_id = ?", (b"\x00damaged", "2601.03509"))
    else:
        key = store._key("fulltext", "2601.03509", "v1")
        stored = await store._r.strlen(key)
        await store._r.set(key, "damaged!")
    assert stored < len(text.model_dump_json()) / 20
    assert await store.get_fulltext("2601.03509", 1) is None


# --- the ledger's counts, kept as rows change


async def test_day_counts_follow_every_change_of_a_row(store):
    assert (await store.delivery_counts(DAY)).rows == {}
    await store.claim_delivery("slack", "C1", DAY, "a", 60)
    await store.claim_delivery("slack", "C2", DAY, "a", 60)
    await store.claim_delivery("telegram", "7", DAY, "a", 60)
    counts = await store.delivery_counts(DAY)
    assert counts.rows == {("slack", "claimed"): 2, ("telegram", "claimed"): 1} and counts.last_sent is None
    await store.mark_progress("slack", "C1", DAY, "a", "p1", 1, 60)  # progress: no change of status
    await store.mark_sent("slack", "C1", DAY, "a", "p1")
    await store.mark_sent("slack", "C1", DAY, "a", "p1")  # recorded twice (a retried write): counted once
    await store.mark_failed("slack", "C2", DAY, "a", "retry: 429")
    await store.mark_failed("slack", "C1", DAY, "b", "late failure")  # never downgrades a sent row
    assert await store.claim_delivery("slack", "C2", DAY, "b", 60)  # a retry of the failed row
    await store.mark_sent("telegram", "7", DAY, "a", "m7")
    counts = await store.delivery_counts(DAY)
    assert counts.rows == {("slack", "sent"): 1, ("slack", "claimed"): 1, ("telegram", "sent"): 1}
    assert counts.by_status() == {"sent": 2, "claimed": 1}
    assert counts.last_sent is not None and (counts.last_sent.platform, counts.last_sent.chat_id) == ("telegram", "7")
    assert (await store.delivery_counts(date(2026, 2, 12))).rows == {}  # another day: its own counts


async def test_counts_stay_right_when_a_chat_moves(store):
    await store.put_subscription(Subscription(platform="telegram", chat_id="-100"))
    await store.claim_delivery("telegram", "-100", DAY, "a", 60)
    await store.mark_sent("telegram", "-100", DAY, "a", "m1")
    await store.claim_delivery("telegram", "-100", date(2026, 2, 14), "a", 60)
    assert await store.move_subscription("telegram", "-100", "-1001")
    assert (await store.delivery_counts(DAY)).rows == {("telegram", "sent"): 1}
    assert (await store.delivery_counts(date(2026, 2, 14))).rows == {("telegram", "claimed"): 1}
    row = await store.get_delivery("telegram", "-1001", date(2026, 2, 14))
    assert row is not None and row.status == "claimed"


async def test_deliveries_of_reads_only_the_chats_asked_for(store):
    for chat in ("1", "2", "3"):
        await store.claim_delivery("telegram", chat, DAY, "a", 60)
    await store.mark_sent("telegram", "2", DAY, "a", "m2")
    rows = await store.deliveries_of(DAY, [("telegram", "2"), ("telegram", "3"), ("telegram", "404"), ("slack", "2")])
    assert [(r.chat_id, r.status) for r in rows] == [("2", "sent"), ("3", "claimed")]
    assert await store.deliveries_of(DAY, []) == []
    many = [("telegram", str(n)) for n in range(1500)]  # more than one batch
    assert {r.chat_id for r in await store.deliveries_of(DAY, many)} == {"1", "2", "3"}


# --- the schedule index


async def test_a_changed_subscription_waits_to_be_planned_and_a_plan_lands_only_on_what_was_read(store):
    far = datetime(2030, 1, 1, tzinfo=UTC)
    await store.put_subscription(Subscription(platform="slack", chat_id="C1"))
    await store.put_subscription(Subscription(platform="slack", chat_id="C2"))
    waiting = await store.due_subscriptions(datetime(2000, 1, 1, tzinfo=UTC))  # marks below 0: always returned
    assert sorted(p.sub.chat_id for p in waiting) == ["C1", "C2"] and all(p.mark < 0 for p in waiting)
    at = datetime(2026, 2, 14, 8, 0, tzinfo=UTC)
    marks = {p.sub.chat_id: p.mark for p in waiting}
    # C2 changes after the scheduler read it: the plan made from the old body must not land.
    await store.put_subscription(Subscription(platform="slack", chat_id="C2", lang="en"))
    await store.set_next_posts([NextPost("slack", c, marks[c], at) for c in ("C1", "C2")])
    assert [p.sub.chat_id for p in await store.due_subscriptions(at - timedelta(seconds=1))] == ["C2"]
    due = await store.due_subscriptions(at)
    assert sorted(p.sub.chat_id for p in due) == ["C1", "C2"]
    assert next(p for p in due if p.sub.chat_id == "C1").mark == at.timestamp() * 1000
    assert next(p for p in due if p.sub.chat_id == "C2").sub.lang == "en"
    c2 = next(p for p in due if p.sub.chat_id == "C2")
    await store.set_next_posts([NextPost("slack", "C2", c2.mark, None)])  # posts on no weekday: never due
    assert [p.sub.chat_id for p in await store.due_subscriptions(far)] == ["C1"]
    assert await store.delete_subscription("slack", "C1")
    assert await store.due_subscriptions(far) == []


async def test_a_new_schedule_basis_plans_every_chat_again(store):
    at = datetime(2026, 2, 14, 8, 0, tzinfo=UTC)
    for chat in ("1", "2"):
        await store.put_subscription(Subscription(platform="telegram", chat_id=chat))
    assert await store.reset_schedule("Asia/Seoul|08:00") is True  # the first basis: plan everything
    assert await store.reset_schedule("Asia/Seoul|08:00") is False
    waiting = await store.due_subscriptions(at)
    await store.set_next_posts([NextPost("telegram", p.sub.chat_id, p.mark, at) for p in waiting])
    assert await store.due_subscriptions(at - timedelta(hours=1)) == []
    assert await store.reset_schedule("Asia/Seoul|07:00") is True
    assert len(await store.due_subscriptions(at - timedelta(hours=1))) == 2


async def test_a_moved_chat_is_planned_again_under_its_new_id(store):
    at = datetime(2026, 2, 14, 8, 0, tzinfo=UTC)
    await store.put_subscription(Subscription(platform="telegram", chat_id="-100"))
    (planned,) = await store.due_subscriptions(at)
    await store.set_next_posts([NextPost("telegram", "-100", planned.mark, at)])
    assert await store.move_subscription("telegram", "-100", "-1001")
    (moved,) = await store.due_subscriptions(at - timedelta(days=1))
    assert moved.sub.chat_id == "-1001" and moved.mark < 0


# --- retention


class SteppedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def clocked(request, tmp_path):
    """(store, clock): a store whose every timestamp and expiry comes from a clock the test steps. Redis removes
    keys by its own (real) clock, so the tests write in the past, at instants whose expiry has or has not come."""
    clock = SteppedClock(datetime.now(UTC))
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.sqlite3", retention_days=30, clock=clock)
    else:
        cluster = request.param == "redis-cluster"
        url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
        s = RedisStore(
            url, prefix=request.getfixturevalue("redis_prefix"), cluster=cluster, retention_days=30, clock=clock
        )
    yield s, clock
    await s.close()


async def test_ledger_rows_counts_and_once_keys_expire_after_the_retention(clocked):
    store, clock = clocked
    now = clock.now
    old, recent = date(2026, 1, 1), date(2026, 1, 3)
    clock.now = now - timedelta(days=31)  # changed 31 days ago: past the 30 days
    await store.claim_delivery("slack", "C1", old, "a", 60)
    await store.mark_sent("slack", "C1", old, "a", "m1")
    assert await store.first_time("slack:event:E1", 3 * 86400) is True
    clock.now = now - timedelta(days=29)  # changed 29 days ago: kept
    await store.claim_delivery("slack", "C2", recent, "a", 60)
    await store.mark_failed("slack", "C2", recent, "a", "retry: 429")
    clock.now = now
    await store.prune()
    assert await store.get_delivery("slack", "C1", old) is None
    assert await store.list_deliveries(old) == []
    assert (await store.delivery_counts(old)).rows == {}
    assert await store.first_time("slack:event:E1", 60) is True
    row = await store.get_delivery("slack", "C2", recent)
    assert row is not None and row.status == "failed"
    assert (await store.delivery_counts(recent)).rows == {("slack", "failed"): 1}


async def test_a_once_key_never_outlives_the_retention(clocked):
    store, clock = clocked
    now = clock.now
    clock.now = now - timedelta(days=31)
    assert await store.first_time("telegram:update:1", 365 * 86400) is True  # asked for a year: gets 30 days
    clock.now = now
    await store.prune()
    assert await store.first_time("telegram:update:1", 60) is True


async def test_get_digest_reuses_the_parse_too_until_the_digest_changes(store, digest):
    """The archive pages and the fan-out read digests by day (get_digest): a page must not re-validate the whole
    digest on every request, which is what queued 500 concurrent page loads for seconds."""
    await store.save_digest(digest)
    first = await store.get_digest(DAY, "ko")
    assert first == digest
    assert await store.get_digest(DAY, "ko") is first
    assert await store.find_digest("ko") is first
    await store.save_digest(digest.model_copy(update={"daily_actions": ["changed"]}))
    changed = await store.get_digest(DAY, "ko")
    assert changed is not first and changed.daily_actions == ["changed"]  # type: ignore[union-attr]


async def test_the_embedded_store_opens_one_connection_however_many_first_reads_race(tmp_path, monkeypatch):
    """A fan-out's first reads all arrive before the store is open; each extra connection would keep a worker
    thread alive after close() (a process that never exits)."""
    opened = []
    connect = aiosqlite.connect

    def counting_connect(*args: object, **kwargs: object) -> aiosqlite.Connection:
        opened.append(args)
        return connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aiosqlite, "connect", counting_connect)
    store = SqliteStore(tmp_path / "store.sqlite3")
    try:
        assert await asyncio.gather(*(store.get_digest(DAY, "ko") for _ in range(20))) == [None] * 20
    finally:
        await store.close()
    assert len(opened) == 1
