"""The embedded store: one SQLite file under DIGEST_DATA_DIR, used when REDIS_URL is unset.

Several processes on one machine may share the file: every write that reads first runs in a
BEGIN IMMEDIATE transaction, so claims and locks are exclusive across processes, as in Redis.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from digest.fulltext.model import Entry as FullTextEntry
from digest.fulltext.model import pack, unpack
from digest.models import Brief, Digest, Lang
from digest.store import schema
from digest.store.base import SPEND_KEEP_DAYS, Delivery, Platform, StoreUnavailable, Subscription

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    day TEXT NOT NULL, lang TEXT NOT NULL, body TEXT NOT NULL, paper_ids TEXT NOT NULL,
    PRIMARY KEY (day, lang)
);
CREATE TABLE IF NOT EXISTS briefs (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend (day TEXT PRIMARY KEY, usd REAL NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    platform TEXT NOT NULL, chat_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (platform, chat_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    platform TEXT NOT NULL, chat_id TEXT NOT NULL, day TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (platform, chat_id, day)
);
CREATE INDEX IF NOT EXISTS deliveries_day ON deliveries (day);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fulltexts (
    paper_id TEXT NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (paper_id, version)
);
"""

PARSE_CACHE_SIZE = 64  # parsed digests kept in process for find_digest, checked against the stored body each read


def _now() -> datetime:
    return datetime.now(UTC)


def _successor(current: Delivery | None, platform: Platform, chat_id: str, day: date, **changes: Any) -> Delivery:
    """The ledger row after a transition: what a resume needs (message id, progress, attempts, the owner it
    took over from) carries over from `current`; the error and the claim's expiry only when given."""
    carried: dict[str, Any] = {"attempts": 1, "message_id": None, "progress": 0, "took_over": None}
    if current is not None:
        carried = current.model_dump(include=set(carried))
    fields = {**carried, "updated_at": _now(), **changes}
    return Delivery(platform=platform, chat_id=chat_id, day=day, **fields)


