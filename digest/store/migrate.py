"""Copy an embedded store into Redis (`digestbot store migrate --from sqlite --to redis`).

Idempotent: every record is written by key, so running it twice gives the same Redis. Nothing is deleted
from the SQLite file; it stays as a backup until the operator removes it.
"""

from __future__ import annotations

from digest.models import LANGS
from digest.store.redis import RedisStore
from digest.store.sqlite import SqliteStore


async def sqlite_to_redis(source: SqliteStore, target: RedisStore) -> dict[str, int]:
    """Digests (every day and language), briefs, subscriptions and the delivery ledger; returns the counts."""
    counts = {"digests": 0, "briefs": 0, "subscriptions": 0, "deliveries": 0}
    for lang in LANGS:
        for day in await source.list_dates(lang):
            digest = await source.get_digest(day, lang)
            if digest is not None:
                await target.save_digest(digest)
                counts["digests"] += 1
    for key, brief in await source.export_briefs():
        await target.put_brief(key, brief)
        counts["briefs"] += 1
    for sub in await source.list_subscriptions():
        await target.put_subscription(sub)
        counts["subscriptions"] += 1
    for row in await source.export_deliveries():
        await target.put_delivery(row)
        counts["deliveries"] += 1
    return counts
