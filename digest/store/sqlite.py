"""The embedded store: one SQLite file under DIGEST_DATA_DIR, used when REDIS_URL is unset.

Several processes on one machine may share the file: every write that reads first runs in a
BEGIN IMMEDIATE transaction, so claims and locks are exclusive across processes, as in Redis.
Queries run on aiosqlite's thread; what stays on the event loop is parsing, so the reads a web request makes
(health, metrics, pages) are constant-size: a day's ledger is counted as it changes (delivery_counts), never
counted from its rows.

Bounded: ledger rows, their counts, once-keys and locks carry an expiry (`retention_days` after the last change
for the ledger); `prune()` removes what has expired (the scheduler's leader calls it on every tick).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from digest.fulltext.model import Entry as FullTextEntry
from digest.fulltext.model import pack, unpack
from digest.models import Brief, Digest, Lang
from digest.store import schema
from digest.store.base import (
    RETENTION_DAYS,
    SPEND_KEEP_DAYS,
    Clock,
    DayCounts,
    Delivery,
    LastSent,
    NextPost,
    Planned,
    Platform,
    StoreUnavailable,
    Subscription,
    utcnow,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    day TEXT NOT NULL, lang TEXT NOT NULL, body TEXT NOT NULL, paper_ids TEXT NOT NULL,
    PRIMARY KEY (day, lang)
);
CREATE TABLE IF NOT EXISTS briefs (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend (day TEXT PRIMARY KEY, usd REAL NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    platform TEXT NOT NULL, chat_id TEXT NOT NULL, body TEXT NOT NULL,
    next_at REAL NOT NULL DEFAULT -1,  -- the schedule index (digest.store.base.Planned): epoch ms, < 0 to plan
    PRIMARY KEY (platform, chat_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    platform TEXT NOT NULL, chat_id TEXT NOT NULL, day TEXT NOT NULL, body TEXT NOT NULL,
    expires REAL,  -- epoch seconds: retention_days after the row's last change
    PRIMARY KEY (platform, chat_id, day)
);
CREATE INDEX IF NOT EXISTS deliveries_day ON deliveries (day);
CREATE TABLE IF NOT EXISTS delivery_counts (
    day TEXT NOT NULL, platform TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (day, platform, status)
);
CREATE TABLE IF NOT EXISTS delivery_last (
    day TEXT PRIMARY KEY, platform TEXT NOT NULL, chat_id TEXT NOT NULL, at TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (name TEXT PRIMARY KEY, body TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fulltexts (
    paper_id TEXT NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (paper_id, version)
);
"""

# Indexes on columns that older files lack: created after the upgrade below has added the columns.
INDEXES = """
CREATE INDEX IF NOT EXISTS deliveries_expires ON deliveries (expires);
CREATE INDEX IF NOT EXISTS subscriptions_next_at ON subscriptions (next_at);
CREATE INDEX IF NOT EXISTS delivery_counts_expires ON delivery_counts (expires);
CREATE INDEX IF NOT EXISTS locks_expires ON locks (expires);
"""
# PRAGMA user_version: 0 = a file from before the counts, expiries and the schedule index; 1 = this layout.
FILE_VERSION = 1

PARSE_CACHE_SIZE = 64  # parsed digests kept in process for find_digest, checked against the stored body each read
NEVER_MS = 253402300799000.0  # 9999-12-31: the schedule mark of a chat that posts on no weekday


def _successor(
    current: Delivery | None, platform: Platform, chat_id: str, day: date, now: datetime, **changes: Any
) -> Delivery:
    """The ledger row after a transition: what a resume needs (message id, progress, attempts, the owner it
    took over from) carries over from `current`; the error and the claim's expiry only when given."""
    carried: dict[str, Any] = {"attempts": 1, "message_id": None, "progress": 0, "took_over": None}
    if current is not None:
        carried = current.model_dump(include=set(carried))
    fields = {**carried, "updated_at": now, **changes}
    return Delivery(platform=platform, chat_id=chat_id, day=day, **fields)