class SqliteStore:
    def __init__(self, path: Path, *, prefix: str = "digestbot") -> None:
        self.path = path
        self.prefix = prefix  # one file per deployment already; kept for the lock and once-key names
        self._db: aiosqlite.Connection | None = None
        # One connection per store: concurrent tasks (a fan-out) must not nest BEGIN IMMEDIATE on it.
        self._write_lock = asyncio.Lock()
        # (lang, day) -> (the stored JSON, its parse). Validating a digest costs milliseconds of CPU (the text
        # validators run on every field) and every follow-up command reads one, so reuse the parse while the
        # stored body is the same string; comparing it is a memcmp. Another process may have saved a new one.
        self._parsed: OrderedDict[tuple[str, str], tuple[str, Digest]] = OrderedDict()

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA busy_timeout=30000")
                await db.executescript(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
            self._db = db
        return self._db

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """An exclusive write transaction (BEGIN IMMEDIATE): read-check-write is atomic across processes."""
        db = await self._conn()
        async with self._write_lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            else:
                await db.execute("COMMIT")

    async def _one(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        db = await self._conn()
        async with db.execute(sql, args) as cur:
            return await cur.fetchone()  # type: ignore[return-value]

    async def _all(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        db = await self._conn()
        async with db.execute(sql, args) as cur:
            return list(await cur.fetchall())  # type: ignore[arg-type]

    # Digests and briefs

    async def save_digest(self, digest: Digest) -> None:
        ids = json.dumps([item.paper.id for item in digest.items])
        async with self._write() as db:
            # One row holds the whole digest, so a reader sees the old one or the new one, never a mix.
            await db.execute(
                "INSERT OR REPLACE INTO digests (day, lang, body, paper_ids) VALUES (?, ?, ?, ?)",
                (digest.date.isoformat(), digest.lang, schema.dump(digest), ids),
            )

    async def get_digest(self, day: date, lang: Lang) -> Digest | None:
        row = await self._one("SELECT body FROM digests WHERE day = ? AND lang = ?", (day.isoformat(), lang))
        return schema.load(Digest, str(row[0])) if row else None

    async def find_digest(self, lang: Lang, day: date | None = None) -> Digest | None:
        if day is None:
            # "Latest" is the newest day that has papers: an empty day must not empty every follow-up.
            row = await self._one(
                "SELECT day, body FROM digests WHERE lang = ? AND paper_ids != '[]' ORDER BY day DESC LIMIT 1", (lang,)
            )
        else:
            row = await self._one("SELECT day, body FROM digests WHERE day = ? AND lang = ?", (day.isoformat(), lang))
        if row is None:
            return None
        key, body = (lang, str(row[0])), str(row[1])
        cached = self._parsed.get(key)
        if cached is not None and cached[0] == body:
            digest = cached[1]
        else:
            digest = schema.load(Digest, body)
            self._parsed[key] = (body, digest)
            while len(self._parsed) > PARSE_CACHE_SIZE:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end(key)
        return digest

    async def latest_date(self, lang: Lang) -> date | None:
        row = await self._one("SELECT MAX(day) FROM digests WHERE lang = ?", (lang,))
        return date.fromisoformat(str(row[0])) if row and row[0] else None

    async def list_dates(self, lang: Lang) -> list[date]:
        rows = await self._all("SELECT day FROM digests WHERE lang = ? ORDER BY day DESC", (lang,))
        return [date.fromisoformat(str(row[0])) for row in rows]

    async def published_ids(self, before: date, days: int) -> set[str]:
        since = (before - timedelta(days=days)).isoformat()
        rows = await self._all("SELECT paper_ids FROM digests WHERE day < ? AND day >= ?", (before.isoformat(), since))
        return {paper_id for (ids,) in rows for paper_id in json.loads(str(ids))}

    async def get_brief(self, key: str) -> Brief | None:
        row = await self._one("SELECT body FROM briefs WHERE key = ?", (key,))
        return schema.load(Brief, str(row[0])) if row else None

    async def put_brief(self, key: str, brief: Brief) -> None:
        async with self._write() as db:
            await db.execute("INSERT OR REPLACE INTO briefs (key, body) VALUES (?, ?)", (key, schema.dump(brief)))

    # Parsed full texts (zlib-compressed JSON; expiry checked on read, expired rows purged on write)

    async def get_fulltext(self, paper_id: str, version: int) -> FullTextEntry | None:
        row = await self._one(
            "SELECT body FROM fulltexts WHERE paper_id = ? AND version = ? AND expires > ?",
            (paper_id, version, _now().timestamp()),
        )
        return unpack(bytes(row[0])) if row else None  # type: ignore[arg-type]

    async def put_fulltext(self, entry: FullTextEntry, ttl_s: float) -> None:
        now = _now().timestamp()
        body = pack(entry)
        async with self._write() as db:
            await db.execute("DELETE FROM fulltexts WHERE expires <= ?", (now,))
            await db.execute(
                "INSERT OR REPLACE INTO fulltexts (paper_id, version, body, expires) VALUES (?, ?, ?, ?)",
                (entry.paper_id, entry.version, body, now + ttl_s),
            )

    # The LLM spend of each day

    async def add_spend(self, day: date, usd: float) -> float:
        async with self._write() as db:
            # Days older than SPEND_KEEP_DAYS go, as Redis expires them.
            await db.execute("DELETE FROM spend WHERE day < ?", ((day - timedelta(days=SPEND_KEEP_DAYS)).isoformat(),))
            async with db.execute(
                "INSERT INTO spend (day, usd) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET usd = usd + excluded.usd "
                "RETURNING usd",
                (day.isoformat(), usd),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            return float(row[0])

    async def get_spend(self, day: date) -> float:
        row = await self._one("SELECT usd FROM spend WHERE day = ?", (day.isoformat(),))
        return float(row[0]) if row else 0.0  # type: ignore[arg-type]

    # Subscriptions

    async def put_subscription(self, sub: Subscription) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO subscriptions (platform, chat_id, body) VALUES (?, ?, ?)",
                (sub.platform, sub.chat_id, schema.dump(sub)),
            )

    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        row = await self._one("SELECT body FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, chat_id))
        return schema.load(Subscription, str(row[0])) if row else None

    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        async with self._write() as db:
            cur = await db.execute("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, chat_id))
            return cur.rowcount > 0

    async def list_subscriptions(self, platform: Platform | None = None) -> list[Subscription]:
        if platform is None:
            rows = await self._all("SELECT body FROM subscriptions ORDER BY platform, chat_id")
        else:
            rows = await self._all("SELECT body FROM subscriptions WHERE platform = ? ORDER BY chat_id", (platform,))
        return [schema.load(Subscription, str(row[0])) for row in rows]

    async def move_subscription(self, platform: Platform, old_chat_id: str, new_chat_id: str) -> bool:
        async with self._write() as db:
            async with db.execute(
                "SELECT body FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, old_chat_id)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return False
            sub = schema.load(Subscription, row[0]).model_copy(update={"chat_id": new_chat_id})
            await db.execute("DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, old_chat_id))
            await db.execute(
                "INSERT OR REPLACE INTO subscriptions (platform, chat_id, body) VALUES (?, ?, ?)",
                (platform, new_chat_id, schema.dump(sub)),
            )
            async with db.execute(
                "SELECT day, body FROM deliveries WHERE platform = ? AND chat_id = ?", (platform, old_chat_id)
            ) as cur:
                rows = await cur.fetchall()
            for day, body in rows:
                moved = schema.load(Delivery, body).model_copy(update={"chat_id": new_chat_id})
                await db.execute(
                    "INSERT OR REPLACE INTO deliveries (platform, chat_id, day, body) VALUES (?, ?, ?, ?)",
                    (platform, new_chat_id, day, schema.dump(moved)),
                )
            await db.execute("DELETE FROM deliveries WHERE platform = ? AND chat_id = ?", (platform, old_chat_id))
            return True

    # The delivery ledger

    async def _delivery_in(self, db: aiosqlite.Connection, platform: str, chat_id: str, day: date) -> Delivery | None:
        async with db.execute(
            "SELECT body FROM deliveries WHERE platform = ? AND chat_id = ? AND day = ?",
            (platform, chat_id, day.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        return schema.load(Delivery, row[0]) if row else None

    async def _put_delivery(self, db: aiosqlite.Connection, row: Delivery) -> None:
        await db.execute(
            "INSERT OR REPLACE INTO deliveries (platform, chat_id, day, body) VALUES (?, ?, ?, ?)",
            (row.platform, row.chat_id, row.day.isoformat(), schema.dump(row)),
        )

    async def claim_delivery(self, platform: Platform, chat_id: str, day: date, owner: str, ttl_s: float) -> bool:
        now = _now()
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            took_over = None
            if current is not None:
                if current.status == "sent":
                    return False
                live = current.expires_at is not None and current.expires_at > now
                if current.status == "claimed" and current.owner != owner:
                    if live:
                        return False
                    took_over = current.owner
            await self._put_delivery(
                db,
                _successor(
                    current,
                    platform,
                    chat_id,
                    day,
                    status="claimed",
                    owner=owner,
                    attempts=(current.attempts if current else 0) + 1,
                    error=current.error if current else None,
                    updated_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                    took_over=took_over,
                ),
            )
            return True

    async def mark_progress(
        self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str | None, done: int, ttl_s: float
    ) -> bool:
        now = _now()
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            if current is None or current.status != "claimed" or current.owner != owner:
                return False
            update = {"message_id": message_id, "progress": done, "updated_at": now}
            update["expires_at"] = now + timedelta(seconds=ttl_s)
            await self._put_delivery(db, current.model_copy(update=update))
            return True

    async def mark_sent(self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str) -> None:
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            row = _successor(current, platform, chat_id, day, status="sent", owner=owner, message_id=message_id)
            await self._put_delivery(db, row)

    async def mark_failed(self, platform: Platform, chat_id: str, day: date, owner: str, error: str) -> None:
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            if current is not None and current.status == "sent":
                return  # another attempt already delivered it; never downgrade a sent row
            # The message id and progress stay: they are where a retry resumes.
            row = _successor(current, platform, chat_id, day, status="failed", owner=owner, error=error)
            await self._put_delivery(db, row)

    async def get_delivery(self, platform: Platform, chat_id: str, day: date) -> Delivery | None:
        db = await self._conn()
        return await self._delivery_in(db, platform, chat_id, day)

    async def list_deliveries(self, day: date) -> list[Delivery]:
        rows = await self._all(
            "SELECT body FROM deliveries WHERE day = ? ORDER BY platform, chat_id", (day.isoformat(),)
        )
        return [schema.load(Delivery, str(row[0])) for row in rows]

    # Locks and once-only keys

    async def acquire_lock(self, name: str, token: str, ttl_s: float) -> bool:
        now = _now().timestamp()
        async with self._write() as db:
            async with db.execute("SELECT token, expires FROM locks WHERE name = ?", (name,)) as cur:
                row = await cur.fetchone()
            if row is not None and row[1] > now and row[0] != token:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO locks (name, token, expires) VALUES (?, ?, ?)", (name, token, now + ttl_s)
            )
            return True

    async def renew_lock(self, name: str, token: str, ttl_s: float) -> bool:
        now = _now().timestamp()
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE locks SET expires = ? WHERE name = ? AND token = ? AND expires > ?",
                (now + ttl_s, name, token, now),
            )
            return cur.rowcount > 0

    async def release_lock(self, name: str, token: str) -> bool:
        async with self._write() as db:
            cur = await db.execute("DELETE FROM locks WHERE name = ? AND token = ?", (name, token))
            return cur.rowcount > 0

    async def first_time(self, key: str, ttl_s: float) -> bool:
        now = _now().timestamp()
        async with self._write() as db:
            async with db.execute("SELECT expires FROM locks WHERE name = ?", (f"once:{key}",)) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] > now:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO locks (name, token, expires) VALUES (?, '', ?)", (f"once:{key}", now + ttl_s)
            )
            return True

    # Export, for `digestbot store migrate` (the protocol has no "list every brief / ledger row")

    async def export_briefs(self) -> list[tuple[str, Brief]]:
        rows = await self._all("SELECT key, body FROM briefs ORDER BY key")
        return [(str(key), schema.load(Brief, str(body))) for key, body in rows]

    async def export_deliveries(self) -> list[Delivery]:
        rows = await self._all("SELECT body FROM deliveries ORDER BY day, platform, chat_id")
        return [schema.load(Delivery, str(row[0])) for row in rows]

    async def ping(self) -> None:
        await self._one("SELECT 1", ())

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
