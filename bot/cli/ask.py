"""`digestbot ask` and `digestbot shell`: the same commands users send, answered from the store and printed exactly
as a platform would receive them (the platform's own renderer, through the registry)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import date
from typing import Annotated

import typer

from bot.cli.build import flush_pending
from bot.cli.common import fail, lang_or_exit, parse_day, platform_or_exit, run, settings_or_exit
from bot.commands.context import Context
from bot.commands.engine import answer
from bot.commands.plain import reply_to_text
from bot.commands.reply import Reply
from bot.platform import registry
from digest.models import Lang
from digest.settings import Settings
from digest.store import StoreUnavailable, open_store

PLAIN = "plain"


def render_reply(reply: Reply, platform: str) -> str:
    """Plain text, or exactly what that platform receives (Block Kit JSON, Telegram HTML messages as JSON…)."""
    return reply_to_text(reply) if platform == PLAIN else registry.adapter(platform).render(reply)


def _context(settings: Settings, platform: str, lang: Lang, default_day: date | None = None) -> Context:
    """The terminal as a chat of `platform` (its command names in the replies), in `lang`; the commands add
    where the store is, for the operator (an empty store's answer names it)."""
    if platform == PLAIN:
        return Context.of(settings, lang=lang, default_day=default_day)
    return registry.adapter(platform).context(settings, lang=lang, default_day=default_day)


async def _ask(settings: Settings, text: str, ctx: Context) -> Reply:
    store = open_store(settings)
    try:
        with contextlib.suppress(StoreUnavailable):  # answer() below says so in the reply
            await flush_pending(settings, store)
        return await answer(text, store, replace(ctx, store_description=store.describe()))
    finally:
        await store.close()


def ask(
    text: Annotated[str, typer.Argument(help='what a user typed, e.g. "/paper 3 risks"')],
    date_: Annotated[
        str | None, typer.Option("--date", help="the digest day when TEXT names none (default: the latest)")
    ] = None,
    platform: Annotated[str, typer.Option(help="plain, or a chat platform: slack, telegram")] = PLAIN,
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
) -> None:
    """Answer a follow-up from the store and print it exactly as the platform would receive it."""
    platform = platform_or_exit(platform, PLAIN)
    settings = settings_or_exit()
    default_day = parse_day(date_, settings) if date_ else None
    reply = run(_ask(settings, text, _context(settings, platform, lang_or_exit(lang, settings), default_day)))
    typer.echo(render_reply(reply, platform))
    if reply.kind == "unavailable":
        # The reply above is what a chat would see; for a script this is a failed job.
        raise fail("the store is unreachable (see the log above); check REDIS_URL and that Redis is running")


def shell(
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
    platform: Annotated[str, typer.Option(help="plain, or a chat platform: slack, telegram")] = PLAIN,
) -> None:
    """Type follow-up commands in a terminal (with history); the same answers as in the chat platforms."""
    platform = platform_or_exit(platform, PLAIN)
    settings = settings_or_exit()
    run(_shell(settings, lang_or_exit(lang, settings), platform))


async def _shell(settings: Settings, lang: Lang, platform: str) -> None:
    try:
        import readline  # line editing and history where the platform has it
    except ImportError:  # pragma: no cover - Windows
        readline = None  # type: ignore[assignment]
    history = settings.data_dir / ".shell_history"
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    store = open_store(settings)
    typer.echo('Type a command such as "/paper 3 risks" or "/help"; Ctrl-D to leave.', err=True)
    try:
        with contextlib.suppress(StoreUnavailable):
            await flush_pending(settings, store)
        while True:
            try:
                text = await asyncio.to_thread(input, "digestbot> ")
            except EOFError:
                typer.echo("", err=True)
                break
            if not text.strip():
                continue
            ctx = replace(_context(settings, platform, lang), store_description=store.describe())
            reply = await answer(text, store, ctx)
            typer.echo(render_reply(reply, platform) + "\n")
    finally:
        await store.close()
        if readline is not None:
            with contextlib.suppress(OSError):
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(history)
