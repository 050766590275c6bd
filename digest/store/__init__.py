"""Where digests, briefs, subscriptions, the delivery ledger and locks live.

`open_store(settings)` picks RedisStore when REDIS_URL is set (a Redis Cluster with DIGEST_REDIS_CLUSTER), else the
embedded SqliteStore under DIGEST_DATA_DIR.
"""

from __future__ import annotations

from digest.settings import Settings
from digest.store.base import Store, StoreUnavailable


def open_store(settings: Settings) -> Store:
    if settings.redis_url:
        from digest.store.redis import RedisStore

        return RedisStore(
            settings.redis_url,
            prefix=settings.key_prefix,
            cluster=settings.redis_cluster,
            retention_days=settings.retention_days,
        )
    from digest.store.sqlite import SqliteStore

    return SqliteStore(
        settings.data_dir / "store.sqlite3", prefix=settings.key_prefix, retention_days=settings.retention_days
    )


__all__ = ["Store", "StoreUnavailable", "open_store"]
