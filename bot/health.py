"""What /healthz and /metrics report beyond counters: the store, the last build and the last delivery.

Read from the store, not from process memory, because `digestbot run` (which builds and posts) and
`digestbot serve` (which answers these) are different processes, possibly on different machines.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import scheduler
from digest.settings import Settings
from digest.store import Store, StoreUnavailable
from digest.store.base import Delivery

PING_TIMEOUT_S = 2.0


async def recent_deliveries(store: Store, settings: Settings, now: datetime) -> list[Delivery]:
    """Ledger rows of this morning's digest day and the one before (a chat's morning may still be yesterday's)."""
    day = scheduler.edition_day(now, settings)
    return [row for d in (day - timedelta(days=1), day) for row in await store.list_deliveries(d)]


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
        rows = await recent_deliveries(store, settings, now)
        sent = [r for r in rows if r.status == "sent" and r.updated_at]
        last = max(sent, key=lambda r: r.updated_at or now, default=None)
        body["last_delivery"] = (
            {
                "day": last.day.isoformat(),
                "platform": last.platform,
                "chat_id": last.chat_id,
                "at": last.updated_at.isoformat() if last.updated_at else None,
            }
            if last
            else None
        )
        today = scheduler.edition_day(now, settings)
        body["deliveries"] = {"day": today.isoformat(), **Counter(r.status for r in rows if r.day == today)}
    except (StoreUnavailable, OSError) as exc:
        return False, {"ok": False, "store": f"unavailable: {exc}"}
    return True, body


async def ledger_metrics(store: Store, settings: Settings) -> str:
    """Gauges in the Prometheus text format: this morning's ledger rows by platform and status."""
    now = datetime.now(UTC)
    today = scheduler.edition_day(now, settings)
    try:
        rows = await store.list_deliveries(today)
    except StoreUnavailable:
        return ""
    counts = Counter((r.platform, r.status) for r in rows)
    lines = [
        "# HELP digest_deliveries_today Ledger rows of the digest posted this morning, by platform and status",
        "# TYPE digest_deliveries_today gauge",
    ]
    lines += [f'digest_deliveries_today{{platform="{p}",status="{s}"}} {n}' for (p, s), n in sorted(counts.items())]
    return "\n".join(lines) + "\n"
