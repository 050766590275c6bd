"""Slash commands: ack at once, then answer through respond() (ephemeral unless the user asks for the channel).

/paper, /digest and /sections are follow-ups; /digest-subscribe is the engine's /subscribe (Slack slash commands are
global to a workspace, hence the longer name). Every answer comes from bot.commands.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import Message
from bot.slack.deps import SlackDeps
from bot.slack.platform import Slack

log = logging.getLogger(__name__)

QUERY_COMMANDS = ("/paper", "/digest", "/sections")
SUBSCRIBE_COMMAND = Slack.subscribe_command
# A last word that posts the answer for the whole channel instead of only the asker.
PUBLIC_WORDS = {"public", "--public", "공개", "채널"}


def split_visibility(text: str) -> tuple[str, str]:
    """("3 risks public") -> ("3 risks", "in_channel"); no flag -> ephemeral."""
    words = text.split()
    if words and words[-1].lower() in PUBLIC_WORDS:
        return " ".join(words[:-1]), "in_channel"
    return text.strip(), "ephemeral"


async def _respond(respond: AsyncRespond, message: Message, response_type: str) -> None:
    try:
        await respond(**message, response_type=response_type, replace_original=False)
    except Exception as exc:  # an expired response_url or Slack down: nothing more to tell the user
        log.warning("slack: respond() failed: %s", type(exc).__name__)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def query(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # nothing before the ack: Slack gives up after 3 s
        text, response_type = split_visibility(command.get("text") or "")
        ctx = deps.context(command.get("channel_id"), user_id=command.get("user_id"), team_id=command.get("team_id"))
        message = await deps.answer(f"{command['command']} {text}".strip(), ctx)
        await _respond(respond, message, response_type)

    for name in QUERY_COMMANDS:
        app.command(name)(query)

    @app.command(SUBSCRIBE_COMMAND)
    async def subscribe_channel(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = command.get("user_id") or ""

        async def may_change() -> bool:
            return await _may_change(client, deps, user_id)

        ctx = deps.context(
            command.get("channel_id"), user_id=user_id, team_id=command.get("team_id"), may_change=may_change
        )
        message = await deps.answer(f"/subscribe {command.get('text') or ''}".strip(), ctx)
        await _respond(respond, message, "ephemeral")


async def _may_change(client: AsyncWebClient, deps: SlackDeps, user_id: str) -> bool:
    """Workspace admins and owners (users.info), or a user on DIGEST_SLACK_ADMINS."""
    if user_id in deps.own.admins:
        return True
    try:
        user = (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError as exc:
        log.warning("slack: users.info failed (%s); treating %s as not an admin", exc.response.get("error"), user_id)
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
