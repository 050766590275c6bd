"""Mentions: "@digestbot 3 risks" is answered in the thread, as `/paper 3 risks` would be."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.commands.parse import ParseError, parse
from bot.platform import DeliveryError
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+>")


def as_command(text: str) -> str:
    """The mention's words as a command: "/digest …" stays, "help" or nothing is /help, a bare command word
    ("sections", "digest") is that command, anything else asks /paper."""
    words = _MENTION.sub(" ", text).split()
    if not words:
        return "/help"
    if words[0].startswith("/"):
        return " ".join(words)
    try:
        parse("/" + " ".join(words))
    except ParseError as exc:
        if exc.code == "unknown_command":
            return "/paper " + " ".join(words)
    return "/" + " ".join(words)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_mention")
    async def mention(event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if not channel:
            return
        ctx = deps.context(channel, user_id=event.get("user"), team_id=event.get("team"))
        answer = await deps.answer(as_command(event.get("text") or ""), ctx)
        try:
            await deps.poster.send(channel, answer, thread_ts=event.get("thread_ts") or event.get("ts"))
        except DeliveryError as exc:
            log.warning("slack: answer to a mention not posted in %s: %s", channel, exc)
