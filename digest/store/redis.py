"""RedisStore: the Store protocol on Redis or Redis Cluster (redis-py asyncio). Semantics match SqliteStore exactly.

Key layout (LAYOUT 3). Every key starts with `<prefix>:` so several deployments can share one Redis. Keys that
one script touches together carry the same hash tag, the `{...}` right after the prefix, so they live in one
cluster slot; a key that is only ever touched alone has no tag.

THE RULE for every new key: if a Lua script or a MULTI touches it together with another key, it joins that
key's group (`self._tagged(group, ...)` gives `<prefix>:{<group>}:...`); a key touched alone uses
`self._key(...)`. A script receives every key it touches in KEYS, or builds it from a KEYS entry of the same
group (the `_FIND` script). Nothing crosses groups atomically; what must stay consistent across groups is
ordered so that a crash in between is harmless (see `_note_ledger_day`). Per-day keys always get an expiry.

  {digest:<lang>}:day:<day>   hash {body: digest JSON, v: version, ids: JSON list of paper ids}
  {digest:<lang>}:dates       sorted set of days (score: ordinal) with a digest in <lang>
  {subs}:sub:<platform>:<chat>  string, Subscription JSON
  {subs}:chats:<platform>     set of chat ids;  {subs}:platforms  set of platforms with a subscription
  {subs}:next                 sorted set "<platform>:<chat>" -> the epoch ms of its next post (the schedule
                              index; < 0: to be planned, see digest.store.base.Planned);  {subs}:gen  counter
                              of those marks;  {subs}:basis  what the plans were computed from
  {subs}:ledger-days          sorted set of days that have ledger rows (score: when last noted), for moves
  {day:<day>}:dlv:<platform>:<chat>  hash of Delivery fields (+ exp_ms: the claim's expiry)
  {day:<day>}:chats           set of "<platform>:<chat>" with a row that day
  {day:<day>}:counts          hash "<platform>|<status>" -> rows, and last_platform/last_chat/last_at: the row
                              last sent; changed by the same script that changes a row, so never recounted
  brief:<key>                 string, Brief JSON
  spend:<day>                 string, the LLM spend of that day in USD, expires after SPEND_KEEP_DAYS
  lock:<name>                 string token with PX expiry;  once:<key>  marker with an expiry
  heartbeats                  hash name -> "<expiry ms>|<body>": each field expires on the store's clock, writes
                              prune the expired ones and the key expires with its newest field, so /healthz
                              reads one key whatever the number of processes
  fulltext:<id>:v<n>          string, base64 of the zlib-compressed parsed full text, with a TTL
  layout                      the key layout's version; bodies carry their own (digest.store.schema)

Retention: a day's ledger keys, the ledger-days index and once-keys expire `retention_days` after their last
change (PEXPIREAT on the store's clock), so nothing per-day outlives it. Digests, briefs and subscriptions stay.

A store of an older layout (no tags) is moved to this one on first use (digest.store.redis_layout). Every
connection error or timeout becomes StoreUnavailable; the pool reconnects by itself on the next call, so no
restart is needed after an outage. With `cluster=True` (DIGEST_REDIS_CLUSTER) the URL names any node of a Redis
Cluster; the client learns the others and follows slot moves.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

from redis import exceptions as rex
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from digest.fulltext.model import Entry as FullTextEntry
from digest.fulltext.model import pack, unpack
from digest.models import LANGS, Brief, Digest, Lang
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

P = ParamSpec("P")
T = TypeVar("T")

LAYOUT = 3  # 2: the sub-platforms index; 3: hash tags, ledger counts and expiry, the schedule index
PARSE_CACHE_SIZE = 64  # parsed digests kept in process, checked against the stored version on every read
NEVER_MS = 253402300799000  # 9999-12-31: the schedule mark of a chat that posts on no weekday

LATEST_SCAN = 60  # days looked back for the latest digest with papers

# find_digest in one round trip: resolve "latest" on the server, and send the body only when the caller's
# cached version is not the stored one.  KEYS: the dates index.  ARGV: the day keys' stem (same tag as KEYS[1]),
# day ("" = latest), known version.
_FIND = """
local day = ARGV[2]
if day == '' then
  -- "latest": the newest day whose digest has papers (an empty day must not empty every follow-up)
  local days = redis.call('ZREVRANGE', KEYS[1], 0, LATEST_SCAN - 1)
  for _, candidate in ipairs(days) do
    local ids = redis.call('HGET', ARGV[1] .. candidate, 'ids')
    if ids and ids ~= '[]' then
      day = candidate
      break
    end
  end
  if day == '' then return false end
