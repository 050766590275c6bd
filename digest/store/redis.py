"""RedisStore: the Store protocol on Redis (redis-py asyncio). Semantics match SqliteStore exactly.

Keys (all under `<prefix>:` so several deployments can share one Redis):
  digest:<lang>:<day>    hash {body: digest JSON, v: version, ids: JSON list of paper ids}
  dates:<lang>           sorted set of days (score: ordinal) with a digest in <lang>
  brief:<key>            string, Brief JSON
  spend:<day>            string, the LLM spend of that day in USD (INCRBYFLOAT), expires after SPEND_KEEP_DAYS
  sub:<platform>:<chat>  string, Subscription JSON;  subs:<platform>  set of chat ids;
  sub-platforms          set of the platforms with a subscription (filled from subs:* once, for older stores)
  layout                 the key layout's version (LAYOUT); bodies carry their own (digest.store.schema)
  dlv:<platform>:<chat>:<day>  hash of Delivery fields (+ exp_ms); dlv-day:<day> set of "<platform>:<chat>";
  dlv-chat:<platform>:<chat>   set of days (so a moved chat takes its ledger along)
  lock:<name>            string token with PX expiry;  once:<key>  NX PX marker
  fulltext:<id>:v<n>     string, base64 of the zlib-compressed parsed full text (digest.fulltext), with a TTL

A digest is written in one MULTI/EXEC, so readers see the old one or the new one. Ledger and lock changes that
read before they write are Lua scripts (atomic on the server). Every connection error or timeout becomes
StoreUnavailable; the pool reconnects by itself on the next call, so no restart is needed after an outage.
The Lua scripts build some keys from the prefix, so this targets a single Redis (not Redis Cluster).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

from redis import exceptions as rex
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from digest.fulltext.model import Entry as FullTextEntry
from digest.fulltext.model import pack, unpack
from digest.models import LANGS, Brief, Digest, Lang
from digest.store import schema
from digest.store.base import SPEND_KEEP_DAYS, Delivery, Platform, StoreUnavailable, Subscription

P = ParamSpec("P")
T = TypeVar("T")

LAYOUT = 2  # 2: the sub-platforms index
PARSE_CACHE_SIZE = 64  # parsed digests kept in process, checked against the stored version on every read

LATEST_SCAN = 60  # days looked back for the latest digest with papers

# find_digest in one round trip: resolve "latest" on the server, and send the body only when the caller's
# cached version is not the stored one.  ARGV: prefix, lang, day ("" = latest), known version.
_FIND = """
local day = ARGV[3]
if day == '' then
  -- "latest": the newest day whose digest has papers (an empty day must not empty every follow-up)
  local days = redis.call('ZREVRANGE', ARGV[1] .. ':dates:' .. ARGV[2], 0, LATEST_SCAN - 1)
  for _, candidate in ipairs(days) do
    local ids = redis.call('HGET', ARGV[1] .. ':digest:' .. ARGV[2] .. ':' .. candidate, 'ids')
    if ids and ids ~= '[]' then
      day = candidate
      break
    end
  end
  if day == '' then return false end
end
local key = ARGV[1] .. ':digest:' .. ARGV[2] .. ':' .. day
local v = redis.call('HGET', key, 'v')
if not v then return false end
if v == ARGV[4] then return {day, v} end
return {day, v, redis.call('HGET', key, 'body')}
""".replace("LATEST_SCAN", str(LATEST_SCAN))

# KEYS: row, day index, chat index.
# ARGV: owner, now_ms, exp_ms, now_iso, exp_iso, platform, chat, day, member, schema version
# message_id and progress stay: the new owner resumes the post. took_over: whose expired claim this replaced.
_CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'sent' then return 0 end
local took = false
if status == 'claimed' then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner ~= ARGV[1] then
    local exp = tonumber(redis.call('HGET', KEYS[1], 'exp_ms') or '0')
    if exp > tonumber(ARGV[2]) then return 0 end
    took = owner
  end
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'platform', ARGV[6], 'chat_id', ARGV[7], 'day', ARGV[8], 'status', 'claimed',
  'owner', ARGV[1], 'updated_at', ARGV[4], 'expires_at', ARGV[5], 'exp_ms', ARGV[3], 'schema_version', ARGV[10])
if took then redis.call('HSET', KEYS[1], 'took_over', took) else redis.call('HDEL', KEYS[1], 'took_over') end
redis.call('SADD', KEYS[2], ARGV[9])
redis.call('SADD', KEYS[3], ARGV[8])
return 1
"""

