"""`digestbot store migrate`: copy an embedded store into Redis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, progress, run, settings_or_exit
from digest.settings import Settings
from digest.store import StoreUnavailable

store_app = typer.Typer(help="The store: move an embedded store into Redis.", no_args_is_help=True)


@store_app.command("migrate")
def store_migrate(
    from_: Annotated[str, typer.Option("--from", help="sqlite (the embedded store under DIGEST_DATA_DIR)")] = "sqlite",
    to: Annotated[str, typer.Option("--to", help="redis (REDIS_URL)")] = "redis",
) -> None:
    """Copy digests, briefs, subscriptions and the delivery ledger from the embedded store into Redis."""
    if (from_, to) != ("sqlite", "redis"):
        raise fail("only --from sqlite --to redis is supported", 2)
    settings = settings_or_exit()
    if not settings.redis_url:
        raise fail("REDIS_URL is not set: say which Redis to copy into, e.g. REDIS_URL=redis://localhost:6379/0", 2)
    source_path = settings.data_dir / "store.sqlite3"
    if not source_path.is_file():
        raise fail(f"there is no embedded store at {source_path}; set DIGEST_DATA_DIR to the folder that has it", 2)
    try:
        counts = run(_migrate(settings, source_path))
    except StoreUnavailable as exc:
        raise fail(
            f"{exc}. Nothing was removed from {source_path}; run the migration again once Redis answers."
        ) from None
    typer.echo(json.dumps(counts))
    progress(f"copied into Redis; {source_path} is left as it was (remove it once you trust the copy)")


async def _migrate(settings: Settings, source_path: Path) -> dict[str, int]:
    from digest.store.migrate import sqlite_to_redis
    from digest.store.redis import RedisStore
    from digest.store.sqlite import SqliteStore

    source = SqliteStore(source_path, prefix=settings.key_prefix, retention_days=settings.retention_days)
    target = RedisStore(
        settings.redis_url or "",
        prefix=settings.key_prefix,
        cluster=settings.redis_cluster,
        retention_days=settings.retention_days,
    )
    try:
        return await sqlite_to_redis(source, target)
    finally:
        await source.close()
        await target.close()