class SqliteStore:
    def __init__(
        self,
        path: Path,
        *,
        prefix: str = "digestbot",
        retention_days: int = RETENTION_DAYS,
        clock: Clock = utcnow,
    ) -> None:
        self.path = path
        self.prefix = prefix  # one file per deployment already; kept for the lock and once-key names
        self.retention_s = retention_days * 86400.0
        self._clock = clock  # every timestamp and expiry this store writes or compares (tests step it)
        self._db: aiosqlite.Connection | None = None
        # One connection per store: concurrent tasks (a fan-out) must not nest BEGIN IMMEDIATE on it.
        self._write_lock = asyncio.Lock()
        self._open_lock = asyncio.Lock()  # concurrent first calls open (and upgrade) the file once, not once each
        # (lang, day) -> (the stored JSON, its parse). Validating a digest costs milliseconds of CPU (the text
        # validators run on every field) and every follow-up command reads one, so reuse the parse while the
        # stored body is the same string; comparing it is a memcmp. Another process may have saved a new one.
        self._parsed: OrderedDict[tuple[str, str], tuple[str, Digest]] = OrderedDict()

    def describe(self) -> str:
        return f"the embedded store at {self.path}"

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is not None:
            return self._db
        # Concurrent first uses (a fan-out) wait for one connection: each extra one would be left open, its worker
        # thread keeping the process alive after close().
        async with self._open_lock:
            if self._db is None:
                db = None
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    db = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
                    await db.execute("PRAGMA journal_mode=WAL")
                    await db.execute("PRAGMA busy_timeout=30000")
                    await db.executescript(SCHEMA)
                    await self._upgrade(db)
                    await db.executescript(INDEXES)
                except (OSError, sqlite3.Error) as exc:
                    if db is not None:
                        await db.close()
                    raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
                self._db = db
        return self._db

    async def _upgrade(self, db: aiosqlite.Connection) -> None:
        """Bring a file written before the ledger counts, expiries and the schedule index up to FILE_VERSION:
        once, in one transaction (several processes may open it at once; the first one does the work)."""
        async with db.execute("PRAGMA user_version") as cur:
            if (await cur.fetchone())[0] >= FILE_VERSION:  # type: ignore[index]
                return
        await db.execute("BEGIN IMMEDIATE")
        try:
            async with db.execute("PRAGMA user_version") as cur:
                if (await cur.fetchone())[0] >= FILE_VERSION:  # type: ignore[index]
                    await db.execute("ROLLBACK")
                    return
            columns = {
                table: {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}
                for table in ("deliveries", "subscriptions")
            }
            if "expires" not in columns["deliveries"]:
                await db.execute("ALTER TABLE deliveries ADD COLUMN expires REAL")
            if "next_at" not in columns["subscriptions"]:
                await db.execute("ALTER TABLE subscriptions ADD COLUMN next_at REAL NOT NULL DEFAULT -1")
            # Rows kept from before get a full retention from now: nothing vanishes the moment the bot upgrades.
            expires = self._clock().timestamp() + self.retention_s
            await db.execute("UPDATE deliveries SET expires = ? WHERE expires IS NULL", (expires,))
            await db.execute("DELETE FROM delivery_counts")
            await db.execute(
                "INSERT INTO delivery_counts (day, platform, status, n, expires) SELECT day, platform, "
                "json_extract(body, '$.status'), COUNT(*), ? FROM deliveries GROUP BY 1, 2, 3",
                (expires,),
            )
            await db.execute("DELETE FROM delivery_last")
            await db.execute(
                "INSERT INTO delivery_last (day, platform, chat_id, at, expires) "
                "SELECT day, platform, chat_id, at, ? FROM ("
                " SELECT day, platform, chat_id, json_extract(body, '$.updated_at') AS at, ROW_NUMBER() OVER"
                " (PARTITION BY day ORDER BY json_extract(body, '$.updated_at') DESC) AS n FROM deliveries"
                " WHERE json_extract(body, '$.status') = 'sent' AND json_extract(body, '$.updated_at') IS NOT NULL"
                ") WHERE n = 1",
                (expires,),
            )
            await db.execute(f"PRAGMA user_version = {FILE_VERSION}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

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
        return await self.find_digest(lang, day)

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
            (paper_id, version, self._clock().timestamp()),
        )
        return unpack(bytes(row[0])) if row else None  # type: ignore[arg-type]

    async def put_fulltext(self, entry: FullTextEntry, ttl_s: float) -> None:
        now = self._clock().timestamp()
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

    @staticmethod
    async def _to_plan(db: aiosqlite.Connection) -> float:
        """A fresh "to be planned" mark: negative and unique, so a plan computed from an older body never lands."""
        async with db.execute(
            "INSERT INTO meta (key, value) VALUES ('plan_gen', 1) "
            "ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return -float(row[0])

    async def put_subscription(self, sub: Subscription) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO subscriptions (platform, chat_id, body, next_at) VALUES (?, ?, ?, ?)",
                (sub.platform, sub.chat_id, schema.dump(sub), await self._to_plan(db)),
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
                "INSERT OR REPLACE INTO subscriptions (platform, chat_id, body, next_at) VALUES (?, ?, ?, ?)",
                (platform, new_chat_id, schema.dump(sub), await self._to_plan(db)),
            )
            async with db.execute(
                "SELECT body FROM deliveries WHERE platform = ? AND chat_id = ?", (platform, old_chat_id)
            ) as cur:
                rows = await cur.fetchall()
            for (body,) in rows:
                old = schema.load(Delivery, body)
                replaced = await self._delivery_in(db, platform, new_chat_id, old.day)
                await self._count(db, old.day, platform, old.status, -1)  # the row leaves under its old id...
                await self._put_delivery(db, old.model_copy(update={"chat_id": new_chat_id}), replaced)  # ...here
            await db.execute("DELETE FROM deliveries WHERE platform = ? AND chat_id = ?", (platform, old_chat_id))
            return True

    async def due_subscriptions(self, until: datetime) -> list[Planned]:
        rows = await self._all(
            "SELECT body, next_at FROM subscriptions WHERE next_at <= ? ORDER BY next_at",
            (until.timestamp() * 1000,),
        )
        return [Planned(schema.load(Subscription, str(body)), float(mark)) for body, mark in rows]  # type: ignore[arg-type]

    async def set_next_posts(self, plans: Sequence[NextPost]) -> None:
        if not plans:
            return
        async with self._write() as db:
            await db.executemany(
                "UPDATE subscriptions SET next_at = ? WHERE platform = ? AND chat_id = ? AND next_at = ?",
                [(p.at.timestamp() * 1000 if p.at else NEVER_MS, p.platform, p.chat_id, p.mark) for p in plans],
            )

    async def reset_schedule(self, basis: str) -> bool:
        row = await self._one("SELECT value FROM meta WHERE key = 'schedule_basis'", ())
        if row is not None and row[0] == basis:
            return False
        async with self._write() as db:
            await db.execute("UPDATE subscriptions SET next_at = ?", (await self._to_plan(db),))
            await db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schedule_basis', ?)", (basis,))
        return True

    # The delivery ledger

    async def _delivery_in(self, db: aiosqlite.Connection, platform: str, chat_id: str, day: date) -> Delivery | None:
        async with db.execute(
            "SELECT body FROM deliveries WHERE platform = ? AND chat_id = ? AND day = ?",
            (platform, chat_id, day.isoformat()),
        ) as cur:
            row = await cur.fetchone()
        return schema.load(Delivery, row[0]) if row else None

    def _expires(self) -> float:
        return self._clock().timestamp() + self.retention_s

    async def _count(self, db: aiosqlite.Connection, day: date, platform: str, status: str, delta: int) -> None:
        await db.execute(
            "INSERT INTO delivery_counts (day, platform, status, n, expires) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (day, platform, status) DO UPDATE SET n = n + excluded.n, expires = excluded.expires",
            (day.isoformat(), platform, status, delta, self._expires()),
        )

    async def _put_delivery(self, db: aiosqlite.Connection, row: Delivery, before: Delivery | None) -> None:
        """Write `row` in place of `before` (the row it replaces, None when new), and keep the day's counts."""
        await db.execute(
            "INSERT OR REPLACE INTO deliveries (platform, chat_id, day, body, expires) VALUES (?, ?, ?, ?, ?)",
            (row.platform, row.chat_id, row.day.isoformat(), schema.dump(row), self._expires()),
        )
        if before is None or before.status != row.status:
            if before is not None:
                await self._count(db, row.day, row.platform, before.status, -1)
            await self._count(db, row.day, row.platform, row.status, 1)
        if row.status == "sent" and (before is None or before.status != "sent"):
            at = (row.updated_at or self._clock()).isoformat()
            await db.execute(
                "INSERT OR REPLACE INTO delivery_last (day, platform, chat_id, at, expires) VALUES (?, ?, ?, ?, ?)",
                (row.day.isoformat(), row.platform, row.chat_id, at, self._expires()),
            )

    async def claim_delivery(self, platform: Platform, chat_id: str, day: date, owner: str, ttl_s: float) -> bool:
        now = self._clock()
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
                    now,
                    status="claimed",
                    owner=owner,
                    attempts=(current.attempts if current else 0) + 1,
                    error=current.error if current else None,
                    updated_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                    took_over=took_over,
                ),
                current,
            )
            return True

    async def mark_progress(
        self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str | None, done: int, ttl_s: float
    ) -> bool:
        now = self._clock()
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            if current is None or current.status != "claimed" or current.owner != owner:
                return False
            update = {"message_id": message_id, "progress": done, "updated_at": now}
            update["expires_at"] = now + timedelta(seconds=ttl_s)
            await self._put_delivery(db, current.model_copy(update=update), current)
            return True

    async def mark_sent(self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str) -> None:
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            now = self._clock()
            row = _successor(current, platform, chat_id, day, now, status="sent", owner=owner, message_id=message_id)
            await self._put_delivery(db, row, current)

    async def mark_failed(self, platform: Platform, chat_id: str, day: date, owner: str, error: str) -> None:
        async with self._write() as db:
            current = await self._delivery_in(db, platform, chat_id, day)
            if current is not None and current.status == "sent":
                return  # another attempt already delivered it; never downgrade a sent row
            # The message id and progress stay: they are where a retry resumes.
            now = self._clock()
            row = _successor(current, platform, chat_id, day, now, status="failed", owner=owner, error=error)
            await self._put_delivery(db, row, current)

    async def get_delivery(self, platform: Platform, chat_id: str, day: date) -> Delivery | None:
        db = await self._conn()
        return await self._delivery_in(db, platform, chat_id, day)

    async def list_deliveries(self, day: date) -> list[Delivery]:
        rows = await self._all(
            "SELECT body FROM deliveries WHERE day = ? ORDER BY platform, chat_id", (day.isoformat(),)
        )
        return [schema.load(Delivery, str(row[0])) for row in rows]

    async def deliveries_of(self, day: date, chats: Sequence[tuple[Platform, str]]) -> list[Delivery]:
        found: list[Delivery] = []
        wanted = list(dict.fromkeys(chats))
        for start in range(0, len(wanted), 400):  # under SQLite's limit of bound parameters
            batch = wanted[start : start + 400]
            pairs = " OR ".join("(platform = ? AND chat_id = ?)" for _ in batch)
            args = [day.isoformat(), *(v for pair in batch for v in pair)]
            rows = await self._all(f"SELECT body FROM deliveries WHERE day = ? AND ({pairs})", tuple(args))
            found += [schema.load(Delivery, str(row[0])) for row in rows]
        return sorted(found, key=lambda d: (d.platform, d.chat_id))

    async def delivery_counts(self, day: date) -> DayCounts:
        rows = await self._all(
            "SELECT platform, status, n FROM delivery_counts WHERE day = ? AND n > 0", (day.isoformat(),)
        )
        last = await self._one("SELECT platform, chat_id, at FROM delivery_last WHERE day = ?", (day.isoformat(),))
        return DayCounts(
            day=day,
            rows={(str(p), str(s)): int(n) for p, s, n in rows},  # type: ignore[misc, call-overload]
            last_sent=LastSent(str(last[0]), str(last[1]), datetime.fromisoformat(str(last[2]))) if last else None,
        )

    async def prune(self) -> int:
        now = self._clock().timestamp()
        removed = 0
        async with self._write() as db:
            for table in ("deliveries", "delivery_counts", "delivery_last", "locks", "fulltexts"):
                cur = await db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,))
                removed += cur.rowcount
            oldest_spend = (self._clock().date() - timedelta(days=SPEND_KEEP_DAYS)).isoformat()
            cur = await db.execute("DELETE FROM spend WHERE day < ?", (oldest_spend,))
            removed += cur.rowcount
        return removed

    # Locks and once-only keys

    async def acquire_lock(self, name: str, token: str, ttl_s: float) -> bool:
        now = self._clock().timestamp()
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
        now = self._clock().timestamp()
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
        now = self._clock().timestamp()
        ttl_s = min(ttl_s, self.retention_s)
        async with self._write() as db:
            async with db.execute("SELECT expires FROM locks WHERE name = ?", (f"once:{key}",)) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] > now:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO locks (name, token, expires) VALUES (?, '', ?)", (f"once:{key}", now + ttl_s)
            )
            return True

    # Heartbeats

    async def put_heartbeat(self, name: str, body: str, ttl_s: float) -> None:
        now = self._clock().timestamp()
        async with self._write() as db:
            await db.execute("DELETE FROM heartbeats WHERE expires <= ? OR name = ?", (now, name))
            if ttl_s > 0:
                await db.execute(
                    "INSERT INTO heartbeats (name, body, expires) VALUES (?, ?, ?)", (name, body, now + ttl_s)
                )

    async def heartbeats(self) -> dict[str, str]:
        rows = await self._all("SELECT name, body FROM heartbeats WHERE expires > ?", (self._clock().timestamp(),))
        return {str(name): str(body) for name, body in rows}

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
