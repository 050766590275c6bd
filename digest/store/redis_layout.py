"""Moving a Redis store of an older key layout to the current one (digest.store.redis.LAYOUT), once, on first use.

Layouts 1 and 2 named keys without hash tags (`<prefix>:digest:<lang>:<day>`, `<prefix>:sub:<platform>:<chat>`,
`<prefix>:dlv:<platform>:<chat>:<day>` ...), kept no ledger counts and no schedule index, and never expired the
ledger. The upgrade copies each record to its new name by type (so it also works on a cluster the old keys were
imported into), rebuilds each day's counts from its rows, gives every ledger key a full retention from now
(nothing vanishes the moment the bot upgrades), marks every subscription "to be planned", and deletes the old
names. Keys that keep their names (briefs, spend, locks, once-keys, full texts) are left alone.

One process does it, under a lock; the others wait for the layout key. Run after a crash half-way, it picks up
what is left: copying is by key, and counts are rebuilt from the rows, never added to.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digest.store.redis import RedisStore

log = logging.getLogger(__name__)

LOCK_TTL_MS = 120_000
WAIT_S = 150.0
# Old key kinds (what follows `<prefix>:`), in the order they are moved.
OLD_KINDS = ("dates", "digest", "sub", "subs", "sub-platforms", "dlv", "dlv-day", "dlv-chat")


async def upgrade(store: RedisStore) -> None:
    from digest.store.redis import LAYOUT

    r = store._r
    layout_key = store._key("layout")
    if int(await r.get(layout_key) or 0) >= LAYOUT:
        return
    lock = store._key("lock", "layout-upgrade")
    token = secrets.token_hex(8)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await r.set(lock, token, nx=True, px=LOCK_TTL_MS):
        if int(await r.get(layout_key) or 0) >= LAYOUT:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("another process has been upgrading the store's key layout for too long")
        await asyncio.sleep(0.2)
    try:
        if int(await r.get(layout_key) or 0) < LAYOUT:
            moved = await _move(store)
            if moved:
                log.info("store: moved %d keys under %r to key layout %d", moved, store.prefix, LAYOUT)
            await r.set(layout_key, LAYOUT)
    finally:
        if await r.get(lock) == token:
            await r.delete(lock)


def _kind(store: RedisStore, key: str) -> tuple[str, str] | None:
    """(kind, rest) of an old-layout key, None for anything else (new keys start with `<prefix>:{`)."""
    head = store.prefix + ":"
    if not key.startswith(head) or key.startswith(head + "{"):
        return None
    kind, _, rest = key[len(head) :].partition(":")
    return (kind, rest) if kind in OLD_KINDS else None


async def _move(store: RedisStore) -> int:
    r = store._r
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    async for key in r.scan_iter(match=f"{store.prefix}:*", count=1000):
        kind = _kind(store, key)
        if kind is not None:
            found[kind[0]].append((key, kind[1]))
    if not found:
        return 0
    moved = 0
    for key, lang in found["dates"]:
        moved += await _copy_zset(r, key, store._dates_key(lang))
    for key, rest in found["digest"]:
        lang, _, day = rest.partition(":")
        moved += await _copy_hash(r, key, store._digest_key(lang, day))
    # Subscriptions: bodies, the per-platform sets, the platforms; each marked to be planned.
    platforms: set[str] = set()
    for key, platform in found["subs"]:
        platforms.add(platform)
        moved += await _copy_set(r, key, store._subs("chats", platform))
    members: list[str] = []
    for key, rest in found["sub"]:
        platform, _, chat = rest.partition(":")
        body = await r.get(key)
        if body is not None:
            await r.set(store._sub_key(platform, chat), body)
            await r.sadd(store._subs("chats", platform), chat)
            platforms.add(platform)
            members.append(f"{platform}:{chat}")
        await r.delete(key)
        moved += 1
    if platforms:
        await r.sadd(store._subs("platforms"), *platforms)
    if members:
        mark = -int(await r.incr(store._subs("gen")))
        for start in range(0, len(members), 1000):
            await r.zadd(store._subs("next"), dict.fromkeys(members[start : start + 1000], mark))
    for key, _ in found["sub-platforms"]:
        await r.delete(key)
    # The ledger: rows by day, the day indexes; counts rebuilt from the rows; a full retention from now.
    days: set[str] = set()
    for key, rest in found["dlv"]:
        head, _, day = rest.rpartition(":")
        platform, _, chat = head.partition(":")
        await _copy_hash(r, key, store._row_key(platform, chat, day))
        await r.sadd(store._tagged(f"day:{day}", "chats"), f"{platform}:{chat}")
        days.add(day)
        moved += 1
    for key, day in found["dlv-day"]:
        moved += await _copy_set(r, key, store._tagged(f"day:{day}", "chats"))
        days.add(day)
    for key, _ in found["dlv-chat"]:  # replaced by the ledger-days index
        await r.delete(key)
        moved += 1
    for day in sorted(days):
        await _recount(store, day)
    return moved


async def _recount(store: RedisStore, day: str) -> None:
    r = store._r
    chats_key, counts_key = store._tagged(f"day:{day}", "chats"), store._counts_key(day)
    counts: dict[str, int] = defaultdict(int)
    last: tuple[str, str, str] | None = None
    keep = store._keep_until_ms()
    for member in sorted(await r.smembers(chats_key)):
        platform, _, chat = member.partition(":")
        row = store._row_key(platform, chat, day)
        status, at = await r.hmget(row, ["status", "updated_at"])
        if status is None:
            await r.srem(chats_key, member)
            continue
        counts[f"{platform}|{status}"] += 1
        if status == "sent" and at and (last is None or at > last[2]):
            last = (platform, chat, at)
        await r.pexpireat(row, keep)
    mapping: dict[str, Any] = dict(counts)
    if last is not None:
        mapping |= {"last_platform": last[0], "last_chat": last[1], "last_at": last[2]}
    await r.delete(counts_key)
    if mapping:
        await r.hset(counts_key, mapping=mapping)
        await r.pexpireat(counts_key, keep)
    await r.pexpireat(chats_key, keep)
    await r.zadd(store._subs("ledger-days"), {day: keep - int(store.retention_s * 1000)})
    await r.pexpireat(store._subs("ledger-days"), keep)


async def _copy_hash(r: Any, old: str, new: str) -> int:
    fields = await r.hgetall(old)
    if fields:
        await r.hset(new, mapping=fields)
    await r.delete(old)
    return 1


async def _copy_set(r: Any, old: str, new: str) -> int:
    members = await r.smembers(old)
    if members:
        await r.sadd(new, *members)
    await r.delete(old)
    return 1


async def _copy_zset(r: Any, old: str, new: str) -> int:
    scored = await r.zrange(old, 0, -1, withscores=True)
    if scored:
        await r.zadd(new, dict(scored))
    await r.delete(old)
    return 1
