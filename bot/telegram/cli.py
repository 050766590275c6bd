"""`digestbot telegram-webhook URL`: point Telegram at `digestbot serve` (webhook mode) and register the commands."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import fail, run, settings_or_exit
from bot.telegram.platform import TelegramSettings
from digest.store import open_store


def telegram_webhook(
    url: Annotated[str, typer.Argument(help="the public https URL of digestbot serve's /telegram/webhook")],
) -> None:
    """Point Telegram at `digestbot serve` (webhook mode) with TELEGRAM_WEBHOOK_SECRET, and register the commands."""
    from telegram.error import TelegramError

    from bot.telegram.webhook import set_webhook

    settings = settings_or_exit()
    if TelegramSettings.of(settings, "telegram").bot_token is None:
        raise fail("TELEGRAM_BOT_TOKEN is not set; create the bot with @BotFather first (README, Telegram)", 2)
    if not url.startswith("https://") or not url.rstrip("/").endswith("/telegram/webhook"):
        raise fail(f"{url!r} is not the webhook URL; use https://YOUR-HOST/telegram/webhook", 2)

    async def go() -> None:
        store = open_store(settings)
        try:
            await set_webhook(settings, store, url)
        finally:
            await store.close()

    try:
        run(go())
    except ValueError as exc:  # no secret configured
        raise fail(str(exc), 2) from None
    except TelegramError as exc:
        raise fail(f"Telegram refused the webhook: {exc}") from None
    typer.echo(f"Telegram now sends updates to {url} (with the secret header); commands registered in ko and en")
