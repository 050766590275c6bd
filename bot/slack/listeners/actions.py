"""Section buttons (under each paper of the morning post and under answers): the answer goes into the thread.

The button's value is bot.commands.buttons' encoding: the paper's id, day and language, decoded by the engine.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.platform import DeliveryError
from bot.slack.blocks import SECTION_ACTION
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(re.compile(rf"^{SECTION_ACTION}:"))
    async def section(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        ctx = deps.context(
            channel, user_id=(body.get("user") or {}).get("id"), team_id=(body.get("team") or {}).get("id")
        )
        # The paper's id and its digest's day: the answer is about the post clicked, even weeks later.
        kind, answer = await deps.answer_button(value, ctx)
        container_ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
        ephemeral = kind != "answer" or container_ephemeral or not channel or not thread_ts
        if not ephemeral:
            try:
                await deps.poster.send(channel, answer, thread_ts=thread_ts)
                return
            except DeliveryError as exc:  # cannot post in the thread: at least the person who clicked gets it
                log.warning("slack: section answer not posted in %s: %s", channel, exc)
        try:
            await respond(**answer, response_type="ephemeral", replace_original=False)
        except Exception as exc:
            log.warning("slack: respond() failed: %s", type(exc).__name__)