end
local key = ARGV[1] .. day
local v = redis.call('HGET', key, 'v')
if not v then return false end
if v == ARGV[3] then return {day, v} end
return {day, v, redis.call('HGET', key, 'body')}
""".replace("LATEST_SCAN", str(LATEST_SCAN))

# KEYS: the digest, the dates index.  ARGV: body, version, ids, day, ordinal
_SAVE_DIGEST = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'v', ARGV[2], 'ids', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1
"""

# Counting rows as they change: the row's old status (false when new) and its new one.  Used inside ledger scripts
# whose KEYS[3] is the day's counts and ARGV[1] the platform.
_COUNT = """
local function count(before, after)
  if before == after then return end
  if before then redis.call('HINCRBY', KEYS[3], ARGV[1] .. '|' .. before, -1) end
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. '|' .. after, 1)
end
local function keep(until_ms)
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], until_ms) end
end
"""

# KEYS: row, the day's chats, the day's counts.
# ARGV: platform, owner, now_ms, exp_ms, now_iso, exp_iso, chat, day, member, schema version, keep_until_ms
# message_id and progress stay: the new owner resumes the post. took_over: whose expired claim this replaced.
_CLAIM = (
    _COUNT
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'sent' then return 0 end
local took = false
if status == 'claimed' then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner ~= ARGV[2] then
    local exp = tonumber(redis.call('HGET', KEYS[1], 'exp_ms') or '0')
    if exp > tonumber(ARGV[3]) then return 0 end
    took = owner
  end
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'platform', ARGV[1], 'chat_id', ARGV[7], 'day', ARGV[8], 'status', 'claimed',
  'owner', ARGV[2], 'updated_at', ARGV[5], 'expires_at', ARGV[6], 'exp_ms', ARGV[4], 'schema_version', ARGV[10])
if took then redis.call('HSET', KEYS[1], 'took_over', took) else redis.call('HDEL', KEYS[1], 'took_over') end
redis.call('SADD', KEYS[2], ARGV[9])
count(status, 'claimed')
keep(ARGV[11])
return 1
"""
)

# Only the claim's owner writes progress (and extends the claim).  KEYS: row.
# ARGV: owner, message_id ('' = none), done, now_iso, exp_iso, exp_ms, keep_until_ms
_PROGRESS = """
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'message_id') else redis.call('HSET', KEYS[1], 'message_id', ARGV[2]) end
redis.call('HSET', KEYS[1], 'progress', ARGV[3], 'updated_at', ARGV[4], 'expires_at', ARGV[5], 'exp_ms', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
return 1
"""

# KEYS: row, the day's chats, the day's counts.
# ARGV: platform, status, owner, now_iso, chat, day, member, field, value, schema version, keep_until_ms
# 'failed' never downgrades a 'sent' row; the claim's expiry goes away either way. message_id and progress stay
# on a failed row (a retry resumes there); 'sent' sets message_id.
_FINISH = (
    _COUNT
    + """
local before = redis.call('HGET', KEYS[1], 'status')
if ARGV[2] == 'failed' and before == 'sent' then return 0 end
if not redis.call('HGET', KEYS[1], 'attempts') then redis.call('HSET', KEYS[1], 'attempts', 1) end
redis.call('HDEL', KEYS[1], 'expires_at', 'exp_ms', 'error')
redis.call('HSET', KEYS[1], 'platform', ARGV[1], 'chat_id', ARGV[5], 'day', ARGV[6], 'status', ARGV[2],
  'owner', ARGV[3], 'updated_at', ARGV[4], ARGV[8], ARGV[9], 'schema_version', ARGV[10])
redis.call('SADD', KEYS[2], ARGV[7])
count(before, ARGV[2])
if ARGV[2] == 'sent' and before ~= 'sent' then
  redis.call('HSET', KEYS[3], 'last_platform', ARGV[1], 'last_chat', ARGV[5], 'last_at', ARGV[4])
end
keep(ARGV[11])
return 1
"""
)

# Write one row as it is (a migration).  KEYS: row, the day's chats, the day's counts.
# ARGV: platform, member, keep_until_ms, field, value, field, value, ...
_PUT_ROW = (
    _COUNT
    + """
local before = redis.call('HGET', KEYS[1], 'status')
redis.call('DEL', KEYS[1])
local status, chat, at = false, '', ''
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i] == 'status' then status = ARGV[i + 1] end
  if ARGV[i] == 'chat_id' then chat = ARGV[i + 1] end
  if ARGV[i] == 'updated_at' then at = ARGV[i + 1] end
