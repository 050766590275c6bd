"""What every `digestbot` command shares: settings, exits, days, progress lines, running a coroutine.

Every message to the terminal goes through the log redaction (digest.logs.redact), so a token in an error
(a refused bot token is echoed by some SDKs) never reaches a screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import typer

from bot.platform import registry
from digest import select
from digest.logs import configure_logging, configure_redaction, redact
from digest.models import LANGS, Lang
from digest.settings import ConfigError, Settings, load_settings

T = TypeVar("T")

configure_redaction(shapes=registry.token_shapes())  # before settings are read: token shapes at least


def echo_err(message: str) -> None:
    typer.echo(redact(message), err=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Say why on stderr (redacted) and return the exit to raise: `raise fail("...", 2)`."""
    echo_err(f"digestbot: {message}")
    return typer.Exit(code)


def progress(message: str) -> None:
    echo_err(f"· {message}")


def settings_or_exit(**overrides: Any) -> Settings:
    """The settings, the chat platforms' included (exit 2 naming the bad one), with logging set up to redact
    every configured secret."""
    try:
        settings = load_settings(**overrides)
        secrets = registry.secret_values(settings)  # validates every platform's settings and settings table
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    configure_logging(secrets, shapes=registry.token_shapes())
    return settings


def parse_day(value: str | None, settings: Settings) -> date:
    """YYYY-MM-DD, 'today', 'yesterday'; nothing means the default build day (yesterday, lag applied)."""
    now = datetime.now(settings.tz)
    if value is None:
        return select.default_day(now, settings.tz, settings.lag_hours)
    word = value.strip().lower()
    if word == "today":
        return now.date()
    if word == "yesterday":
        return now.date() - timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise fail(
            f"--date {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-02-13), 'today' or 'yesterday'", 2
        ) from None


def delivery_day(value: str | None, settings: Settings) -> date:
    """`--date` of post/status: the digest day; by default the one the chats get this morning."""
    from bot import scheduler

    return parse_day(value, settings) if value else scheduler.edition_day(datetime.now(UTC), settings)


def lang_or_exit(lang: str | None, settings: Settings) -> Lang:
    if lang is not None and lang not in LANGS:
        raise fail(f"--lang {lang!r} is not supported; use {' or '.join(LANGS)}", 2)
    return lang or settings.lang  # type: ignore[return-value]


def platform_or_exit(name: str, *extra: str) -> str:
    """A registered chat platform's name (or one of `extra`, e.g. "plain", "all"); exit 2 naming the choices."""
    if name in extra:
        return name
    try:
        return registry.check_name(name)
    except ConfigError:
        choices = ", ".join([*extra, *registry.names()])
        raise fail(f"--platform {name!r} is not a platform; use one of {choices}", 2) from None


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