# Only the claim's owner writes progress (and extends the claim).  KEYS: row.
# ARGV: owner, message_id ('' = none), done, now_iso, exp_iso, exp_ms
_PROGRESS = """
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'message_id') else redis.call('HSET', KEYS[1], 'message_id', ARGV[2]) end
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'updated_at', ARGV[4], 'expires_at', ARGV[5], 'exp_ms', ARGV[6])
return 1
"""

# KEYS: row, day index, chat index.
# ARGV: status, owner, now_iso, platform, chat, day, member, field, value, schema version
# 'failed' never downgrades a 'sent' row; the claim's expiry goes away either way. message_id and progress stay
# on a failed row (a retry resumes there); 'sent' sets message_id.
_FINISH = """
if ARGV[1] == 'failed' and redis.call('HGET', KEYS[1], 'status') == 'sent' then return 0 end
if not redis.call('HGET', KEYS[1], 'attempts') then redis.call('HSET', KEYS[1], 'attempts', 1) end
redis.call('HDEL', KEYS[1], 'expires_at', 'exp_ms', 'error')
redis.call('HSET', KEYS[1], 'platform', ARGV[4], 'chat_id', ARGV[5], 'day', ARGV[6], 'status', ARGV[1],
  'owner', ARGV[2], 'updated_at', ARGV[3], ARGV[8], ARGV[9], 'schema_version', ARGV[10])
redis.call('SADD', KEYS[2], ARGV[7])
redis.call('SADD', KEYS[3], ARGV[6])
return 1
"""

# Acquire: free, or already ours (re-acquire extends).  ARGV: token, ttl_ms
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


_LEDGER_VERSION = schema.version_of(Delivery)


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable REDIS_URL>"
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _now() -> datetime:
    return datetime.now(UTC)


