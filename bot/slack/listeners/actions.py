"""Section buttons and the overflow menu under each paper of the morning post: the answer goes into the thread."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.platform import DeliveryError
from bot.slack.app import SlackDeps
from bot.slack.blocks import SECTION_ACTION, parse_section_value

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(re.compile(rf"^{SECTION_ACTION}:"))
    async def section(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        parsed = parse_section_value(value)
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        if parsed is None or not channel:
            log.warning("slack: ignoring a section action with value %r", value[:80])
            return
        day, lang, paper_id, key = parsed
        try:
            today = date.fromisoformat(day)
        except ValueError:
            return
        answer = await deps.answer(f"/paper {paper_id} {key}", lang=lang, today=today)
        try:
            await deps.poster.send(channel, answer, thread_ts=thread_ts)
        except DeliveryError as exc:  # cannot post in the thread: at least the person who clicked gets it
            log.warning("slack: section answer not posted in %s: %s", channel, exc)
            await respond(**answer, response_type="ephemeral", replace_original=False)
