"""Redis goes away mid-test and comes back: replies say so, builds archive and store later, nothing is lost.

Uses its own PrivateRedis (not the shared fixture) so it can stop and start it. Before the outage the data is
SAVEd to the server's dump file, which it loads again on start, as a production Redis with persistence would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from redis.asyncio import Redis

from bot.commands.context import Context
from bot.commands.engine import answer
from bot.commands.plain import reply_to_text
from digest import pipeline
from digest.store.redis import RedisStore
from tests.redis_server import PrivateRedis
from tests.test_cli import digestbot

DAY, OTHER, TODAY = date(2026, 2, 13), date(2026, 2, 10), date(2026, 2, 14)


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    s = PrivateRedis()
    s.start()
    try:
        yield s
    finally:
        s.close()


async def persist(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.save()
    finally:
        await client.aclose()


async def test_commands_and_builds_ride_out_an_outage_without_a_restart(server, make_settings):
    settings = make_settings(redis_url=server.url)
    store = RedisStore(server.url, prefix="outage")
    try:
        assert (await pipeline.build(settings, store, DAY, source="sample")).stored
        before = await answer("/paper 3 risks", store, today=TODAY)
        assert before.kind == "answer"
        await persist(server.url)

        server.stop()
        down = await answer("/paper 3 risks", store, today=TODAY)
        print("while down:", reply_to_text(down))
        assert down.kind == "unavailable" and "잠시 사용할 수 없습니다" in reply_to_text(down)
        for text in ("/subscribe 07:30", "/settings", "/unsubscribe"):  # the same answer, not silence
            chat = Context(today=TODAY, platform="telegram", chat_id="42")
            assert await answer(text, store, chat) == down
        result = await pipeline.build(settings, store, OTHER, source="sample")
        print("build while down: stored =", result.stored, "|", result.store_error)
        assert not result.stored and result.archive_paths[1].is_file()
        assert await pipeline.flush_pending(settings, store) == []  # still down: the marker waits

        server.start()
        back = await answer("/paper 3 risks", store, today=TODAY)  # same store object: no restart
        assert back == before
        assert await pipeline.flush_pending(settings, store) == [(OTHER, "ko")]
        assert await pipeline.flush_pending(settings, store) == []
        later = await answer("/paper 3 risks 2026-02-10", store, today=TODAY)
        print("after recovery:", later.title)
        assert later.kind == "answer" and later.title is not None
        assert await store.list_dates("ko") == [DAY, OTHER]
    finally:
        await store.close()


def test_digestbot_build_says_what_happened_and_the_next_run_stores_it(server, tmp_path):
    env = {"DIGEST_DATA_DIR": str(tmp_path), "REDIS_URL": server.url, "DIGEST_KEY_PREFIX": "cli-outage"}
    server.stop()
    down = digestbot("build", "--date", "2026-02-13", "--source", "sample", env=env)
    print(down.stderr.strip().splitlines()[-1])
    assert down.returncode == 0, down.stderr  # the digest exists (archived); only the store write waits
    assert "archived in" in down.stderr and "not stored" in down.stderr
    asked = digestbot("ask", "/paper 3 risks", env=env)
    assert asked.returncode == 1 and "잠시 사용할 수 없습니다" in asked.stdout

    server.start()
    asked = digestbot("ask", "/paper 3 risks", env=env)
    print(asked.stderr.strip())
    assert asked.returncode == 0, asked.stderr
    assert "archived while the store was unavailable" in asked.stderr
    assert asked.stdout.startswith("3. DeepGen 1.0")
