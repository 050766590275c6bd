"""`digestbot post`: post a stored digest now to every subscribed chat not yet served that day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from bot.cli.common import delivery_day, platform_or_exit, progress, run, settings_or_exit
from digest.settings import Settings
from digest.store import open_store

ALL = "all"


def post(
    date_: Annotated[
        str | None, typer.Option("--date", help="digest day (default: the one posted this morning)")
    ] = None,
    platform: Annotated[str, typer.Option(help="a chat platform (slack, telegram) or all")] = ALL,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show who would get what; post nothing")] = False,
) -> None:
    """Post a stored digest now to every subscribed chat not yet served that day (the ledger skips the rest)."""
    platform = platform_or_exit(platform, ALL)
    settings = settings_or_exit()
    day = delivery_day(date_, settings)
    code = run(_post(settings, day, None if platform == ALL else platform, dry_run))
    if code:
        raise typer.Exit(code)


async def _post(settings: Settings, day: date, platform: str | None, dry_run: bool) -> int:
    from bot import scheduler
    from bot.delivery import FanOut, skip_reason
    from bot.leader import process_id
    from bot.status import chat_status
    from bot.wiring import make_posters

    store = open_store(settings)
    try:
        subs = await store.list_subscriptions(platform)
        now = datetime.now(UTC)
        slots = [scheduler.Slot(sub=sub, day=day, at=now) for sub in subs]
        digests = {lang: await store.get_digest(day, lang) for lang in {s.lang for s in subs} | {settings.lang}}
        if dry_run:
            rows = {(r.platform, r.chat_id): r for r in await store.list_deliveries(day)}
            typer.echo(f"post --date {day}: {len(subs)} subscribed chats" + (f" on {platform}" if platform else ""))
            for sub in subs:
                row = rows.get((sub.platform, sub.chat_id))
                digest = digests.get(sub.lang) or digests.get(settings.lang)
                if skip_reason(row, now, settings) is not None:
                    state, detail = chat_status(sub, row, day, now, settings)
                    what = f"skip ({state}: {detail})"
                elif digest is None:
                    what = f"nothing: no digest of {day} stored; run `digestbot build --date {day}`"
                else:
                    what = f"would post the {digest.lang} digest of {day} ({len(digest.items)} papers)"
                typer.echo(f"  {sub.platform:<8} {sub.chat_id:<24} {what}")
            return 0
        if not any(digests.values()):
            typer.echo(
                f"digestbot: no digest of {day} is stored; build it first: digestbot build --date {day}", err=True
            )
            return 1
        posters = make_posters(settings)
        missing = sorted({s.platform for s in subs} - set(posters))
        if missing:
            progress(f"no poster for {', '.join(missing)} (bot token unset): those chats are skipped")
        report = await FanOut(settings, store, posters, process_id()).run(slots)
        typer.echo(report.summary("post"))
        await store.prune()  # a deployment that posts from cron, without `digestbot run`, stays bounded too
        not_served = ("failed", "unreachable", "no-poster", "no-digest", "in-doubt")
        return 1 if any(report.results[k] for k in not_served) else 0
    finally:
        await store.close()
