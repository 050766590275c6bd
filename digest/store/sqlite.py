"""The embedded store: one SQLite file under DIGEST_DATA_DIR, used when REDIS_URL is unset."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import aiosqlite

from digest.models import Brief, Digest, Lang
from digest.store.base import StoreUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    day TEXT NOT NULL, lang TEXT NOT NULL, body TEXT NOT NULL, paper_ids TEXT NOT NULL,
    PRIMARY KEY (day, lang)
);
CREATE TABLE IF NOT EXISTS briefs (key TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


class SqliteStore:
    def __init__(self, path: Path, *, prefix: str = "digestbot") -> None:
        self.path = path
        self.prefix = prefix
        self._db: aiosqlite.Connection | None = None

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = await aiosqlite.connect(self.path, timeout=30)
                await db.execute("PRAGMA journal_mode=WAL")
                await db.executescript(SCHEMA)
                await db.commit()
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
            self._db = db
        return self._db

    async def save_digest(self, digest: Digest) -> None:
        db = await self._conn()
        ids = json.dumps([item.paper.id for item in digest.items])
        # One row holds the whole digest, so a reader sees the old one or the new one, never a mix.
        await db.execute(
            "INSERT OR REPLACE INTO digests (day, lang, body, paper_ids) VALUES (?, ?, ?, ?)",
            (digest.date.isoformat(), digest.lang, digest.model_dump_json(), ids),
        )
        await db.commit()

    async def get_digest(self, day: date, lang: Lang) -> Digest | None:
        db = await self._conn()
        async with db.execute("SELECT body FROM digests WHERE day = ? AND lang = ?", (day.isoformat(), lang)) as cur:
            row = await cur.fetchone()
        return Digest.model_validate_json(row[0]) if row else None

    async def latest_date(self, lang: Lang) -> date | None:
        dates = await self.list_dates(lang)
        return dates[0] if dates else None

    async def list_dates(self, lang: Lang) -> list[date]:
        db = await self._conn()
        async with db.execute("SELECT day FROM digests WHERE lang = ? ORDER BY day DESC", (lang,)) as cur:
            return [date.fromisoformat(row[0]) for row in await cur.fetchall()]

    async def published_ids(self, before: date, days: int) -> set[str]:
        db = await self._conn()
        since = (before - timedelta(days=days)).isoformat()
        async with db.execute(
            "SELECT paper_ids FROM digests WHERE day < ? AND day >= ?", (before.isoformat(), since)
        ) as cur:
            rows = await cur.fetchall()
        return {paper_id for (ids,) in rows for paper_id in json.loads(ids)}

    async def get_brief(self, key: str) -> Brief | None:
        db = await self._conn()
        async with db.execute("SELECT body FROM briefs WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return Brief.model_validate_json(row[0]) if row else None

    async def put_brief(self, key: str, brief: Brief) -> None:
        db = await self._conn()
        await db.execute("INSERT OR REPLACE INTO briefs (key, body) VALUES (?, ?)", (key, brief.model_dump_json()))
        await db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