def _guarded(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Redis errors (connection refused, timeout, loading, read-only replica...) become StoreUnavailable."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (rex.RedisError, OSError) as exc:
            store = args[0]
            raise StoreUnavailable(f"redis at {store.where}: {type(exc).__name__}: {exc}") from None  # type: ignore[attr-defined]

    return wrapper


class RedisStore:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "digestbot",
        socket_timeout_s: float = 2.0,
        connect_timeout_s: float = 1.0,
        max_connections: int = 64,
        pool_timeout_s: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self.where = safe_url(url)
        # Two quick retries ride out a dropped idle connection; an outage then surfaces within about a second.
        # A blocking pool: a burst (a fan-out to hundreds of chats) waits for a free connection instead of
        # failing with "Too many connections", which the default pool raises once 100 are in use.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_s,
            decode_responses=True,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=connect_timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
            health_check_interval=30,
        )
        self._r: Redis = Redis.from_pool(pool)
        self._find = self._r.register_script(_FIND)
        self._claim = self._r.register_script(_CLAIM)
        self._finish = self._r.register_script(_FINISH)
        self._progress = self._r.register_script(_PROGRESS)
        self._acquire = self._r.register_script(_ACQUIRE)
        self._renew = self._r.register_script(_RENEW)
        self._release = self._r.register_script(_RELEASE)
        self._parsed: OrderedDict[tuple[str, str], tuple[str, Digest]] = OrderedDict()
        self._latest_day: dict[str, str] = {}  # the day "latest" resolved to last time, to offer its version
        self._layout_checked = False

    def _k(self, *parts: object) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    # Digests and briefs

    @_guarded
    async def save_digest(self, digest: Digest) -> None:
        key = self._k("digest", digest.lang, digest.date.isoformat())
        body = schema.dump(digest)
        ids = json.dumps([item.paper.id for item in digest.items])
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"body": body, "v": uuid4().hex, "ids": ids})
            pipe.zadd(self._k("dates", digest.lang), {digest.date.isoformat(): digest.date.toordinal()})
            await pipe.execute()

    @_guarded
    async def find_digest(self, lang: Lang, day: date | None = None) -> Digest | None:
        wanted = day.isoformat() if day else ""
        cached = self._parsed.get((lang, wanted or self._latest_day.get(lang, "")))
        found = await self._find(args=[self.prefix, lang, wanted, cached[0] if cached else ""])
        if not found:
            return None
        got_day, version = found[0], found[1]
        if len(found) == 3:  # not the version we hold: parse and remember it
            digest = schema.load(Digest, found[2])
            self._parsed[(lang, got_day)] = (version, digest)
            while len(self._parsed) > PARSE_CACHE_SIZE:
                self._parsed.popitem(last=False)
        else:
            assert cached is not None and cached[0] == version  # versions are unique per save
            digest = cached[1]
        self._parsed.move_to_end((lang, got_day))
        if not wanted:
            self._latest_day[lang] = got_day
        return digest

    async def get_digest(self, day: date, lang: Lang) -> Digest | None:
        return await self.find_digest(lang, day)

    @_guarded
    async def latest_date(self, lang: Lang) -> date | None:
        top = await self._r.zrevrange(self._k("dates", lang), 0, 0)
        return date.fromisoformat(top[0]) if top else None

    @_guarded
    async def list_dates(self, lang: Lang) -> list[date]:
        return [date.fromisoformat(d) for d in await self._r.zrevrange(self._k("dates", lang), 0, -1)]

    @_guarded
    async def published_ids(self, before: date, days: int) -> set[str]:
        since = (before - timedelta(days=days)).toordinal()
        keys = []
        for lang in LANGS:
            for day in await self._r.zrangebyscore(self._k("dates", lang), since, f"({before.toordinal()}"):
                keys.append(self._k("digest", lang, day))
        if not keys:
            return set()
        async with self._r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, "ids")
            rows = await pipe.execute()
        return {paper_id for ids in rows if ids for paper_id in json.loads(ids)}

    @_guarded
    async def get_brief(self, key: str) -> Brief | None:
        body = await self._r.get(self._k("brief", key))
        return schema.load(Brief, body) if body else None

    @_guarded
    async def put_brief(self, key: str, brief: Brief) -> None:
        await self._r.set(self._k("brief", key), schema.dump(brief))

    # Parsed full texts. The client decodes replies as text, so the compressed body travels as base64.

    @_guarded
    async def get_fulltext(self, paper_id: str, version: int) -> FullTextEntry | None:
        body = await self._r.get(self._k("fulltext", paper_id, f"v{version}"))
        if not body:
            return None
        try:
            return unpack(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            return None

    @_guarded
    async def put_fulltext(self, entry: FullTextEntry, ttl_s: float) -> None:
        body = base64.b64encode(pack(entry)).decode("ascii")
        await self._r.set(self._k("fulltext", entry.paper_id, f"v{entry.version}"), body, px=_ms(ttl_s))

    # The LLM spend of each day

    @_guarded
    async def add_spend(self, day: date, usd: float) -> float:
        key = self._k("spend", day.isoformat())
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(key, usd)
            pipe.expire(key, SPEND_KEEP_DAYS * 86400)
            total, _ = await pipe.execute()
        return float(total)

    @_guarded
    async def get_spend(self, day: date) -> float:
        return float(await self._r.get(self._k("spend", day.isoformat())) or 0)

    # Subscriptions

    async def _platforms(self) -> list[str]:
        """Every platform with a subscription. A store of an older layout had no index of them: it is built
        once from the subs:<platform> keys, before the index is trusted."""
        if not self._layout_checked:
            if int(await self._r.get(self._k("layout")) or 1) < LAYOUT:
                subs_prefix = self._k("subs", "")
                found = [key[len(subs_prefix) :] async for key in self._r.scan_iter(match=f"{subs_prefix}*")]
                async with self._r.pipeline(transaction=True) as pipe:
                    if found:
                        pipe.sadd(self._k("sub-platforms"), *found)
                    pipe.set(self._k("layout"), LAYOUT)
                    await pipe.execute()
            self._layout_checked = True
        return sorted(await self._r.smembers(self._k("sub-platforms")))

    @_guarded
    async def put_subscription(self, sub: Subscription) -> None:
        await self._platforms()  # an older store's index is complete before this one adds to it
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k("sub", sub.platform, sub.chat_id), schema.dump(sub))
            pipe.sadd(self._k("subs", sub.platform), sub.chat_id)
            pipe.sadd(self._k("sub-platforms"), sub.platform)
            await pipe.execute()

    @_guarded
    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        body = await self._r.get(self._k("sub", platform, chat_id))
        return schema.load(Subscription, body) if body else None

    @_guarded
    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("sub", platform, chat_id))
            pipe.srem(self._k("subs", platform), chat_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    @_guarded
    async def list_subscriptions(self, platform: Platform | None = None) -> list[Subscription]:
        platforms = [platform] if platform else await self._platforms()
        keys = [self._k("sub", p, c) for p in platforms for c in sorted(await self._r.smembers(self._k("subs", p)))]
        bodies = await self._r.mget(keys) if keys else []
        subs = [schema.load(Subscription, b) for b in bodies if b]
        return sorted(subs, key=lambda s: (s.platform, s.chat_id))

    @_guarded
    async def move_subscription(self, platform: Platform, old_chat_id: str, new_chat_id: str) -> bool:
        old_key, new_key = self._k("sub", platform, old_chat_id), self._k("sub", platform, new_chat_id)
        old_days, new_days = self._k("dlv-chat", platform, old_chat_id), self._k("dlv-chat", platform, new_chat_id)

        async def move(pipe: Any) -> bool:
            body = await pipe.get(old_key)
            if body is None:
                pipe.multi()
                return False
            days = sorted(await pipe.smembers(old_days))
            rows = {}
            for day in days:
                await pipe.watch(self._k("dlv", platform, old_chat_id, day))
                rows[day] = await pipe.hgetall(self._k("dlv", platform, old_chat_id, day))
            sub = schema.load(Subscription, body).model_copy(update={"chat_id": new_chat_id})
            pipe.multi()
            pipe.delete(old_key)
            pipe.set(new_key, schema.dump(sub))
            pipe.srem(self._k("subs", platform), old_chat_id)
            pipe.sadd(self._k("subs", platform), new_chat_id)
            for day, fields in rows.items():
                pipe.delete(self._k("dlv", platform, old_chat_id, day))
                pipe.delete(self._k("dlv", platform, new_chat_id, day))
                if fields:
                    pipe.hset(self._k("dlv", platform, new_chat_id, day), mapping={**fields, "chat_id": new_chat_id})
                pipe.srem(self._k("dlv-day", day), f"{platform}:{old_chat_id}")
                pipe.sadd(self._k("dlv-day", day), f"{platform}:{new_chat_id}")
                pipe.sadd(new_days, day)
            pipe.delete(old_days)
            return True

        return bool(await self._r.transaction(move, old_key, old_days, value_from_callable=True))

    # The delivery ledger

    def _ledger_keys(self, platform: str, chat_id: str, day: date) -> list[str]:
        d = day.isoformat()
        return [self._k("dlv", platform, chat_id, d), self._k("dlv-day", d), self._k("dlv-chat", platform, chat_id)]

    @_guarded
    async def claim_delivery(self, platform: Platform, chat_id: str, day: date, owner: str, ttl_s: float) -> bool:
        now = _now()
        expires = now + timedelta(seconds=ttl_s)
        args = [owner, int(now.timestamp() * 1000), int(expires.timestamp() * 1000), now.isoformat()]
        args += [expires.isoformat(), platform, chat_id, day.isoformat(), f"{platform}:{chat_id}", _LEDGER_VERSION]
        return bool(await self._claim(keys=self._ledger_keys(platform, chat_id, day), args=args))

    @_guarded
    async def mark_progress(
        self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str | None, done: int, ttl_s: float
    ) -> bool:
        now = _now()
        expires = now + timedelta(seconds=ttl_s)
        args = [owner, message_id or "", done, now.isoformat(), expires.isoformat(), int(expires.timestamp() * 1000)]
        return bool(await self._progress(keys=[self._k("dlv", platform, chat_id, day.isoformat())], args=args))

    async def _finish_delivery(
        self, status: str, platform: Platform, chat_id: str, day: date, owner: str, field: str, value: str
    ) -> None:
        args = [status, owner, _now().isoformat(), platform, chat_id, day.isoformat(), f"{platform}:{chat_id}"]
        await self._finish(keys=self._ledger_keys(platform, chat_id, day), args=[*args, field, value, _LEDGER_VERSION])

    @_guarded
    async def mark_sent(self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str) -> None:
        await self._finish_delivery("sent", platform, chat_id, day, owner, "message_id", message_id)

    @_guarded
    async def mark_failed(self, platform: Platform, chat_id: str, day: date, owner: str, error: str) -> None:
        await self._finish_delivery("failed", platform, chat_id, day, owner, "error", error)

    @staticmethod
    def _delivery(fields: dict[str, str]) -> Delivery | None:
        return schema.load(Delivery, fields) if fields else None

    @_guarded
    async def get_delivery(self, platform: Platform, chat_id: str, day: date) -> Delivery | None:
        return self._delivery(await self._r.hgetall(self._k("dlv", platform, chat_id, day.isoformat())))

    @_guarded
    async def list_deliveries(self, day: date) -> list[Delivery]:
        members = sorted(await self._r.smembers(self._k("dlv-day", day.isoformat())))
        async with self._r.pipeline(transaction=False) as pipe:
            for member in members:
                platform, chat_id = member.split(":", 1)
                pipe.hgetall(self._k("dlv", platform, chat_id, day.isoformat()))
            rows = await pipe.execute() if members else []
        found = [d for d in (self._delivery(r) for r in rows) if d is not None]
        return sorted(found, key=lambda d: (d.platform, d.chat_id))

    @_guarded
    async def put_delivery(self, row: Delivery) -> None:
        """Write one ledger row as it is (the store migration); claims go through claim_delivery."""
        key, day_index, chat_index = self._ledger_keys(row.platform, row.chat_id, row.day)
        fields = schema.dump_fields(row)
        if row.expires_at is not None:
            fields["exp_ms"] = str(int(row.expires_at.timestamp() * 1000))
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.sadd(day_index, f"{row.platform}:{row.chat_id}")
            pipe.sadd(chat_index, row.day.isoformat())
            await pipe.execute()

    # Locks and once-only keys

    @_guarded
    async def acquire_lock(self, name: str, token: str, ttl_s: float) -> bool:
        return bool(await self._acquire(keys=[self._k("lock", name)], args=[token, _ms(ttl_s)]))

    @_guarded
    async def renew_lock(self, name: str, token: str, ttl_s: float) -> bool:
        return bool(await self._renew(keys=[self._k("lock", name)], args=[token, _ms(ttl_s)]))

    @_guarded
    async def release_lock(self, name: str, token: str) -> bool:
        return bool(await self._release(keys=[self._k("lock", name)], args=[token]))

    @_guarded
    async def first_time(self, key: str, ttl_s: float) -> bool:
        return bool(await self._r.set(self._k("once", key), "1", nx=True, px=_ms(ttl_s)))

    @_guarded
    async def ping(self) -> None:
        await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()
