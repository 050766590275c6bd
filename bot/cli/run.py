"""`digestbot run`: the scheduler (builds and morning posts) and every configured platform's listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from datetime import date
from typing import Any

from bot.cli.common import run, settings_or_exit
from bot.wiring import listeners, make_posters, make_summarizer
from digest import pipeline
from digest.settings import Settings
from digest.store import open_store

log = logging.getLogger("bot.run")


def run_bot() -> None:
    """Run the bot: the scheduler (builds and morning posts, one leader across processes) and each configured chat
    platform's listeners (Slack Socket Mode, Telegram polling). Stops cleanly on SIGTERM/SIGINT."""
    settings = settings_or_exit()
    run(_run_bot(settings))


async def _run_bot(settings: Settings) -> None:
    from bot.worker import Worker

    store = open_store(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    posters = make_posters(settings)
    if not posters:
        log.warning("no chat platform is configured (no bot token set): digests are built but posted nowhere")
    summarizer, client = make_summarizer(settings, store)

    async def builder(day: date, lang: Any) -> Any:
        result = await pipeline.build(
            settings, store, day, source=settings.build_source, lang=lang, summarizer=summarizer
        )
        return result.digest

    worker = Worker(settings, store, posters, builder=builder)
    tasks = [asyncio.create_task(worker.run(stop), name="scheduler")]
    for name, coro in listeners(settings, store, stop).items():
        tasks.append(asyncio.create_task(_keep_running(name, coro), name=name))
    try:
        await tasks[0]
    finally:
        stop.set()
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        if client is not None:
            await client.close()
        await store.close()


async def _keep_running(name: str, coro: Coroutine[Any, Any, None]) -> None:
    """A listener that dies is logged; the scheduler (the morning post) keeps going without it."""
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("%s stopped; the scheduler keeps running", name)