end
redis.call('SADD', KEYS[2], ARGV[2])
count(before, status)
if status == 'sent' and before ~= 'sent' and at > (redis.call('HGET', KEYS[3], 'last_at') or '') then
  redis.call('HSET', KEYS[3], 'last_platform', ARGV[1], 'last_chat', chat, 'last_at', at)
end
keep(ARGV[3])
return 1
"""
)

# A chat's row of one day moves to its new id (the chat moved).  KEYS: old row, new row, the day's counts,
# the day's chats.  ARGV: platform, old member, new member, new chat id
_MOVE_ROW = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local replaced = redis.call('HGET', KEYS[2], 'status')
if replaced then redis.call('HINCRBY', KEYS[3], ARGV[1] .. '|' .. replaced, -1) end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'chat_id', ARGV[4])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
"""

# KEYS: the subscription, its platform's chats, the platforms, the schedule index, the mark counter.
# ARGV: body, chat, platform, member
_PUT_SUB = """
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], -redis.call('INCR', KEYS[5]), ARGV[4])
return 1
"""

# KEYS: the subscription, its platform's chats, the schedule index.  ARGV: chat, member
_DELETE_SUB = """
local deleted = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return deleted
"""

# KEYS: old subscription, new subscription, the platform's chats, the schedule index, the mark counter.
# ARGV: the old body as read (compare-and-move), the new body, old chat, new chat, old member, new member
_MOVE_SUB = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[4], -redis.call('INCR', KEYS[5]), ARGV[6])
return 1
"""

# KEYS: the schedule index.  ARGV: member, expected mark, new mark, ... (a plan lands only on an unchanged chat)
_PLAN = """
for i = 1, #ARGV, 3 do
  local mark = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if mark and tonumber(mark) == tonumber(ARGV[i + 1]) then redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i]) end
end
return 1
"""

# KEYS: the basis, the schedule index, the mark counter.  ARGV: basis
_REPLAN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
local mark = -redis.call('INCR', KEYS[3])
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do redis.call('ZADD', KEYS[2], mark, member) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# KEYS: ledger-days.  ARGV: day, now_ms, forget_before_ms, keep_until_ms
_NOTE_DAY = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
"""

# KEYS: the marker.  ARGV: expire-at ms (the store's clock)
_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX') then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# KEYS: the day's spend.  ARGV: usd, seconds to keep
_SPEND = """
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
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

# Heartbeats live in one hash, each field with its own expiry on the store's clock.  KEYS: the hash.
# ARGV: name, body, ttl_ms (<= 0 removes the field), now_ms
_BEAT = """
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], (now + ttl) .. '|' .. ARGV[2])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local all = redis.call('HGETALL', KEYS[1])
local longest = 0
for i = 1, #all, 2 do
  local left = tonumber(string.match(all[i + 1], '^(%d+)|')) - now
  if left <= 0 then redis.call('HDEL', KEYS[1], all[i]) elseif left > longest then longest = left end
