"""What /healthz and /metrics report beyond counters: the store, the last build and the last delivery.

Read from the store, not from process memory, because `digestbot run` (which builds and posts) and
`digestbot serve` (which answers these) are different processes, possibly on different machines.
Constant work whatever the ledger holds: a ping, the latest digest (parsed once, then served from the store's
parse cache) and the day counts the store keeps as rows change; never the rows themselves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import scheduler
from digest.settings import Settings
from digest.store import Store, StoreUnavailable
from digest.store.base import DayCounts

PING_TIMEOUT_S = 2.0


async def recent_counts(store: Store, settings: Settings, now: datetime) -> list[DayCounts]:
    """The counts of this morning's digest day and the one before (a chat's morning may still be yesterday's)."""
    day = scheduler.edition_day(now, settings)
    return [await store.delivery_counts(d) for d in (day - timedelta(days=1), day)]


async def health(store: Store, settings: Settings) -> tuple[bool, dict[str, Any]]:
    """(healthy, details). Healthy means the store answers; a missing build or post is reported, not fatal."""
    now = datetime.now(UTC)
    try:
        await asyncio.wait_for(store.ping(), PING_TIMEOUT_S)
    except (StoreUnavailable, TimeoutError, OSError) as exc:
        return False, {"ok": False, "store": f"unavailable: {exc}"}
    from bot.platform import registry

    backend = "redis" if settings.redis_url else "sqlite"
    body: dict[str, Any] = {"ok": True, "store": f"{backend} ok", "platforms": sorted(registry.configured(settings))}
    try:
        latest = await store.latest_date(settings.lang)
        digest = await store.get_digest(latest, settings.lang) if latest else None
        body["last_build"] = (
            {
                "date": digest.date.isoformat(),
                "generated_at": digest.generated_at.isoformat(),
                "papers": len(digest.items),
            }
            if digest
            else None
        )
        yesterday, today = await recent_counts(store, settings, now)
        last = max(
            (c for c in (yesterday, today) if c.last_sent is not None),
            key=lambda c: c.last_sent.at,  # type: ignore[union-attr]
            default=None,
        )
        body["last_delivery"] = (
            {
                "day": last.day.isoformat(),
                "platform": last.last_sent.platform,
                "chat_id": last.last_sent.chat_id,
                "at": last.last_sent.at.isoformat(),
            }
            if last is not None and last.last_sent is not None
            else None
        )
        body["deliveries"] = {"day": today.day.isoformat(), **today.by_status()}
    except (StoreUnavailable, OSError) as exc:
        return False, {"ok": False, "store": f"unavailable: {exc}"}
    return True, body


async def ledger_metrics(store: Store, settings: Settings) -> str:
    """Gauges in the Prometheus text format: this morning's ledger rows by platform and status (the store's
    counts, not the rows)."""
    today = scheduler.edition_day(datetime.now(UTC), settings)
    try:
        counts = await store.delivery_counts(today)
    except StoreUnavailable:
        return ""
    lines = [
        "# HELP digest_deliveries_today Ledger rows of the digest posted this morning, by platform and status",
        "# TYPE digest_deliveries_today gauge",
    ]
    lines += [
        f'digest_deliveries_today{{platform="{p}",status="{s}"}} {n}' for (p, s), n in sorted(counts.rows.items())
    ]
    return "\n".join(lines) + "\n"
