"""Write the stored-data fixtures: tests/data/store-v1.sqlite3 (embedded store) and tests/data/store-v1.rdb (Redis).

Both hold what a deployment of the first stored-data version had after one morning: the ko and en digests of
the reference day, their briefs, subscriptions on both platforms, ledger rows (sent, failed, claimed) and the
day's LLM spend. tests/test_store_fixture.py opens them with today's code: an upgrade must keep answering
follow-ups from them and must never post again to a chat the ledger says was served.

Run from the repository root with the project's venv (needs redis-server on PATH):
    .venv/bin/python tests/data/make_store_fixtures.py
It rewrites the two stores and tests/data/store-v1.json, the list of what they hold.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from datetime import date, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DIGEST_CONFIG"] = str(ROOT / "tests" / "data" / "empty-settings.toml")

from digest import pipeline  # noqa: E402
from digest.models import Brief  # noqa: E402
from digest.settings import Settings  # noqa: E402
from digest.store.base import Subscription  # noqa: E402
from digest.store.redis import RedisStore  # noqa: E402
from digest.store.sqlite import SqliteStore  # noqa: E402
from tests.redis_server import PrivateRedis  # noqa: E402

OUT = ROOT / "tests" / "data"
DAY = date(2026, 2, 13)
PREFIX = "digestbot"
OWNER = "fixture-host:1234"
SPEND_USD = 0.0123

SUBSCRIPTIONS = [
    Subscription(platform="slack", chat_id="C0SERVED", lang="ko", team_id="T0FIXTURE", created_by="U0ADMIN"),
    Subscription(platform="slack", chat_id="C0CLAIMED", lang="ko", team_id="T0FIXTURE"),
    Subscription(
        platform="telegram",
        chat_id="4242",
        lang="en",
        topics=["agents", "reinforcement learning"],
        post_time=time(7, 30),
        timezone="Europe/Berlin",
    ),
    Subscription(platform="telegram", chat_id="-1001234", lang="ko", failures=1),
]
# (platform, chat, status, detail): sent rows carry the message id, failed rows the error.
LEDGER = [
    ("slack", "C0SERVED", "sent", "1770940800.000100"),
    ("telegram", "4242", "sent", "77"),
    ("telegram", "-1001234", "failed", "unreachable: Forbidden: bot was blocked by the user"),
    ("slack", "C0CLAIMED", "claimed", ""),
]
EXTRA_BRIEF_KEY = "brief:fixture:0000:gpt-4o-mini:v1:en"


def settings(data_dir: Path) -> Settings:
    return Settings(DIGEST_DATA_DIR=data_dir, DIGEST_HTTP_RETRIES=0)


async def fill(store: SqliteStore | RedisStore, data_dir: Path) -> dict[str, object]:
    s = settings(data_dir)
    built = {}
    for lang in ("ko", "en"):
        result = await pipeline.build(s, store, DAY, source="sample", lang=lang)  # type: ignore[arg-type]
        built[lang] = [item.paper.id for item in result.digest.items]
    golden = (await store.get_digest(DAY, "ko")).items[0].brief  # type: ignore[union-attr]
    await store.put_brief(EXTRA_BRIEF_KEY, Brief.model_validate(golden.model_dump()))
    for sub in SUBSCRIPTIONS:
        await store.put_subscription(sub)
    for platform, chat, status, detail in LEDGER:
        # A claim left by a sender that died: already expired, so the next fan-out takes it over.
        ttl_s = 0.001 if status == "claimed" else 60
        await store.claim_delivery(platform, chat, DAY, OWNER, ttl_s=ttl_s)  # type: ignore[arg-type]
        if status == "sent":
            await store.mark_progress(platform, chat, DAY, OWNER, detail, 6, 60)  # type: ignore[arg-type]
            await store.mark_sent(platform, chat, DAY, OWNER, detail)  # type: ignore[arg-type]
        elif status == "failed":
            await store.mark_failed(platform, chat, DAY, OWNER, detail)  # type: ignore[arg-type]
    await store.add_spend(DAY, SPEND_USD)
    return {
        "day": DAY.isoformat(),
        "prefix": PREFIX,
        "papers": built,
        "brief_key": EXTRA_BRIEF_KEY,
        "subscriptions": [sub.model_dump(mode="json") for sub in SUBSCRIPTIONS],
        "ledger": [{"platform": p, "chat_id": c, "status": st, "detail": d} for p, c, st, d in LEDGER],
        "spend_usd": SPEND_USD,
    }


async def make_sqlite(work: Path) -> dict[str, object]:
    path = work / "sqlite" / "store.sqlite3"
    store = SqliteStore(path, prefix=PREFIX)
    try:
        manifest = await fill(store, work / "sqlite")
        db = await store._conn()
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the one file
    finally:
        await store.close()
    shutil.copyfile(path, OUT / "store-v1.sqlite3")
    return manifest


async def make_redis(work: Path) -> None:
    server = PrivateRedis()
    server.start()
    try:
        store = RedisStore(server.url, prefix=PREFIX)
        try:
            await fill(store, work / "redis")
            await store._r.save()
        finally:
            await store.close()
        shutil.copyfile(Path(server.dir) / "dump.rdb", OUT / "store-v1.rdb")
    finally:
        server.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = await make_sqlite(Path(tmp))
        await make_redis(Path(tmp))
    (OUT / "store-v1.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT / 'store-v1.sqlite3'}, {OUT / 'store-v1.rdb'} and {OUT / 'store-v1.json'}")


if __name__ == "__main__":
    asyncio.run(main())