end
if longest > 0 then redis.call('PEXPIREAT', KEYS[1], now + longest) end
return 1
"""
# KEYS: the hash.  ARGV: now_ms.  Returns [name, body, name, body, …] of the fields not yet expired.
_BEATS = """
local now = tonumber(ARGV[1])
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local expires, body = string.match(all[i + 1], '^(%d+)|(.*)$')
  if tonumber(expires) > now then
    out[#out + 1] = all[i]
    out[#out + 1] = body
  end
end
return out
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


def _epoch_ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _guarded(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Redis errors (connection refused, timeout, loading, read-only replica...) become StoreUnavailable; the first
    call of a store brings an older key layout up to date."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        store: RedisStore = args[0]  # type: ignore[assignment]
        try:
            if not store._layout_ok:
                await store._ensure_layout()
            async with store._gate:
                return await method(*args, **kwargs)
        except (rex.RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis at {store.where}: {type(exc).__name__}: {exc}") from None

    return wrapper


class RedisStore:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "digestbot",
        cluster: bool = False,
        retention_days: int = RETENTION_DAYS,
        clock: Clock = utcnow,
        socket_timeout_s: float = 2.0,
        connect_timeout_s: float = 1.0,
        max_connections: int = 64,
        pool_timeout_s: float = 10.0,
    ) -> None:
        self.prefix = prefix
        self.where = safe_url(url)
        self.cluster = cluster
        self.retention_s = retention_days * 86400.0
        self._clock = clock  # every timestamp and expiry this store writes or compares (tests step it)
        # Two quick retries ride out a dropped idle connection; an outage then surfaces within about a second.
        retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2)
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": socket_timeout_s,
            "socket_connect_timeout": connect_timeout_s,
            "retry": retry,
        }
        if cluster:
            # The cluster client opens connections per node and refuses a command past max_connections instead
            # of waiting for one: the gate below makes a burst wait, as the single-node BlockingConnectionPool does.
            self._r: Any = RedisCluster.from_url(url, max_connections=max_connections, **options)
            self._gate: asyncio.Semaphore | _NoGate = asyncio.Semaphore(max_connections)
        else:
            # A blocking pool: a burst (a fan-out to hundreds of chats) waits for a free connection instead of
            # failing with "Too many connections", which the default pool raises once 100 are in use.
            pool = BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=pool_timeout_s, health_check_interval=30, **options
            )
            self._r = Redis.from_pool(pool)
            self._gate = _NoGate()
        script = self._r.register_script
        self._find, self._save_digest = script(_FIND), script(_SAVE_DIGEST)
        self._claim, self._finish, self._progress = script(_CLAIM), script(_FINISH), script(_PROGRESS)
        self._put_row, self._move_row = script(_PUT_ROW), script(_MOVE_ROW)
        self._put_sub, self._delete_sub, self._move_sub = script(_PUT_SUB), script(_DELETE_SUB), script(_MOVE_SUB)
        self._plan, self._replan, self._note_day = script(_PLAN), script(_REPLAN), script(_NOTE_DAY)
        self._once, self._spend = script(_ONCE), script(_SPEND)
        self._acquire, self._renew, self._release = script(_ACQUIRE), script(_RENEW), script(_RELEASE)
        self._beat, self._beats = script(_BEAT), script(_BEATS)
        self._parsed: OrderedDict[tuple[str, str], tuple[str, Digest]] = OrderedDict()
        self._latest_day: dict[str, str] = {}  # the day "latest" resolved to last time, to offer its version
        self._layout_ok = False
        self._layout_lock = asyncio.Lock()
        self._noted_days: set[str] = set()  # ledger days this process has put in the ledger-days index

    # Key names (the rule is in the module docstring)

    def _key(self, *parts: object) -> str:
        """A key touched alone: no hash tag."""
        return ":".join((self.prefix, *(str(p) for p in parts)))

    def _tagged(self, group: str, *parts: object) -> str:
        """A key of `group`: every key of a group hashes to the same cluster slot."""
        return ":".join((self.prefix, f"{{{group}}}", *(str(p) for p in parts)))

    def _digest_key(self, lang: str, day: str) -> str:
        return self._tagged(f"digest:{lang}", "day", day)

    def _dates_key(self, lang: str) -> str:
        return self._tagged(f"digest:{lang}", "dates")

    def _sub_key(self, platform: str, chat_id: str) -> str:
        return self._tagged("subs", "sub", platform, chat_id)

    def _subs(self, name: str, *parts: object) -> str:
        return self._tagged("subs", name, *parts)

    def _row_key(self, platform: str, chat_id: str, day: str) -> str:
        return self._tagged(f"day:{day}", "dlv", platform, chat_id)

    def _day_keys(self, platform: str, chat_id: str, day: str) -> list[str]:
        """A ledger row and its day's chats and counts: what every ledger script gets as KEYS."""
        return [self._row_key(platform, chat_id, day), self._tagged(f"day:{day}", "chats"), self._counts_key(day)]

    def _counts_key(self, day: str) -> str:
        return self._tagged(f"day:{day}", "counts")

    def _keep_until_ms(self) -> int:
        return _epoch_ms(self._clock()) + int(self.retention_s * 1000)

    def describe(self) -> str:
        return f"Redis {'Cluster ' if self.cluster else ''}at {self.where} (key prefix {self.prefix!r})"

    async def _ensure_layout(self) -> None:
        async with self._layout_lock:
            if not self._layout_ok:
                from digest.store.redis_layout import upgrade

                await upgrade(self)
                self._layout_ok = True

    # Digests and briefs

    @_guarded
    async def save_digest(self, digest: Digest) -> None:
        day = digest.date.isoformat()
        ids = json.dumps([item.paper.id for item in digest.items])
        await self._save_digest(
            keys=[self._digest_key(digest.lang, day), self._dates_key(digest.lang)],
            args=[schema.dump(digest), uuid4().hex, ids, day, digest.date.toordinal()],
        )

    @_guarded
    async def find_digest(self, lang: Lang, day: date | None = None) -> Digest | None:
        wanted = day.isoformat() if day else ""
        cached = self._parsed.get((lang, wanted or self._latest_day.get(lang, "")))
        stem = self._digest_key(lang, "")
        found = await self._find(keys=[self._dates_key(lang)], args=[stem, wanted, cached[0] if cached else ""])
        if not found:
            return None
        got_day, version = found[0], found[1]
        held = self._parsed.get((lang, got_day))
        if held is not None and held[0] == version:  # versions are unique per save
            digest = held[1]
        else:  # not the version we hold: parse and remember it
            digest = schema.load(Digest, found[2])
            self._parsed[(lang, got_day)] = (version, digest)
            while len(self._parsed) > PARSE_CACHE_SIZE:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end((lang, got_day))
        if not wanted:
            self._latest_day[lang] = got_day
        return digest

    async def get_digest(self, day: date, lang: Lang) -> Digest | None:
        return await self.find_digest(lang, day)

    @_guarded
    async def latest_date(self, lang: Lang) -> date | None:
        top = await self._r.zrevrange(self._dates_key(lang), 0, 0)
        return date.fromisoformat(top[0]) if top else None

    @_guarded
    async def list_dates(self, lang: Lang) -> list[date]:
        return [date.fromisoformat(d) for d in await self._r.zrevrange(self._dates_key(lang), 0, -1)]

    @_guarded
    async def published_ids(self, before: date, days: int) -> set[str]:
        since = (before - timedelta(days=days)).toordinal()
        ids: set[str] = set()
        for lang in LANGS:  # one slot per language: one pipeline each
            found = await self._r.zrangebyscore(self._dates_key(lang), since, f"({before.toordinal()}")
            if not found:
                continue
            async with self._r.pipeline(transaction=False) as pipe:
                for day in found:
                    pipe.hget(self._digest_key(lang, day), "ids")
                rows = await pipe.execute()
            ids |= {paper_id for row in rows if row for paper_id in json.loads(row)}
        return ids

    @_guarded
    async def get_brief(self, key: str) -> Brief | None:
        body = await self._r.get(self._key("brief", key))
        return schema.load(Brief, body) if body else None

    @_guarded
    async def put_brief(self, key: str, brief: Brief) -> None:
        await self._r.set(self._key("brief", key), schema.dump(brief))

    # Parsed full texts. The client decodes replies as text, so the compressed body travels as base64.

    @_guarded
    async def get_fulltext(self, paper_id: str, version: int) -> FullTextEntry | None:
        body = await self._r.get(self._key("fulltext", paper_id, f"v{version}"))
        if not body:
            return None
        try:
            return unpack(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            return None

    @_guarded
    async def put_fulltext(self, entry: FullTextEntry, ttl_s: float) -> None:
        body = base64.b64encode(pack(entry)).decode("ascii")
        await self._r.set(self._key("fulltext", entry.paper_id, f"v{entry.version}"), body, px=_ms(ttl_s))

    # The LLM spend of each day

    @_guarded
    async def add_spend(self, day: date, usd: float) -> float:
        key = self._key("spend", day.isoformat())
        return float(await self._spend(keys=[key], args=[usd, SPEND_KEEP_DAYS * 86400]))

    @_guarded
    async def get_spend(self, day: date) -> float:
        return float(await self._r.get(self._key("spend", day.isoformat())) or 0)

    # Subscriptions and the schedule index

    @_guarded
    async def put_subscription(self, sub: Subscription) -> None:
        keys = [
            self._sub_key(sub.platform, sub.chat_id),
            self._subs("chats", sub.platform),
            self._subs("platforms"),
            self._subs("next"),
            self._subs("gen"),
        ]
        await self._put_sub(
            keys=keys, args=[schema.dump(sub), sub.chat_id, sub.platform, f"{sub.platform}:{sub.chat_id}"]
        )

    @_guarded
    async def get_subscription(self, platform: Platform, chat_id: str) -> Subscription | None:
        body = await self._r.get(self._sub_key(platform, chat_id))
        return schema.load(Subscription, body) if body else None

    @_guarded
    async def delete_subscription(self, platform: Platform, chat_id: str) -> bool:
        keys = [self._sub_key(platform, chat_id), self._subs("chats", platform), self._subs("next")]
        return bool(await self._delete_sub(keys=keys, args=[chat_id, f"{platform}:{chat_id}"]))

    @_guarded
    async def list_subscriptions(self, platform: Platform | None = None) -> list[Subscription]:
        platforms = [platform] if platform else sorted(await self._r.smembers(self._subs("platforms")))
        keys = [self._sub_key(p, c) for p in platforms for c in sorted(await self._r.smembers(self._subs("chats", p)))]
        subs = [schema.load(Subscription, b) for b in await self._bodies(keys) if b]
        return sorted(subs, key=lambda s: (s.platform, s.chat_id))

    async def _bodies(self, keys: Sequence[str]) -> list[str | None]:
        """GET many keys of one group (one slot), in batches."""
        out: list[str | None] = []
        for start in range(0, len(keys), 1000):
            out += await self._r.mget(keys[start : start + 1000])
        return out

    @_guarded
    async def move_subscription(self, platform: Platform, old_chat_id: str, new_chat_id: str) -> bool:
        for _ in range(5):  # compare-and-move: another writer changed the body meanwhile -> read again
            body = await self._r.get(self._sub_key(platform, old_chat_id))
            if body is None:
                return False
            sub = schema.load(Subscription, body).model_copy(update={"chat_id": new_chat_id})
            keys = [
                self._sub_key(platform, old_chat_id),
                self._sub_key(platform, new_chat_id),
                self._subs("chats", platform),
                self._subs("next"),
                self._subs("gen"),
            ]
            old_member, new_member = f"{platform}:{old_chat_id}", f"{platform}:{new_chat_id}"
            args = [body, schema.dump(sub), old_chat_id, new_chat_id, old_member, new_member]
            if await self._move_sub(keys=keys, args=args):
                break
        else:
            raise StoreUnavailable(f"the subscription {platform}:{old_chat_id} kept changing while it was moved")
        # The ledger follows, one day (one slot) at a time: each day's move is atomic, and a row is found by the
        # ledger-days index, which is written before any row of its day.
        for day in await self._r.zrange(self._subs("ledger-days"), 0, -1):
            keys = [
                self._row_key(platform, old_chat_id, day),
                self._row_key(platform, new_chat_id, day),
                self._counts_key(day),
                self._tagged(f"day:{day}", "chats"),
            ]
            await self._move_row(keys=keys, args=[platform, old_member, new_member, new_chat_id])
        return True

    @_guarded
    async def due_subscriptions(self, until: datetime) -> list[Planned]:
        marked = await self._r.zrangebyscore(self._subs("next"), "-inf", _epoch_ms(until), withscores=True)
        keys = [self._sub_key(*member.split(":", 1)) for member, _ in marked]
        bodies = await self._bodies(keys)
        return [
            Planned(schema.load(Subscription, body), float(mark))
            for (_, mark), body in zip(marked, bodies, strict=True)
            if body  # a member without a body: deleted between the two reads
        ]

    @_guarded
    async def set_next_posts(self, plans: Sequence[NextPost]) -> None:
        args: list[object] = []
        for plan in plans:
            at = _epoch_ms(plan.at) if plan.at is not None else NEVER_MS
            args += [f"{plan.platform}:{plan.chat_id}", int(plan.mark), at]
        for start in range(0, len(args), 900):
            await self._plan(keys=[self._subs("next")], args=args[start : start + 900])

    @_guarded
    async def reset_schedule(self, basis: str) -> bool:
        return bool(await self._replan(keys=[self._subs("basis"), self._subs("next"), self._subs("gen")], args=[basis]))

    # The delivery ledger

    async def _note_ledger_day(self, day: str) -> None:
        """Put `day` in the ledger-days index before a row of it is written (moves find rows through it)."""
        if day in self._noted_days:
            return
        now = _epoch_ms(self._clock())
        forget = now - int(self.retention_s * 1000)
        await self._note_day(keys=[self._subs("ledger-days")], args=[day, now, forget, self._keep_until_ms()])
        if len(self._noted_days) > 64:
            self._noted_days.clear()
        self._noted_days.add(day)

    @_guarded
    async def claim_delivery(self, platform: Platform, chat_id: str, day: date, owner: str, ttl_s: float) -> bool:
        d = day.isoformat()
        await self._note_ledger_day(d)
        now = self._clock()
        expires = now + timedelta(seconds=ttl_s)
        args = [platform, owner, _epoch_ms(now), _epoch_ms(expires), now.isoformat(), expires.isoformat()]
        args += [chat_id, d, f"{platform}:{chat_id}", _LEDGER_VERSION, self._keep_until_ms()]
        return bool(await self._claim(keys=self._day_keys(platform, chat_id, d), args=args))

    @_guarded
    async def mark_progress(
        self, platform: Platform, chat_id: str, day: date, owner: str, message_id: str | None, done: int, ttl_s: float
    ) -> bool:
        now = self._clock()
        expires = now + timedelta(seconds=ttl_s)
        args = [owner, message_id or "", done, now.isoformat(), expires.isoformat(), _epoch_ms(expires)]
        args.append(self._keep_until_ms())
        return bool(await self._progress(keys=[self._row_key(platform, chat_id, day.isoformat())], args=args))

    async def _finish_delivery(
        self, status: str, platform: Platform, chat_id: str, day: date, owner: str, field: str, value: str
    ) -> None:
        d = day.isoformat()
        await self._note_ledger_day(d)
        args = [platform, status, owner, self._clock().isoformat(), chat_id, d, f"{platform}:{chat_id}", field, value]
        await self._finish(
            keys=self._day_keys(platform, chat_id, d), args=[*args, _LEDGER_VERSION, self._keep_until_ms()]
        )

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
        return self._delivery(await self._r.hgetall(self._row_key(platform, chat_id, day.isoformat())))

    async def _rows(self, day: str, members: Sequence[str]) -> list[Delivery]:
        found: list[Delivery] = []
        for start in range(0, len(members), 1000):
            async with self._r.pipeline(transaction=False) as pipe:
                for member in members[start : start + 1000]:
                    pipe.hgetall(self._row_key(*member.split(":", 1), day))
                found += [d for d in map(self._delivery, await pipe.execute()) if d is not None]
        return sorted(found, key=lambda d: (d.platform, d.chat_id))

    @_guarded
    async def list_deliveries(self, day: date) -> list[Delivery]:
        d = day.isoformat()
        return await self._rows(d, sorted(await self._r.smembers(self._tagged(f"day:{d}", "chats"))))

    @_guarded
    async def deliveries_of(self, day: date, chats: Sequence[tuple[Platform, str]]) -> list[Delivery]:
        return await self._rows(day.isoformat(), list(dict.fromkeys(f"{p}:{c}" for p, c in chats)))

    @_guarded
    async def delivery_counts(self, day: date) -> DayCounts:
        fields = await self._r.hgetall(self._counts_key(day.isoformat()))
        rows: dict[tuple[str, Any], int] = {}
        for name, value in fields.items():
            platform, sep, status = name.rpartition("|")
            if sep and int(value) > 0:
                rows[(platform, status)] = int(value)
        last = None
        if fields.get("last_at"):
            last = LastSent(fields["last_platform"], fields["last_chat"], datetime.fromisoformat(fields["last_at"]))
        return DayCounts(day=day, rows=rows, last_sent=last)

    async def prune(self) -> int:
        """Nothing to do: every per-day key carries its expiry, and Redis removes it."""
        return 0

    @_guarded
    async def put_delivery(self, row: Delivery) -> None:
        """Write one ledger row as it is (the store migration); claims go through claim_delivery."""
        d = row.day.isoformat()
        await self._note_ledger_day(d)
        fields = schema.dump_fields(row)
        if row.expires_at is not None:
            fields["exp_ms"] = str(_epoch_ms(row.expires_at))
        args: list[object] = [row.platform, f"{row.platform}:{row.chat_id}", self._keep_until_ms()]
        args += [v for pair in fields.items() for v in pair]
        await self._put_row(keys=self._day_keys(row.platform, row.chat_id, d), args=args)

    # Locks and once-only keys

    @_guarded
    async def acquire_lock(self, name: str, token: str, ttl_s: float) -> bool:
        return bool(await self._acquire(keys=[self._key("lock", name)], args=[token, _ms(ttl_s)]))

    @_guarded
    async def renew_lock(self, name: str, token: str, ttl_s: float) -> bool:
        return bool(await self._renew(keys=[self._key("lock", name)], args=[token, _ms(ttl_s)]))

    @_guarded
    async def release_lock(self, name: str, token: str) -> bool:
        return bool(await self._release(keys=[self._key("lock", name)], args=[token]))

    @_guarded
    async def first_time(self, key: str, ttl_s: float) -> bool:
        until = _epoch_ms(self._clock()) + _ms(min(ttl_s, self.retention_s))
        return bool(await self._once(keys=[self._key("once", key)], args=[until]))

    # Heartbeats

    @_guarded
    async def put_heartbeat(self, name: str, body: str, ttl_s: float) -> None:
        ttl_ms = _ms(ttl_s) if ttl_s > 0 else 0
        await self._beat(keys=[self._key("heartbeats")], args=[name, body, ttl_ms, _epoch_ms(self._clock())])

    @_guarded
    async def heartbeats(self) -> dict[str, str]:
        flat = await self._beats(keys=[self._key("heartbeats")], args=[_epoch_ms(self._clock())])
        return dict(zip(flat[0::2], flat[1::2], strict=True))

    @_guarded
    async def ping(self) -> None:
        await self._r.ping()

    async def close(self) -> None:
        await self._r.aclose()


class _NoGate:
    """The single-node pool waits by itself; no gate needed."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None
