"""`digestbot status`: where this morning's delivery stands, chat by chat, from the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import delivery_day, fail, run, settings_or_exit
from digest.store import StoreUnavailable, open_store


def status(
    date_: Annotated[
        str | None, typer.Option("--date", help="digest day (default: the one posted this morning)")
    ] = None,
) -> None:
    """For this morning's digest: built or not, which chats were served, which are pending, which failed and why."""
    from bot.status import day_status, render

    settings = settings_or_exit()
    day = delivery_day(date_, settings)

    async def go() -> str:
        store = open_store(settings)
        try:
            return render(await day_status(store, settings, day), settings)
        finally:
            await store.close()

    try:
        typer.echo(run(go()), nl=False)
    except StoreUnavailable as exc:
        raise fail(f"the store is unavailable: {exc}") from None
