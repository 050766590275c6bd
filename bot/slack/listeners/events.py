"""Mentions: "@digestbot 3 risks" is answered in the thread, as `/paper 3 risks` would be."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.platform import DeliveryError
from bot.slack.app import SlackDeps

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>")
_HELP = {"help", "도움말", "?"}


def as_command(text: str) -> str:
    """The mention's words as a command: "/digest …" stays, "help" is /help, anything else asks /paper."""
    words = _MENTION.sub(" ", text).split()
    if not words or words[0].lower() in _HELP:
        return "/help"
    if words[0].startswith("/"):
        return " ".join(words)
    return "/paper " + " ".join(words)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_mention")
    async def mention(event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if not channel:
            return
        lang = await deps.lang_for(channel)
        answer = await deps.answer(as_command(event.get("text") or ""), lang=lang)
        try:
            await deps.poster.send(channel, answer, thread_ts=event.get("thread_ts") or event.get("ts"))
        except DeliveryError as exc:
            log.warning("slack: answer to a mention not posted in %s: %s", channel, exc)
